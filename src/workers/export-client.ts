/**
 * The page's side of the export worker (through the worker kit): started on first use; a cancel
 * terminates it (hashing and zipping hold no state worth keeping) and the next call starts a
 * fresh one.
 */
import type { ExportBundle, ExportPart, ExportProgressCallback, ExportRequest, ExportWorkerApi } from './export-api';
import { WorkerClient } from './kit/client';

export class ExportClient {
  readonly kit = new WorkerClient<ExportWorkerApi>({
    name: 'export',
    spawn: () => new Worker(new URL('./export.worker.ts', import.meta.url), { type: 'module', name: 'export' }),
    crashHint: 'The model and the compressed result are kept: export again; if it stops again, close other tabs to free memory.',
  });

  prepare(request: ExportRequest, signal?: AbortSignal): Promise<ExportBundle> {
    return this.kit.call('prepare', [request], { signal, cancel: 'terminate' });
  }

  zip(parts: readonly ExportPart[], folder: string, onProgress?: ExportProgressCallback, signal?: AbortSignal): Promise<Blob> {
    return this.kit.call('zip', [[...parts], folder], { signal, cancel: 'terminate', ...(onProgress ? { onProgress: ([d, t]) => onProgress(d, t) } : {}) });
  }
}
