/**
 * A small seeded PRNG (mulberry32) so fixture weights and inputs are the same on every run and
 * every machine.
 */
import { seeded, type Rng } from '../core/random';

export { seeded, type Rng };

/** `n` float32 values uniform in [-scale, scale). */
export function randomFloats(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng() * 2 - 1) * scale;
  return out;
}

/** `n` integers uniform in [lo, hi]. */
export function randomInts(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(rng() * (hi - lo + 1)));
}
