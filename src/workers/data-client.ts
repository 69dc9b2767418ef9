/**
 * The page's side of the data worker (through the worker kit): started on first use; a cancel
 * terminates it (it then forgets the data set it held: the page prepares again). `connect` opens
 * a channel from the data worker for a consumer worker: the page keeps neither end.
 */
import type { DataProgress, DataRequest, DataWorkerApi, PreparedData } from './data-api';
import type { AppError } from '../core/errors';
import { WorkerClient } from './kit/client';
import type { PortLike } from './kit/protocol';

export class DataClient {
  readonly kit: WorkerClient<DataWorkerApi>;

  /** `onRestart`: the worker was replaced (crash or cancel) and has forgotten the data set it held. */
  constructor(onRestart?: (reason: AppError) => void) {
    this.kit = new WorkerClient<DataWorkerApi>({
      name: 'data',
      spawn: () => new Worker(new URL('./data.worker.ts', import.meta.url), { type: 'module', name: 'data' }),
      serial: true,
      crashHint: 'Your files and settings are kept: try fewer or smaller files.',
      ...(onRestart ? { onRestart } : {}),
    });
  }

  prepare(request: DataRequest, onProgress?: (p: DataProgress) => void, signal?: AbortSignal): Promise<PreparedData> {
    return this.kit.call('prepare', [request], { signal, cancel: 'terminate', ...(onProgress ? { onProgress } : {}) });
  }

  /**
   * A port on which a consumer worker asks the data worker for the held samples (data-port.ts
   * fetchDataParts), once; hand it to that worker (transferred).
   */
  async connect(): Promise<PortLike> {
    const channel = new MessageChannel();
    await this.kit.call('connect', [channel.port1], { transfer: [channel.port1] });
    return channel.port2;
  }
}
