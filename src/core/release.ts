/**
 * Hands a large array's memory back now instead of at the collector's next full collection, for
 * arrays that lived long enough to be promoted out of the young generation (a statistic's sums
 * fed from one run to the next, a layer's H): their buffer is moved (transferred) into a clone
 * that is dropped at once, and a young object's memory goes at the next collection of the young
 * generation, which runs often (cli/gc-pace.ts: every 32 MB of a runtime's outputs). The 100 MB
 * MatMul bench's statistics left one generation of dead sums (tens of MB) to the next full
 * collection; moved out, its peak fell by about 60 MiB (scripts/bench-recovery.ts).
 *
 * The array reads as empty afterwards (length 0): only for arrays nothing reads again. Only a view
 * over its whole own buffer (a view into something larger, a model's bytes, would take all of it
 * with it) and a buffer that can move (not a shared one, not a WebAssembly memory's).
 */
export function releaseBuffer(a: ArrayBufferView | undefined): void {
  if (!a || a.byteOffset !== 0 || a.byteLength === 0 || a.byteLength !== a.buffer.byteLength || !(a.buffer instanceof ArrayBuffer)) return;
  try {
    structuredClone(a.buffer, { transfer: [a.buffer] });
  } catch {
    // (an engine that cannot move it, or a buffer it will not detach: the collector frees it)
  }
}
