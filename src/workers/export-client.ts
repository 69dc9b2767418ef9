/**
 * The page's side of the export worker: started on first use; a cancel terminates it (hashing
 * and zipping hold no state worth keeping) and the next call starts a fresh one.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { AppError } from '../core/errors';
import type { ExportBundle, ExportPart, ExportProgressCallback, ExportRequest, ExportWorkerApi, WorkerResult } from './export-api';

const cancelled = () => new AppError('aborted', 'Cancelled.');

export class ExportClient {
  private worker: Worker | undefined;
  private remote: Remote<ExportWorkerApi> | undefined;
  private failPending = new Set<(e: AppError) => void>();

  private ensure(): Remote<ExportWorkerApi> {
    if (this.remote) return this.remote;
    const worker = new Worker(new URL('./export.worker.ts', import.meta.url), { type: 'module', name: 'export' });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      if (this.worker === worker) this.restart(new AppError('io', `The export worker stopped${event.message ? `: ${event.message}` : ''}.`));
    });
    this.worker = worker;
    this.remote = wrap<ExportWorkerApi>(worker);
    return this.remote;
  }

  private restart(reason: AppError): void {
    this.remote?.[releaseProxy]();
    this.worker?.terminate();
    this.remote = undefined;
    this.worker = undefined;
    const fails = [...this.failPending];
    this.failPending.clear();
    for (const fail of fails) fail(reason);
  }

  private call<T>(run: (remote: Remote<ExportWorkerApi>) => Promise<WorkerResult<T>>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(cancelled());
      const fail = (e: AppError) => reject(e);
      const onAbort = () => this.restart(cancelled());
      this.failPending.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      run(this.ensure())
        .then((r) => {
          if (r.ok) resolve(r.value);
          else reject(new AppError(r.code === 'unexpected' ? 'malformed' : r.code, r.message));
        }, reject)
        .finally(() => {
          this.failPending.delete(fail);
          signal?.removeEventListener('abort', onAbort);
        });
    });
  }

  prepare(request: ExportRequest, signal?: AbortSignal): Promise<ExportBundle> {
    return this.call((remote) => remote.prepare(request), signal);
  }

  zip(parts: readonly ExportPart[], folder: string, onProgress?: ExportProgressCallback, signal?: AbortSignal): Promise<Blob> {
    return this.call((remote) => remote.zip([...parts], folder, onProgress && proxy(onProgress)), signal);
  }
}
