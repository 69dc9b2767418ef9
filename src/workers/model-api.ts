/**
 * The contract between the page and the model worker, which parses a model once per open and
 * keeps it: the graph view, the inspector, the recipe's projection and the compare view ask it,
 * and the other workers get the parsed model (snapshot) or runnable bytes from it instead of
 * decoding the file again. Only plain, structured-cloneable data crosses it; files go in as
 * Blobs (read by the worker in slices) and small results come back. Every call about the open model names
 * the session it means (OpenedModel.session), so an answer never belongs to another model.
 */
import type { ModelSummary } from '../onnx/summary';
import type { ModelSnapshot } from '../onnx/snapshot';
import type { SnapshotHandover } from './read-files';
import type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../graph/scene-types';
import type { Recipe } from '../compress/recipe';
import type { SizeProjection } from '../compress/project';
import type { NodeDetails, TensorStatsView } from '../onnx/inspect';
import type { CompareInfo, CompareSide, WeightComparison } from './compare-service';
import type { LayerReport } from '../compress/compress';
import type { Method, WorkerResult } from './kit/protocol';
import type { TensorPage } from '../onnx/tensor-page';

export type { ModelSummary, ModelSnapshot, SnapshotHandover, WorkerResult };
export type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../graph/scene-types';
export type { NodeDetails, TensorStatsView, SizeProjection, Recipe };
export type { AttributeView, ValueView, WeightView } from '../onnx/inspect';
export type { CompareInfo, CompareSide, WeightBin, WeightComparison, WeightGroup } from './compare-service';
export type { ChangeKind, CompareDiff, NodeChange } from '../graph/compare-diff';
export type { LayerReport };
export type { TensorPage };

/** One file handed to the worker: a Blob (the dropped File: not copied), read by the worker in slices. */
export interface ModelFileInput {
  name: string;
  blob: Blob;
}

export interface OpenOptions {
  /** the largest buffer a data file is held in (default 1 GiB; `__studioDebug.chunkBytes` in tests) */
  chunkBytes?: number;
}

export interface OpenedModel {
  /** which open this is, in this worker: calls about the model name it */
  session: number;
  /** The .onnx file among the inputs (the others are external data files). */
  fileName: string;
  fileBytes: number;
  /**
   * Every file that was opened together, model first. `fromBlob`: a data file the model worker
   * holds in chunks, which the compress worker reads from its Blob a tensor at a time (no copy).
   */
  files: { name: string; bytes: number; fromBlob?: true }[];
  summary: ModelSummary;
  /** Wall time of load + summary inside the worker. */
  parseMs: number;
}

export interface OpenProgress {
  fraction: number;
  stage: string;
}

export type ProgressCallback = (fraction: number, stage: string) => void;

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
  /** Reads and parses the files (a model plus any external data files) and keeps the model in the worker. */
  open: Method<[files: ModelFileInput[], options?: OpenOptions], OpenedModel, OpenProgress>;
  /** Loads onnxruntime-web (from our own origin) and runs a tiny model on the wasm backend. */
  probeRuntimes: Method<[], RuntimeReport>;
  /** The parsed model as plain data, for a worker that works on the model itself (compress, explore). */
  snapshot: Method<[session: number], SnapshotHandover>;
  /** The model as one self-contained file (external data inline) that onnxruntime can run: bench, verify. */
  runnable: Method<[session: number], ArrayBuffer>;
  /** Inspector: attributes, inputs/outputs with shapes and weight tensors of the node named `key`. */
  inspectNode: Method<[session: number, key: string], NodeDetails>;
  /** Inspector: statistics and histogram of a tensor listed by inspectNode (cached per tensor). */
  tensorStats: Method<[session: number, id: string], TensorStatsView>;
  /** Inspector: a page of a tensor's values (at most 4,096) from flat index `offset`, decoded in the worker (tensor-values.ts). */
  tensorValues: Method<[session: number, id: string, offset: number, count: number], TensorPage>;
  /** Recipe: projected size of the open model under `recipe` (with one layer's share when `focusKey` is given). */
  projectSize: Method<[session: number, recipe: Recipe, focusKey?: string], SizeProjection>;
  /** Graph view: builds the view graph of the open model (once) and says which groups to open first. */
  graphInfo: Method<[session: number], GraphInfo>;
  /** Graph view: the laid-out scene with these groups expanded. */
  graphScene: Method<[session: number, expanded: string[], engine?: LayoutEngine], GraphScene>;
  /** Graph view: the groups to open when the user opens group `id` (it and, while they fit, its sub-groups). */
  graphExpand: Method<[session: number, id: string], string[]>;
  /** Graph view: nodes and groups matching `query` by name or op type. */
  graphSearch: Method<[session: number, query: string, limit?: number], SearchHit[]>;
  /** Graph view: the groups to open so that node or group `id` shows. */
  graphReveal: Method<[session: number, id: string], string[]>;
  /**
   * Compare view: parses the compressed file (a Blob handle: the worker reads it) next to the open
   * model and diffs the two; `layers` are the compressor's report rows (hints for what structure
   * cannot tell). Replaces any previous comparison.
   */
  compareOpen: Method<[session: number, compressed: Blob, layers: LayerReport[], compressedData?: { name: string; blob: Blob }], CompareInfo>;
  /** Compare view: the laid-out scene of one side with these groups expanded. */
  compareScene: Method<[session: number, side: CompareSide, expanded: string[]], GraphScene>;
  /** Compare view: the groups to open when the user opens group `id` on one side (none when it has no such group). */
  compareExpand: Method<[session: number, side: CompareSide, id: string], string[]>;
  /** Compare view: the groups to open on one side so that `id` shows. */
  compareReveal: Method<[session: number, side: CompareSide, id: string], string[]>;
  /** Compare view: a layer's original and decoded weights in shared bins, with the grid of one group (default: the widest). */
  compareWeights: Method<[session: number, key: string, group?: number], WeightComparison>;
  /** Compare view: forgets the comparison. */
  compareClose: Method<[], void>;
}
