/** The compress worker's progress reports, thinned for the page (no worker globals: tested under Node). */
import type { CompressProgress, CompressProgressCallback } from './compress-api';

/**
 * Progress goes to the page at most every 40 ms (stage changes, a pass of layer inputs starting or
 * ending, and the last layer always), with the keys of every layer finished since the previous report.
 */
export function throttled(onProgress: CompressProgressCallback, now: () => number = () => performance.now()): CompressProgressCallback {
  let last = -Infinity;
  let stage = '';
  let inputs: number | undefined;
  let pending: string[] = [];
  return (p: CompressProgress) => {
    pending.push(...p.finished);
    const t = now();
    if (t - last >= 40 || p.stage !== stage || p.inputs?.pass !== inputs || (p.total > 0 && p.done >= p.total)) {
      last = t;
      stage = p.stage;
      inputs = p.inputs?.pass;
      onProgress({ ...p, finished: pending });
      pending = [];
    }
  };
}
