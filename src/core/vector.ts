/** Small numeric helpers on plain vectors, shared by fidelity checks in the app, CLI and tests. */

/** Cosine similarity of two equally long vectors (1 when both are all zeros, 0 when one is). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return cosineRange(a, b, 0, a.length);
}

/** cosine of `a[start, start + n)` and `b[start, start + n)`, read in place (a row of a larger output): the same sums in the same order. */
export function cosineRange(a: ArrayLike<number>, b: ArrayLike<number>, start: number, n: number): number {
  let d = 0;
  let x = 0;
  let y = 0;
  for (let i = start; i < start + n; i++) {
    d += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  return cosineFromSums(d, x, y);
}

/** The cosine from its three sums: Σab, Σa², Σb². */
export function cosineFromSums(d: number, x: number, y: number): number {
  if (x === 0 && y === 0) return 1;
  if (x === 0 || y === 0) return 0;
  return d / Math.sqrt(x * y);
}
