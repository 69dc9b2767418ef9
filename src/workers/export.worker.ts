/** The export worker: hashing, the external data split and zipping run here, off the page's thread. */
import type { ExportWorkerApi } from './export-api';
import { prepareExport, zipParts } from './export-run';
import { reportDecodes } from './kit/debug';
import { serve, type Handlers } from './kit/serve';

/** Progress goes to the page at most every 50 ms (and at the end). */
function throttled(report: (p: [number, number]) => void) {
  let last = -Infinity;
  return (done: number, total: number) => {
    const now = performance.now();
    if (now - last >= 50 || done >= total) {
      last = now;
      report([done, total]);
    }
  };
}

const handlers: Handlers<ExportWorkerApi> = {
  prepare: (_ctx, request) => prepareExport(request),
  zip: (ctx, parts, folder) => zipParts(parts, folder, { onProgress: throttled(ctx.progress) }),
};

reportDecodes('export');
serve(handlers);
