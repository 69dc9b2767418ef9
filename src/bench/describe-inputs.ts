/**
 * A model's inputs as the Benchmark tab shows them: specs, symbolic dims and why inputs cannot
 * be synthesized; concrete dims for chosen sizes; image settings that fit an image input. Cheap
 * and pure: the page runs it on its own thread (one of the algorithm modules lint lets it use).
 */
import { errorMessage } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import type { ImagePrep } from './image';
import { dimGuess, dimKey, inputSpecs, leadingBatch, resolveDims, symbolicDims, type InputSpec, type SymbolicDim } from './inputs';
export { dimsOfSets } from './inputs';

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
    // a dim that leads every input it is in, as a batch does (inputs.ts leadingBatch: unnamed, or named by an exporter and nothing else)
    const uses = specs.flatMap((s) => s.shape.flatMap((dim, axis) => (dimKey(s, axis) === d.name ? [{ dim: String(dim), axis, rank: s.shape.length }] : [])));
    const leading = uses.length > 0 && uses.every((u) => u.axis === 0 && leadingBatch(u.dim, u.rank));
    if (g.basis === 'batch' || leading) return { ...base, value: 1, basis: 'batch' };
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

/** Names that look like a recurrent state or cache input. */
export const STATE_INPUT = /state|hidden|^h0?$|^c0?$|^h_|^c_|cache|past/i;

/** An input fed from an output of the frame before. */
export interface StatePair {
  input: string;
  output: string;
}

const sameShape = (a: IoSummary, b: IoSummary) => {
  if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return false;
  return a.shape.every((d, i) => typeof d !== 'number' || typeof b.shape![i] !== 'number' || d === b.shape![i]);
};

/** How an output's name relates to a state input's: higher is closer; 0 unrelated. */
function kinship(input: string, output: string): number {
  const i = input.toLowerCase();
  const o = output.toLowerCase();
  if (o === i) return 0;
  if (o.startsWith(i)) return 3; // state -> stateN, state_out, h -> hn
  const stem = i.replace(/(_?in|_?0|_?prev|_?past)$/, '');
  if (stem.length > 0 && stem !== i && o.startsWith(stem)) return 3; // h0 -> hn, state_in -> state_out
  if (i.replace(/^past/, 'present') === o) return 3; // past_key_values.0.key -> present.0.key (both forms)
  if (i.startsWith('past') && o.startsWith('present') && i.replace(/^past[_.]?(key_values)?/, '') === o.replace(/^present[_.]?/, '')) return 3;
  if (/state|hidden|cache/.test(o)) return 1;
  return 0;
}

/**
 * The state inputs that have a matching output (same dtype, same fixed dims): the output whose
 * name is closest (`state` -> `stateN`, `h0` -> `hn`, `past...` -> `present...`), or the only
 * output of that dtype and shape. Inputs with no unambiguous match are left out.
 */
export function statePairs(inputs: readonly IoSummary[], outputs: readonly IoSummary[]): StatePair[] {
  const pairs: StatePair[] = [];
  const taken = new Set<string>();
  for (const input of inputs) {
    if (!STATE_INPUT.test(input.name)) continue;
    const fit = outputs.filter((o) => !taken.has(o.name) && o.dtype === input.dtype && sameShape(input, o));
    if (fit.length === 0) continue;
    const scored = fit.map((o) => ({ o, k: kinship(input.name, o.name) })).sort((a, b) => b.k - a.k);
    const best = scored[0];
    const clear = best.k > 0 ? scored.length === 1 || scored[1].k < best.k : fit.length === 1;
    if (!clear) continue;
    pairs.push({ input: input.name, output: best.o.name });
    taken.add(best.o.name);
  }
  return pairs;
}
