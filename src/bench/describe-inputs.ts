/**
 * A model's inputs as the Benchmark tab shows them: specs, symbolic dims and why inputs cannot
 * be synthesized; concrete dims for chosen sizes; image settings that fit an image input. Cheap
 * and pure: the page runs it on its own thread (one of the algorithm modules lint lets it use).
 */
import { errorMessage } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import type { ImagePrep } from './image';
import { dimGuess, inputSpecs, resolveDims, symbolicDims, type InputSpec, type SymbolicDim } from './inputs';

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

/** How a symbolic dim got its size: set by the user, a batch dim (1), guessed from its name, or unknown (must be set). */
export type DimBasis = 'set' | 'data' | 'batch' | 'name' | 'none';

export interface DimChoice {
  name: string;
  /** the size used (absent: unknown, the user must set it) */
  value?: number;
  basis: DimBasis;
  usedBy: string[];
}

/**
 * The sizes of the model's symbolic dims for random inputs: the user's, else what the data fixed,
 * else 1 for a batch dim, else a guess from the dim's name (said as a guess), else none: `missing`
 * names the dims a consumer must refuse to run without (never a silent 1).
 */
export function dimChoices(
  specs: readonly InputSpec[],
  set: Readonly<Record<string, number>>,
  fromData: Readonly<Record<string, number>> = {},
): { choices: DimChoice[]; dims: Record<string, number>; missing: string[]; guessed: string[] } {
  const choices = symbolicDims(specs).map((d): DimChoice => {
    const base = { name: d.name, usedBy: d.usedBy };
    if (set[d.name] !== undefined) return { ...base, value: set[d.name], basis: 'set' };
    if (fromData[d.name] !== undefined) return { ...base, value: fromData[d.name], basis: 'data' };
    const g = dimGuess(d.name.replace(/\[\d+\]$/, ''));
    // an unnamed dim at axis 0 of an input of rank 2 or more is the batch
    const unnamedBatch = /\[0\]$/.test(d.name) && (specs.find((s) => `${s.name}[0]` === d.name)?.shape.length ?? 0) > 1;
    if (g.basis === 'batch' || unnamedBatch) return { ...base, value: 1, basis: 'batch' };
    if (g.basis === 'name') return { ...base, value: g.value, basis: 'name' };
    return { ...base, basis: 'none' };
  });
  const dims: Record<string, number> = {};
  for (const c of choices) if (c.value !== undefined) dims[c.name] = c.value;
  return {
    choices,
    dims,
    missing: choices.filter((c) => c.basis === 'none').map((c) => c.name),
    guessed: choices.filter((c) => c.basis === 'name').map((c) => `${c.name}=${c.value}`),
  };
}
