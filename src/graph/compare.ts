/**
 * A comparison of the open (original) model with a compressed file: parses the compressed file,
 * diffs the two (compare-diff.ts), keeps a graph model per side, and answers each side's scene,
 * expansions and reveals. The compressed side is drawn on the original's coordinates, so one
 * viewport shows the same node at the same place on both sides. The model worker keeps one
 * comparison (src/workers/compare-service.ts, which adds the weight comparison).
 */
import { loadModel, type DataFile, type LoadedModel } from '../onnx/load';
import { alignScene, diffModels, type CompareDiff, type LayerHint } from './compare-diff';
import { expansionFor, graphReveal, graphScene, openGraphFromView, type GraphModel } from './graph-model';
import type { GraphInfo, GraphScene } from './scene-types';

export type CompareSide = 'original' | 'compressed';

export interface CompareInfo {
  diff: CompareDiff;
  original: GraphInfo;
  compressed: GraphInfo;
  /** the compressed file's size (its data files included) and how long parsing and diffing took in the worker */
  compressedBytes: number;
  parseMs: number;
  diffMs: number;
}

export interface Comparison {
  original: LoadedModel;
  compressed: LoadedModel;
  info: CompareInfo;
  graphs: Record<CompareSide, GraphModel>;
  /** replacement members per original layer key (diffModels) */
  members: Record<string, string[]>;
}

const now = () => performance.now();

/**
 * Parses the compressed file (`bytes`, with `data`: its external data files, named as its tensors
 * refer to them) and diffs it against `original`; `hints` are the compressor's report rows.
 */
export function openComparison(original: LoadedModel, bytes: Uint8Array, hints: readonly LayerHint[] = [], data: readonly DataFile[] = []): Comparison {
  const t0 = now();
  const compressed = loadModel(bytes, { fileName: 'compressed.onnx', data: [...data] });
  const t1 = now();
  const result = diffModels(original.model, compressed.model, [...hints]);
  const graphs = { original: openGraphFromView(result.originalView), compressed: openGraphFromView(result.compressedView) };
  const info: CompareInfo = {
    diff: result.diff,
    original: graphs.original.info,
    compressed: graphs.compressed.info,
    compressedBytes: bytes.byteLength + data.reduce((n, f) => n + f.bytes.length, 0),
    parseMs: t1 - t0,
    diffMs: now() - t1,
  };
  return { original, compressed, info, graphs, members: result.members };
}

/** One side's scene; the compressed side laid out on the original's coordinates (the same open groups). */
export async function comparisonScene(c: Comparison, side: CompareSide, expanded: string[]): Promise<GraphScene> {
  const scene = await graphScene(c.graphs[side], expanded);
  if (side === 'original') return scene;
  const known = expanded.filter((id) => c.graphs.original.h.byId.has(id));
  return alignScene(scene, await graphScene(c.graphs.original, known));
}

/** The groups to open on one side when the user opens group `id` there. */
export function comparisonExpand(c: Comparison, side: CompareSide, id: string): string[] {
  return expansionFor(c.graphs[side], id);
}

/** The groups to open on one side so that `id` shows. */
export function comparisonReveal(c: Comparison, side: CompareSide, id: string): string[] {
  return graphReveal(c.graphs[side], id);
}
