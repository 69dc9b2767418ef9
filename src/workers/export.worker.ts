/** The export worker: hashing, the external data split and zipping run here, off the page's thread. */
import { expose } from 'comlink';
import { errorMessage, isAppError } from '../core/errors';
import type { ExportWorkerApi, WorkerResult } from './export-api';
import { prepareExport, zipParts } from './export-run';

function failure(e: unknown): Extract<WorkerResult<never>, { ok: false }> {
  return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
}

/** Progress goes to the page at most every 50 ms (and at the end). */
function throttled(cb: ((done: number, total: number) => void) | undefined) {
  let last = -Infinity;
  return (done: number, total: number) => {
    const now = performance.now();
    if (cb && (now - last >= 50 || done >= total)) {
      last = now;
      void cb(done, total);
    }
  };
}

const api: ExportWorkerApi = {
  async prepare(request) {
    try {
      return { ok: true, value: await prepareExport(request) };
    } catch (e) {
      return failure(e);
    }
  },
  async zip(parts, folder, onProgress) {
    try {
      return { ok: true, value: await zipParts(parts, folder, { onProgress: throttled(onProgress) }) };
    } catch (e) {
      return failure(e);
    }
  },
};

expose(api);
