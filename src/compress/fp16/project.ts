/** The fp16 method's part of the size projection (project.ts). */
import type { ProjectionWeight } from '../types';

/** `weights: "fp16"`: 2 bytes a value (unchanged when the layer reads it as float16 already). */
export function fp16WeightBytes(w: ProjectionWeight, bytes: number, elements: number): number {
  return w.fp16 ? bytes : elements * 2;
}

/** Under float16 compute, a float32 bias or other constant of the layer is stored as float16 too. */
export function fp16ComputeBytes(bytes: number, elements: number): number {
  return bytes === elements * 4 ? elements * 2 : bytes;
}
