/**
 * The page's side of the model worker (through the worker kit): opens models (file bytes are
 * transferred, not copied), relays progress, cancels (shared flag, then terminate), and gives
 * the store one `ModelHandle` per opened model. Views reach the model through that handle, which
 * names its session in every call, so an answer never belongs to another model; after a worker
 * crash the handle of the open model opens it again from its files.
 */
import { AppError } from '../core/errors';
import type {
  CompareInfo,
  CompareSide,
  GraphInfo,
  GraphScene,
  LayerReport,
  LayoutEngine,
  ModelFileInput,
  SnapshotHandover,
  ModelWorkerApi,
  NodeDetails,
  OpenedModel,
  ProgressCallback,
  Recipe,
  RuntimeReport,
  SearchHit,
  SizeProjection,
  TensorStatsView,
  TensorPage,
  WeightComparison,
} from './model-api';
import { WorkerClient } from './kit/client';
import type { ArgsOf, ResultOf } from './kit/protocol';
import { debugChunkBytes, installDebugHook } from './kit/debug';

export interface OpenOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

installDebugHook();

export class ModelClient {
  readonly kit = new WorkerClient<ModelWorkerApi>({
    name: 'model',
    spawn: () => new Worker(new URL('./model.worker.ts', import.meta.url), { type: 'module', name: 'model' }),
    graceMs: 400,
    crashHint: 'The open model is read again from its files when it is next needed; if the worker stops again, the model may be too large for this browser.',
  });
  /** The handle of the model opened last: the only one that may open its model again after a crash. */
  current: ModelHandle | undefined;

  /** Bumped whenever the worker is replaced (and so forgets its model). */
  get generation(): number {
    return this.kit.generation;
  }

  /**
   * Opens a model and its external data files. Rejects with an AppError naming the problem;
   * with code 'aborted' when `signal` fires.
   */
  async open(files: readonly File[], options: OpenOptions = {}): Promise<OpenedModel> {
    const { signal, onProgress } = options;
    if (files.length === 0) throw new AppError('invalid-argument', 'No file was given.');
    if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
    onProgress?.(0, 'reading');
    // the Files themselves: the worker reads them in slices (a file over 2 GiB cannot be one buffer here)
    const inputs: ModelFileInput[] = files.map((f) => ({ name: f.name, blob: f }));
    const chunkBytes = debugChunkBytes();
    return this.kit.call('open', [inputs, chunkBytes !== undefined ? { chunkBytes } : {}], {
      signal,
      ...(onProgress ? { onProgress: (p) => onProgress(p.fraction, p.stage) } : {}),
    });
  }

  /** The handle views use for `model`, opened from `files`; it becomes the current one. */
  handle(model: OpenedModel, files: readonly File[]): ModelHandle {
    this.current = new ModelHandle(this, model.session, files);
    return this.current;
  }

  /** Which onnxruntime-web backends work in this browser (runs a tiny model on wasm). */
  probeRuntimes(): Promise<RuntimeReport> {
    return this.kit.call('probeRuntimes', []);
  }

  dispose(): void {
    this.kit.dispose();
  }
}

/** One opened model in the model worker, as views and the other workers' clients use it. */
let nextKey = 1;

export class ModelHandle {
  /** names this opened model to the workers that hold a copy of it (compress) */
  readonly key = nextKey++;
  private generation: number;
  private reopening: Promise<number> | undefined;

  constructor(
    private readonly client: ModelClient,
    private session: number,
    /** the files it was opened from (handles: no bytes are kept) */
    readonly files: readonly File[],
  ) {
    this.generation = client.generation;
  }

  /** Whether the worker holds this model now (false after a restart, until it is opened again). */
  get live(): boolean {
    return this.generation === this.client.generation;
  }

  /** The session id in the worker now: after a worker crash, the current model is opened again. */
  private async id(): Promise<number> {
    if (this.client.generation === this.generation || this.client.current !== this) return this.session;
    this.reopening ??= this.client.open(this.files).then(
      (m) => {
        this.session = m.session;
        this.generation = this.client.generation;
        this.reopening = undefined;
        return m.session;
      },
      (e: unknown) => {
        this.reopening = undefined;
        throw e;
      },
    );
    return this.reopening;
  }

  private async call<K extends keyof ModelWorkerApi & string>(
    method: K,
    rest: ArgsOf<ModelWorkerApi[K]> extends [number, ...infer R] ? R : never,
  ): Promise<ResultOf<ModelWorkerApi[K]>> {
    const session = await this.id();
    return this.client.kit.call(method, [session, ...rest] as unknown as ArgsOf<ModelWorkerApi[K]>);
  }

  /** The parsed model as plain data (for the compress and explore workers: no second decode). */
  snapshot(): Promise<SnapshotHandover> {
    return this.call('snapshot', []);
  }

  /** The model as one self-contained file onnxruntime can run (bench, verify). */
  runnable(): Promise<ArrayBuffer> {
    return this.call('runnable', []);
  }

  inspectNode(key: string): Promise<NodeDetails> {
    return this.call('inspectNode', [key]);
  }

  tensorStats(id: string): Promise<TensorStatsView> {
    return this.call('tensorStats', [id]);
  }

  /** A page of a tensor's values (listed in inspectNode's answer), from flat index `offset`. */
  tensorValues(id: string, offset: number, count: number): Promise<TensorPage> {
    return this.call('tensorValues', [id, offset, count]);
  }

  projectSize(recipe: Recipe, focusKey?: string): Promise<SizeProjection> {
    return this.call('projectSize', [recipe, focusKey]);
  }

  graphInfo(): Promise<GraphInfo> {
    return this.call('graphInfo', []);
  }

  graphScene(expanded: string[], engine?: LayoutEngine): Promise<GraphScene> {
    return this.call('graphScene', [expanded, engine]);
  }

  graphExpand(id: string): Promise<string[]> {
    return this.call('graphExpand', [id]);
  }

  graphSearch(query: string, limit?: number): Promise<SearchHit[]> {
    return this.call('graphSearch', [query, limit]);
  }

  graphReveal(id: string): Promise<string[]> {
    return this.call('graphReveal', [id]);
  }

  /** `compressedData`: the result's external data file, when it has one (a Blob: read by offset in the worker). */
  compareOpen(compressed: Blob, layers: LayerReport[], compressedData?: { name: string; blob: Blob }): Promise<CompareInfo> {
    return this.call('compareOpen', [compressed, layers, ...(compressedData ? [compressedData] : [])] as [Blob, LayerReport[], { name: string; blob: Blob }?]);
  }

  compareScene(side: CompareSide, expanded: string[]): Promise<GraphScene> {
    return this.call('compareScene', [side, expanded]);
  }

  compareExpand(side: CompareSide, id: string): Promise<string[]> {
    return this.call('compareExpand', [side, id]);
  }

  compareReveal(side: CompareSide, id: string): Promise<string[]> {
    return this.call('compareReveal', [side, id]);
  }

  compareWeights(key: string, group?: number): Promise<WeightComparison> {
    return this.call('compareWeights', [key, group]);
  }

  compareClose(): Promise<void> {
    return this.client.kit.call('compareClose', []);
  }
}
