/**
 * What a benchmark feeds a model, decided once for the page and the CLI alike so their numbers
 * agree: the latency input (one synthesized set at the chosen dims, or the first given set), the
 * fidelity sets (the labeled set in batches when there is one, else the given sets, else
 * synthesized sets), and the labeled plan.
 */
import { AppError } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { batchFor, type ModelPlan } from './evaluate';
import { inputSpecs, synthesizeInputs } from './inputs';
import type { RepeatOptions } from './latency';
import { labeledBatch, type LabeledSet } from './labeled';
import type { BenchTensor } from './tensor';

export interface PlanOptions {
  /** sizes for symbolic dims (name -> size) */
  dimValues?: Readonly<Record<string, number>>;
  /** real input sets (from .npy / JSON files) */
  sets?: readonly (readonly BenchTensor[])[];
  /** a labeled set (accuracy, and its batches are the fidelity sets) */
  labeled?: LabeledSet;
  /** synthesized fidelity sets when neither sets nor labeled are given (default 4) */
  syntheticSets?: number;
  /** samples per labeled run (default: the input's fixed batch dim, else 64) */
  labeledBatch?: number;
  repeat?: Partial<RepeatOptions>;
}

export interface InputPlan extends ModelPlan {
  /** one line: what is fed, e.g. "latency: input float32[1, 1, 8, 8] (synthesized); fidelity: 450 labeled samples in 8 batches" */
  description: string;
}

/** Seeds of synthesized sets: latency uses SEED, fidelity set k uses SEED + 1 + k. */
export const SEED = 1000;

function describeSet(set: readonly BenchTensor[]): string {
  return set.map((t) => `${t.name} ${t.dtype}[${t.dims.join(', ')}]`).join(', ');
}

export function planInputs(inputs: readonly IoSummary[], options: PlanOptions = {}): InputPlan {
  const specs = inputSpecs(inputs);
  if (specs.length === 0) throw new AppError('unsupported', 'the model has no inputs to feed');
  const dims = options.dimValues ?? {};
  const given = options.sets && options.sets.length > 0 ? options.sets : undefined;
  const latencyInputs = given ? given[0] : synthesizeInputs(inputs, SEED, dims);
  const first = latencyInputs[0]?.dims[0];
  const latencyBatch = latencyInputs[0] && latencyInputs[0].dims.length > 1 && first ? first : 1;
  let fidelitySets: (readonly BenchTensor[])[];
  let fidelityText: string;
  let labeled: ModelPlan['labeled'];
  if (options.labeled) {
    const set = options.labeled;
    const io = inputs.find((i) => i.name === set.inputName);
    if (!io) throw new AppError('invalid-argument', `${set.source}: the model has no input "${set.inputName}"`);
    if (specs.length !== 1) throw new AppError('unsupported', `${set.source}: labeled sets feed one-input models; this one has ${specs.length} inputs`);
    const batch = Math.max(1, options.labeledBatch ?? batchFor(io.shape));
    const dtype = specs[0].dtype;
    labeled = { set, dtype, batch };
    fidelitySets = [];
    for (let start = 0; start < set.labels.length; start += batch) fidelitySets.push([labeledBatch(set, dtype, start, batch)]);
    fidelityText = `${set.labels.length} labeled samples from ${set.source} in ${fidelitySets.length} batch${fidelitySets.length === 1 ? '' : 'es'} of up to ${batch}`;
  } else if (given) {
    fidelitySets = [...given];
    fidelityText = `${given.length} given input set${given.length === 1 ? '' : 's'}`;
  } else {
    const n = Math.max(1, options.syntheticSets ?? 4);
    fidelitySets = Array.from({ length: n }, (_, k) => synthesizeInputs(inputs, SEED + 1 + k, dims));
    fidelityText = `${n} synthesized input sets (floats uniform in [-1, 1))`;
  }
  return {
    latencyInputs,
    latencyBatch,
    fidelitySets,
    labeled,
    repeat: options.repeat,
    description: `latency: ${describeSet(latencyInputs)} (${given ? 'the first given set' : 'synthesized'}); fidelity: ${fidelityText}`,
  };
}
