/**
 * The page's side of the compress worker (through the worker kit): started on first use; the
 * open model is handed to it once (the model worker's snapshot, its buffers transferred) and
 * kept there for every compression of that model; per-layer progress arrives in order and before
 * the result; cancel sets the shared flag the worker polls before every layer, and terminates it
 * when it does not answer soon. Calls run one at a time, in order.
 */
import { AppError, isAppError } from '../core/errors';
import { buffersOf } from '../onnx/snapshot';
import type { IoSummary } from '../onnx/summary';
import type { CompressData, CompressDataRequest, CompressOutput, CompressProgressCallback, CompressWorkerApi, PortLike, Recipe, VerifyBackend, VerifyReport } from './compress-api';
import { WorkerClient } from './kit/client';
import { debugChunkBytes, debugSingleFileLimit, debugVerifyBudgetMs } from './kit/debug';
import type { ModelHandle } from './model-client';

export interface CompressCallOptions {
  signal?: AbortSignal;
  onProgress?: CompressProgressCallback;
  /** the Data place's calibration part (int8 activations), else random inputs at its dims */
  data?: CompressDataRequest;
  /** a port to the worker that holds the samples (DataClient.connect), asked for once per call that names samples */
  connectData?: () => Promise<PortLike>;
}

/** The data with a fresh port to the data worker where it names samples; the port is to be transferred. */
async function connected(data: CompressDataRequest | undefined, connect: (() => Promise<PortLike>) | undefined): Promise<{ data?: CompressData; transfer: PortLike[] }> {
  if (!data) return { transfer: [] };
  const { samples, ...rest } = data;
  if (!samples) return { data: rest, transfer: [] };
  if (!connect) throw new AppError('invalid-argument', 'the samples are named but there is no data worker to connect to');
  const port = await connect();
  return { data: { ...rest, samples: { ...samples, port } }, transfer: [port] };
}

export class CompressClient {
  readonly kit = new WorkerClient<CompressWorkerApi>({
    name: 'compress',
    spawn: () => new Worker(new URL('./compress.worker.ts', import.meta.url), { type: 'module', name: 'compress' }),
    serial: true,
    graceMs: 400,
    crashHint: 'The model and the recipe are kept: try again, or a lighter recipe; if it stops again, close other tabs to free memory.',
  });
  /** The model the worker holds (its handle's key) and the worker generation it was handed to. */
  private held: { key: number; generation: number } | undefined;

  /**
   * Compresses the model of `handle` with `recipe`. Rejects with an AppError naming the problem;
   * with code 'aborted' when `signal` fires.
   */
  async compress(handle: ModelHandle, recipe: Recipe, options: CompressCallOptions = {}): Promise<CompressOutput> {
    const { signal, onProgress, connectData } = options;
    const attempt = async (handOver: boolean): Promise<CompressOutput> => {
      const snapshot = handOver ? await handle.snapshot() : undefined;
      // a port per attempt: one carries one request
      const { data, transfer } = await connected(options.data, connectData);
      const singleFileLimit = debugSingleFileLimit();
      const partBytes = debugChunkBytes();
      const output = { ...(singleFileLimit !== undefined ? { singleFileLimit } : {}), ...(partBytes !== undefined ? { partBytes } : {}) };
      const out = await this.kit.call('compress', [{ key: handle.key, ...(snapshot ? { snapshot } : {}) }, recipe, data, output], {
        signal,
        ...(onProgress ? { onProgress } : {}),
        transfer: [...(snapshot ? buffersOf(snapshot) : []), ...transfer],
      });
      this.held = { key: handle.key, generation: this.kit.generation };
      return out;
    };
    const holds = this.held?.key === handle.key && this.held.generation === this.kit.generation;
    try {
      return await attempt(!holds);
    } catch (e) {
      if (holds && isAppError(e) && e.message.startsWith('stale:')) return attempt(true);
      throw e;
    }
  }

  /** Runs the original and the compressed file on each backend with the same inputs and compares. */
  async verify(
    handle: ModelHandle,
    inputs: IoSummary[],
    compressed: Blob,
    backends: VerifyBackend[],
    signal?: AbortSignal,
    compressedData?: { name: string; blob: Blob },
    request?: CompressDataRequest,
    connectData?: () => Promise<PortLike>,
  ): Promise<VerifyReport> {
    if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
    const original = await handle.runnable();
    const { data, transfer } = await connected(request, connectData);
    // onnxruntime calls cannot be interrupted: a cancel replaces the worker
    const budgetMs = debugVerifyBudgetMs();
    return this.kit.call('verify', [original, inputs, compressed, backends, compressedData, data, budgetMs], { signal, cancel: 'terminate', transfer: [original, ...transfer] });
  }

  dispose(): void {
    this.kit.dispose();
  }
}
