/**
 * The page's side of the model worker. Starts the worker, transfers file bytes to it (no
 * copies), relays progress, and cancels: first cooperatively through a shared flag the worker
 * polls, and if the worker does not answer soon, by terminating it and starting a fresh one.
 */
import { proxy, releaseProxy, transfer, wrap, type Remote } from 'comlink';
import { AppError } from '../core/errors';
import type {
  CompareInfo,
  CompareSide,
  LayerReport,
  WeightComparison,
  GraphInfo,
  GraphScene,
  LayoutEngine,
  ModelFileInput,
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
  WorkerResult,
} from './model-api';

export interface OpenOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** How long a cancelled parse may take to notice the flag before the worker is replaced. */
const CANCEL_GRACE_MS = 400;

/** The page's model client, for features that work on the open model (undefined before the first open). */
export function currentModelClient(): ModelClient | undefined {
  return ModelClient.latest;
}

function unwrap<T>(result: WorkerResult<T>): T {
  if (result.ok) return result.value;
  throw new AppError(result.code === 'unexpected' ? 'malformed' : result.code, result.message);
}

export class ModelClient {
  /** The client constructed last: the one the page opens models with. */
  static latest: ModelClient | undefined;
  private worker!: Worker;
  private remote!: Remote<ModelWorkerApi>;
  /** Fails the call in flight when the worker dies or is replaced. */
  private failPending = new Set<(e: AppError) => void>();
  /** Bumped whenever the worker is replaced (and so forgets its model). */
  generation = 0;

  constructor() {
    this.start();
    ModelClient.latest = this;
  }

  private start(): void {
    this.worker = new Worker(new URL('./model.worker.ts', import.meta.url), { type: 'module', name: 'model' });
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      const detail = event.message ? `: ${event.message}` : '';
      this.restart(new AppError('io', `The model worker stopped${detail}.`));
    });
    this.remote = wrap<ModelWorkerApi>(this.worker);
  }

  /** Terminates the worker, fails whatever was in flight, and starts a fresh one. */
  private restart(reason: AppError): void {
    this.remote[releaseProxy]();
    this.worker.terminate();
    this.generation++;
    const fails = [...this.failPending];
    this.failPending.clear();
    for (const fail of fails) fail(reason);
    this.start();
  }

  /** Runs a worker call that fails fast with `reason` if the worker is replaced meanwhile. */
  private guarded<T>(call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (e: AppError) => reject(e);
      this.failPending.add(fail);
      call().then(
        (v) => {
          this.failPending.delete(fail);
          resolve(v);
        },
        (e: unknown) => {
          this.failPending.delete(fail);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
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
    const inputs: ModelFileInput[] = await Promise.all(
      files.map(async (f) => ({ name: f.name, buffer: await f.arrayBuffer() })),
    );
    if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');

    const shared = globalThis.crossOriginIsolated ? new SharedArrayBuffer(4) : undefined;
    const progress = onProgress ? proxy(onProgress) : undefined;
    const generation = this.generation;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      if (shared) Atomics.store(new Int32Array(shared), 0, 1);
      graceTimer = setTimeout(
        () => {
          if (this.generation === generation) this.restart(new AppError('aborted', 'Cancelled.'));
        },
        shared ? CANCEL_GRACE_MS : 0,
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await this.guarded<WorkerResult<OpenedModel>>(() =>
        this.remote.open(
          transfer(inputs, inputs.map((i) => i.buffer)),
          progress,
          shared,
        ),
      );
      if (!result.ok) {
        const code = result.code === 'unexpected' ? 'malformed' : result.code;
        throw new AppError(code, result.message);
      }
      if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
      return result.value;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
    }
  }

  /** Which onnxruntime-web backends work in this browser (runs a tiny model on wasm). */
  probeRuntimes(): Promise<RuntimeReport> {
    return this.guarded(() => this.remote.probeRuntimes());
  }

  /** Details of the node named `key` in the open model. */
  async inspectNode(key: string): Promise<NodeDetails> {
    return unwrap(await this.guarded<WorkerResult<NodeDetails>>(() => this.remote.inspectNode(key)));
  }

  /** Statistics of a tensor listed in inspectNode's answer. */
  async tensorStats(id: string): Promise<TensorStatsView> {
    return unwrap(await this.guarded<WorkerResult<TensorStatsView>>(() => this.remote.tensorStats(id)));
  }

  /** A page of a tensor's values (listed in inspectNode's answer), from flat index `offset`. */
  async tensorValues(id: string, offset: number, count: number): Promise<TensorPage> {
    return unwrap(await this.guarded<WorkerResult<TensorPage>>(() => this.remote.tensorValues(id, offset, count)));
  }

  /** Projected size of the open model under `recipe`. */
  async projectSize(recipe: Recipe, focusKey?: string): Promise<SizeProjection> {
    return unwrap(await this.guarded<WorkerResult<SizeProjection>>(() => this.remote.projectSize(recipe, focusKey)));
  }

  /** Graph view: builds the open model's view graph (once) and says what to open first. */
  async graphInfo(): Promise<GraphInfo> {
    return unwrap(await this.guarded<WorkerResult<GraphInfo>>(() => this.remote.graphInfo()));
  }

  /** Graph view: the laid-out scene with these groups expanded. */
  async graphScene(expanded: string[], engine?: LayoutEngine): Promise<GraphScene> {
    return unwrap(await this.guarded<WorkerResult<GraphScene>>(() => this.remote.graphScene(expanded, engine)));
  }

  /** Graph view: the groups to open when the user opens group `id`. */
  async graphExpand(id: string): Promise<string[]> {
    return unwrap(await this.guarded<WorkerResult<string[]>>(() => this.remote.graphExpand(id)));
  }

  /** Graph view: nodes and groups matching `query`. */
  async graphSearch(query: string, limit?: number): Promise<SearchHit[]> {
    return unwrap(await this.guarded<WorkerResult<SearchHit[]>>(() => this.remote.graphSearch(query, limit)));
  }

  /** Graph view: the groups to open so that `id` shows. */
  async graphReveal(id: string): Promise<string[]> {
    return unwrap(await this.guarded<WorkerResult<string[]>>(() => this.remote.graphReveal(id)));
  }

  /** Compare view: parses the compressed file next to the open model and diffs them. */
  async compareOpen(compressed: Blob, layers: LayerReport[]): Promise<CompareInfo> {
    return unwrap(await this.guarded<WorkerResult<CompareInfo>>(() => this.remote.compareOpen(compressed, layers)));
  }

  async compareScene(side: CompareSide, expanded: string[]): Promise<GraphScene> {
    return unwrap(await this.guarded<WorkerResult<GraphScene>>(() => this.remote.compareScene(side, expanded)));
  }

  async compareExpand(side: CompareSide, id: string): Promise<string[]> {
    return unwrap(await this.guarded<WorkerResult<string[]>>(() => this.remote.compareExpand(side, id)));
  }

  async compareReveal(side: CompareSide, id: string): Promise<string[]> {
    return unwrap(await this.guarded<WorkerResult<string[]>>(() => this.remote.compareReveal(side, id)));
  }

  async compareWeights(key: string, group?: number): Promise<WeightComparison> {
    return unwrap(await this.guarded<WorkerResult<WeightComparison>>(() => this.remote.compareWeights(key, group)));
  }

  compareClose(): Promise<void> {
    return this.guarded(() => this.remote.compareClose());
  }

  dispose(): void {
    this.remote[releaseProxy]();
    this.worker.terminate();
  }
}
