/**
 * A model's inputs as the Benchmark tab shows them: specs, symbolic dims and why inputs cannot
 * be synthesized; concrete dims for chosen sizes; image settings that fit an image input. Cheap
 * and pure: the page runs it on its own thread (one of the algorithm modules lint lets it use).
 */
import { errorMessage } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { imageTargetFromDims, IMAGENET_MEAN, IMAGENET_STD, type ImagePrep } from './image';
import { inputSpecs, resolveDims, symbolicDims, type InputSpec, type SymbolicDim } from './inputs';

export type { ImagePrep, InputSpec, SymbolicDim };

export interface InputsDescription {
  specs: InputSpec[];
  dims: SymbolicDim[];
  /** why the model's inputs cannot be synthesized, if so */
  problem?: string;
}

export function describeInputs(inputs: readonly IoSummary[]): InputsDescription {
  try {
    const specs = inputSpecs(inputs);
    return { specs, dims: symbolicDims(specs) };
  } catch (e) {
    return { specs: [], dims: [], problem: errorMessage(e) };
  }
}

/** Concrete dims of each input with these symbolic sizes (a message instead when a size is bad). */
export function concreteDims(specs: readonly InputSpec[], values: Record<string, number>): { name: string; dims?: number[]; problem?: string }[] {
  return specs.map((s) => {
    try {
      return { name: s.name, dims: resolveDims(s, values) };
    } catch (e) {
      return { name: s.name, problem: errorMessage(e) };
    }
  });
}

/** Image settings fitting the model's (only) input at these dims, or undefined when it is not an image input. */
export function defaultImagePrep(dims: readonly number[] | undefined): ImagePrep | undefined {
  const t = dims && imageTargetFromDims(dims);
  if (!t) return undefined;
  const rgb = t.channels === 3;
  return {
    ...t,
    fit: rgb ? 'center-crop' : 'stretch',
    range: '0-1',
    mean: [...(rgb ? IMAGENET_MEAN : [0])],
    std: [...(rgb ? IMAGENET_STD : [1])],
    invert: false,
  };
}
