import { seeded } from '../../testing/random';

/** A small seeded PRNG (mulberry32) for layout tests. */
export const mulberry = seeded;
