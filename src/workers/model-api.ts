/**
 * The contract between the page and the model worker. Only plain, structured-cloneable data
 * crosses it; file bytes go in as transferred ArrayBuffers and small results come back.
 */
import type { ErrorCode } from '../core/errors';
import type { ModelSummary } from '../onnx/summary';
import type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../graph/types';
import type { Recipe } from '../compress/recipe';
import type { SizeProjection } from '../compress/project';
import type { NodeDetails, TensorStatsView } from './inspect-service';
import type { CompareInfo, CompareSide, WeightComparison } from './compare-service';
import type { LayerReport } from '../compress/compress';
import type { TensorPage } from '../onnx/tensor-page';

export type { ModelSummary };
export type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../graph/types';
export type { NodeDetails, TensorStatsView, SizeProjection, Recipe };
export type { AttributeView, ValueView, WeightView } from './inspect-service';
export type { CompareInfo, CompareSide, WeightBin, WeightComparison, WeightGroup } from './compare-service';
export type { ChangeKind, CompareDiff, NodeChange } from '../graph/compare-diff';
export type { LayerReport };
export type { TensorPage };

/** One file handed to the worker; `buffer` is transferred, not copied. */
export interface ModelFileInput {
  name: string;
  buffer: ArrayBuffer;
}

export interface OpenedModel {
  /** The .onnx file among the inputs (the others are external data files). */
  fileName: string;
  fileBytes: number;
  /** Every file that was opened together, model first. */
  files: { name: string; bytes: number }[];
  summary: ModelSummary;
  /** Wall time of load + summary inside the worker. */
  parseMs: number;
}

export type ProgressCallback = (fraction: number, stage: string) => void;

/** Errors do not survive postMessage with their type, so the worker answers with a union. */
export type WorkerResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode | 'unexpected'; message: string };

export interface BackendStatus {
  available: boolean;
  /** One line: what was found, or why it is unavailable. */
  detail: string;
}

export interface RuntimeReport {
  crossOriginIsolated: boolean;
  wasm: BackendStatus & { threads: number; runMs?: number };
  webgpu: BackendStatus;
}

export interface ModelWorkerApi {
  /**
   * Parses the files (a model plus any external data files) and keeps the model in the worker.
   * `cancelFlag` is a 4-byte SharedArrayBuffer; the page sets it to 1 to cancel.
   */
  open(
    files: ModelFileInput[],
    onProgress?: ProgressCallback,
    cancelFlag?: SharedArrayBuffer,
  ): Promise<WorkerResult<OpenedModel>>;
  /** Loads onnxruntime-web (from our own origin) and runs a tiny model on the wasm backend. */
  probeRuntimes(): Promise<RuntimeReport>;
  /** Inspector: attributes, inputs/outputs with shapes and weight tensors of the node named `key`. */
  inspectNode(key: string): Promise<WorkerResult<NodeDetails>>;
  /** Inspector: statistics and histogram of a tensor listed by inspectNode (cached per tensor). */
  tensorStats(id: string): Promise<WorkerResult<TensorStatsView>>;
  /** Inspector: a page of a tensor's values (at most 4,096) from flat index `offset`, decoded in the worker (tensor-values.ts). */
  tensorValues(id: string, offset: number, count: number): Promise<WorkerResult<TensorPage>>;
  /** Recipe: projected size of the open model under `recipe` (with one layer's share when `focusKey` is given). */
  projectSize(recipe: Recipe, focusKey?: string): Promise<WorkerResult<SizeProjection>>;
  /** Graph view: builds the view graph of the open model (once) and says which groups to open first. */
  graphInfo(): Promise<WorkerResult<GraphInfo>>;
  /** Graph view: the laid-out scene with these groups expanded. */
  graphScene(expanded: string[], engine?: LayoutEngine): Promise<WorkerResult<GraphScene>>;
  /** Graph view: the groups to open when the user opens group `id` (it and, while they fit, its sub-groups). */
  graphExpand(id: string): Promise<WorkerResult<string[]>>;
  /** Graph view: nodes and groups matching `query` by name or op type. */
  graphSearch(query: string, limit?: number): Promise<WorkerResult<SearchHit[]>>;
  /** Graph view: the groups to open so that node or group `id` shows. */
  graphReveal(id: string): Promise<WorkerResult<string[]>>;
  /**
   * Compare view: parses the compressed file (a Blob handle: the worker reads it) next to the open
   * model and diffs the two; `layers` are the compressor's report rows (hints for what structure
   * cannot tell). Replaces any previous comparison.
   */
  compareOpen(compressed: Blob, layers: LayerReport[]): Promise<WorkerResult<CompareInfo>>;
  /** Compare view: the laid-out scene of one side with these groups expanded. */
  compareScene(side: CompareSide, expanded: string[]): Promise<WorkerResult<GraphScene>>;
  /** Compare view: the groups to open when the user opens group `id` on one side (none when it has no such group). */
  compareExpand(side: CompareSide, id: string): Promise<WorkerResult<string[]>>;
  /** Compare view: the groups to open on one side so that `id` shows. */
  compareReveal(side: CompareSide, id: string): Promise<WorkerResult<string[]>>;
  /** Compare view: a layer's original and decoded weights in shared bins, with the grid of one group (default: the widest). */
  compareWeights(key: string, group?: number): Promise<WorkerResult<WeightComparison>>;
  /** Compare view: forgets the comparison. */
  compareClose(): Promise<void>;
}
