/** float16 weight storage: id, label, options and defaults. */
export const id = 'fp16';
export const label = 'float16 weights';

export interface Fp16Options {
  /** keep a tensor in float32 when any of its values is beyond the float16 range (always on) */
  keepOverflowingFp32: true;
}

export const defaults: Readonly<Fp16Options> = Object.freeze({ keepOverflowingFp32: true });

/** The largest finite float16. */
export const FLOAT16_MAX = 65504;
