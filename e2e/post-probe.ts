/**
 * What the page's main thread copies into messages to its workers (e2e/recovery.spec.ts, npm run
 * bench:recovery-page): an init script for `page.addInitScript`, and a reader.
 */
import type { Page } from '@playwright/test';

/**
 * In the page before its code: every Worker.postMessage (comlink's calls included) is timed, and
 * the bytes it copies counted (typed arrays and ArrayBuffers in the message that are not in its
 * transfer list; a SharedArrayBuffer, a Blob or a port copies none), into window.__posts.
 */
export const POST_PROBE = `(() => {
  window.__posts = [];
  const copied = (x, moved, seen) => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return 0;
    seen.add(x);
    if (x instanceof ArrayBuffer) return moved.has(x) ? 0 : x.byteLength;
    if (ArrayBuffer.isView(x)) return x.buffer instanceof ArrayBuffer && !moved.has(x.buffer) && !seen.has(x.buffer) ? (seen.add(x.buffer), x.buffer.byteLength) : 0;
    if (x instanceof Blob || x instanceof MessagePort || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer)) return 0;
    let n = 0;
    for (const v of x instanceof Map ? x.values() : Array.isArray(x) ? x : Object.values(x)) n += copied(v, moved, seen);
    return n;
  };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, transfer) {
    const list = Array.isArray(transfer) ? transfer : (transfer && transfer.transfer) || [];
    const bytes = copied(message, new Set(list), new Set());
    const t = performance.now();
    try {
      return post.call(this, message, transfer);
    } finally {
      window.__posts.push({ bytes, ms: performance.now() - t });
    }
  };
})()`;

/** Forgets the posts recorded so far. */
export async function resetPosts(page: Page): Promise<void> {
  await page.evaluate('window.__posts = []');
}

/** The largest number of bytes one message from the page to a worker copied since the reset, and the longest postMessage (ms). */
export async function largestPost(page: Page): Promise<{ bytes: number; ms: number; count: number }> {
  return (await page.evaluate('({ bytes: Math.max(0, ...window.__posts.map((p) => p.bytes)), ms: Math.max(0, ...window.__posts.map((p) => p.ms)), count: window.__posts.length })')) as { bytes: number; ms: number; count: number };
}
