/** Small numeric helpers on plain vectors, shared by fidelity checks in the app, CLI and tests. */

/** Cosine similarity of two equally long vectors (1 when both are all zeros, 0 when one is). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  if (x === 0 && y === 0) return 1;
  if (x === 0 || y === 0) return 0;
  return d / Math.sqrt(x * y);
}
