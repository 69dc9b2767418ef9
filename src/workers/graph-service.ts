/**
 * The graph view's side of the model worker: builds the view graph of the open model once
 * (src/graph), keeps it with its layout cache, and answers scene, expand, search and reveal
 * requests with small, plain results. The page only renders.
 */
import { expansionFor, graphReveal, graphScene, graphSearch, openGraph, type GraphModel } from '../graph/graph-model';
import type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../graph/scene-types';
import type { LoadedModel } from '../onnx/load';

const graphs = new WeakMap<LoadedModel, GraphModel>();

function graphOf(loaded: LoadedModel): GraphModel {
  let gm = graphs.get(loaded);
  if (!gm) {
    gm = openGraph(loaded.model);
    graphs.set(loaded, gm);
  }
  return gm;
}

export const graphInfoOf = (loaded: LoadedModel): GraphInfo => graphOf(loaded).info;

export function graphSceneOf(loaded: LoadedModel, expanded: string[], engine: LayoutEngine = 'layered'): Promise<GraphScene> {
  return graphScene(graphOf(loaded), expanded, engine);
}

export const graphExpandOf = (loaded: LoadedModel, id: string): string[] => expansionFor(graphOf(loaded), id);

export const graphSearchOf = (loaded: LoadedModel, query: string, limit?: number): SearchHit[] => graphSearch(graphOf(loaded), query, limit);

export const graphRevealOf = (loaded: LoadedModel, id: string): string[] => graphReveal(graphOf(loaded), id);
