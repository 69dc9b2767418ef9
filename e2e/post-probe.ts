/**
 * What the page's main thread copies into messages to its workers (e2e/recovery.spec.ts, npm run
 * bench:recovery-page): an init script for `page.addInitScript`, and a reader.
 */
import type { Page } from '@playwright/test';

/**
 * In the page before its code: every Worker.postMessage (comlink's calls included) is timed, and
 * the bytes it copies counted (typed arrays and ArrayBuffers in the message that are not in its
 * transfer list; a SharedArrayBuffer, a Blob or a port copies none), into window.__posts. Of those,
 * `fromData` counts the buffers the page received from the data worker (the Data tab's samples, as
 * its answer to prepare carried them): a message that copies them passes the samples through the
 * page, whatever else (the model) it copies beside them.
 */
export const POST_PROBE = `(() => {
  window.__posts = [];
  const fromDataWorker = new WeakSet();
  const tag = (x, seen) => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return;
    seen.add(x);
    if (x instanceof ArrayBuffer) return void fromDataWorker.add(x);
    if (ArrayBuffer.isView(x)) return void (x.buffer instanceof ArrayBuffer && fromDataWorker.add(x.buffer));
    if (x instanceof Blob || x instanceof MessagePort) return;
    for (const v of x instanceof Map ? x.values() : Array.isArray(x) ? x : Object.values(x)) tag(v, seen);
  };
  // the data worker's answers: tagged by a listener added before the page's own (the same event data)
  const Base = window.Worker;
  window.Worker = class extends Base {
    constructor(url, options) {
      super(url, options);
      if (options && options.name === 'data') this.addEventListener('message', (e) => tag(e.data, new Set()));
    }
  };
  const copied = (x, moved, seen, data) => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return 0;
    seen.add(x);
    const count = (b) => (fromDataWorker.has(b) && (data.bytes += b.byteLength), b.byteLength);
    if (x instanceof ArrayBuffer) return moved.has(x) ? 0 : count(x);
    if (ArrayBuffer.isView(x)) return x.buffer instanceof ArrayBuffer && !moved.has(x.buffer) && !seen.has(x.buffer) ? (seen.add(x.buffer), count(x.buffer)) : 0;
    if (x instanceof Blob || x instanceof MessagePort || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer)) return 0;
    let n = 0;
    for (const v of x instanceof Map ? x.values() : Array.isArray(x) ? x : Object.values(x)) n += copied(v, moved, seen, data);
    return n;
  };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, transfer) {
    const list = Array.isArray(transfer) ? transfer : (transfer && transfer.transfer) || [];
    const data = { bytes: 0 };
    const bytes = copied(message, new Set(list), new Set(), data);
    const t = performance.now();
    try {
      return post.call(this, message, transfer);
    } finally {
      window.__posts.push({ bytes, fromData: data.bytes, ms: performance.now() - t });
    }
  };
})()`;

/** Forgets the posts recorded so far. */
export async function resetPosts(page: Page): Promise<void> {
  await page.evaluate('window.__posts = []');
}

/**
 * The largest number of bytes one message from the page to a worker copied since the reset, the
 * largest of those that came from the data worker (`fromData`: the samples), and the longest
 * postMessage (ms).
 */
export async function largestPost(page: Page): Promise<{ bytes: number; fromData: number; ms: number; count: number }> {
  return (await page.evaluate(
    '({ bytes: Math.max(0, ...window.__posts.map((p) => p.bytes)), fromData: Math.max(0, ...window.__posts.map((p) => p.fromData)), ms: Math.max(0, ...window.__posts.map((p) => p.ms)), count: window.__posts.length })',
  )) as { bytes: number; fromData: number; ms: number; count: number };
}
