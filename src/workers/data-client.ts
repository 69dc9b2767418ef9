/**
 * The page's side of the data worker (through the worker kit): started on first use; a cancel
 * terminates it (it holds nothing between calls).
 */
import type { DataProgress, DataRequest, DataWorkerApi, PreparedData } from './data-api';
import { WorkerClient } from './kit/client';

export class DataClient {
  readonly kit = new WorkerClient<DataWorkerApi>({
    name: 'data',
    spawn: () => new Worker(new URL('./data.worker.ts', import.meta.url), { type: 'module', name: 'data' }),
    serial: true,
    crashHint: 'Your files and settings are kept: try fewer or smaller files.',
  });

  prepare(request: DataRequest, onProgress?: (p: DataProgress) => void, signal?: AbortSignal): Promise<PreparedData> {
    return this.kit.call('prepare', [request], { signal, cancel: 'terminate', ...(onProgress ? { onProgress } : {}) });
  }
}
