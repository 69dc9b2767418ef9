/**
 * The graph view's model of one ONNX model: view graph, groups, search index and a layout cache,
 * built once per opened model (in the model worker) and asked for scenes as groups open.
 */
import { findLayers, type Layer } from '../onnx/layers';
import type { Model } from '../onnx/types';
import { elkLayout } from './elk-layout';
import { buildHierarchy, fitExpansion, initialExpansion, type Hierarchy } from './hierarchy';
import { layeredLayout } from './layered';
import { buildScene, LayoutCache, type LayoutFn } from './scene';
import { buildSearchIndex, revealIds, searchGraph, type SearchIndex } from './search';
import type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from './scene-types';
import { buildViewGraph, type ViewGraph } from './view-graph';

/** New items an opened group may show at once (its sub-groups open too while they fit). */
export const OPEN_BUDGET = 90;

export interface GraphModel {
  h: Hierarchy;
  index: SearchIndex;
  info: GraphInfo;
  cache: LayoutCache;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export function openGraph(model: Model, layers?: Layer[]): GraphModel {
  const t0 = now();
  return openGraphFromView(buildViewGraph(model, layers ?? findLayers(model)), t0);
}

/** The same from a view graph built elsewhere (the compare view's folded compressed graph). */
export function openGraphFromView(view: ViewGraph, t0 = now()): GraphModel {
  const h = buildHierarchy(view);
  const index = buildSearchIndex(h);
  const info: GraphInfo = {
    nodeCount: view.nodes.filter((v) => v.kind === 'op').length,
    foldedCount: view.folded,
    groupCount: h.groups.length - 1,
    edgeCount: view.edges.length,
    graphCount: view.graphs.length,
    initialExpanded: initialExpansion(h),
    buildMs: 0,
  };
  info.buildMs = now() - t0;
  return { h, index, info, cache: new LayoutCache() };
}

export const layoutFor = (engine: LayoutEngine): LayoutFn =>
  engine === 'elk' ? elkLayout : (nodes, edges) => layeredLayout(nodes, edges);

export function graphScene(gm: GraphModel, expanded: readonly string[], engine: LayoutEngine = 'layered'): Promise<GraphScene> {
  return buildScene(gm.h, expanded, { layout: layoutFor(engine), engine, cache: gm.cache });
}

/** Group ids to add when the user opens group `id`: the group and, while they fit, its sub-groups. */
export function expansionFor(gm: GraphModel, id: string): string[] {
  const gi = gm.h.byId.get(id);
  if (gi === undefined) return [];
  return fitExpansion(gm.h, gi, OPEN_BUDGET);
}

export function graphSearch(gm: GraphModel, query: string, limit?: number): SearchHit[] {
  return searchGraph(gm.index, query, limit);
}

export function graphReveal(gm: GraphModel, id: string): string[] {
  return revealIds(gm.index, id);
}
