/**
 * A small seeded PRNG (mulberry32): the same values on every run and every machine, for fixture
 * weights and inputs (src/testing) and synthesized benchmark inputs (src/bench).
 */
export type Rng = () => number;

/** Uniform floats in [0, 1), deterministic for a given seed. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
