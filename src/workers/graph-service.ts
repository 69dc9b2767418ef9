/**
 * The graph view's side of the model worker: builds the view graph of the open model once
 * (src/graph), keeps it with its layout cache, and answers scene, expand, search and reveal
 * requests with small, plain results. The page only renders.
 */
import { AppError, errorMessage, isAppError } from '../core/errors';
import {
  expansionFor,
  graphReveal,
  graphScene,
  graphSearch,
  openGraph,
  type GraphModel,
} from '../graph/graph-model';
import type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../graph/scene-types';
import type { LoadedModel } from '../onnx/load';
import type { WorkerResult } from './model-api';

const graphs = new WeakMap<LoadedModel, GraphModel>();

function graphOf(loaded: LoadedModel | undefined): GraphModel {
  if (!loaded) throw new AppError('invalid-argument', 'No model is open.');
  let gm = graphs.get(loaded);
  if (!gm) {
    gm = openGraph(loaded.model);
    graphs.set(loaded, gm);
  }
  return gm;
}

async function answer<T>(work: () => T | Promise<T>): Promise<WorkerResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
  }
}

export function graphInfoOf(loaded: LoadedModel | undefined): Promise<WorkerResult<GraphInfo>> {
  return answer(() => graphOf(loaded).info);
}

export function graphSceneOf(
  loaded: LoadedModel | undefined,
  expanded: string[],
  engine: LayoutEngine = 'layered',
): Promise<WorkerResult<GraphScene>> {
  return answer(() => graphScene(graphOf(loaded), expanded, engine));
}

export function graphExpandOf(loaded: LoadedModel | undefined, id: string): Promise<WorkerResult<string[]>> {
  return answer(() => expansionFor(graphOf(loaded), id));
}

export function graphSearchOf(loaded: LoadedModel | undefined, query: string, limit?: number): Promise<WorkerResult<SearchHit[]>> {
  return answer(() => graphSearch(graphOf(loaded), query, limit));
}

export function graphRevealOf(loaded: LoadedModel | undefined, id: string): Promise<WorkerResult<string[]>> {
  return answer(() => graphReveal(graphOf(loaded), id));
}
