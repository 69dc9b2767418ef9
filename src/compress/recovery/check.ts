/**
 * The teacher's last word: GPTQ lowers each layer's own output error on the calibration inputs,
 * and that is not always what the model's outputs need (a log after the layer, as in a mel
 * spectrogram, weighs small values up). So the whole recovered model is compared with round to
 * nearest against the original's outputs; the closer one is kept, and the report says which and
 * by how much. On samples recovery did not fit where the caller has them (the page's evaluation
 * part; the CLI's with `--calibration N`): on the calibration samples the comparison favours what
 * was fitted to them (measured: hey-jarvis at 50% pruning, a repair 6.3x worse than plain pruning
 * on held-out samples was closer on the calibration ones).
 *
 * An output that is a probability (a Sigmoid's, probabilityOutputs) is compared in log-odds, not as
 * a probability: its squared error as a probability is p²(1 − p)² times the log-odds' (for small
 * changes), so samples far from 0.5 count for almost nothing and the sample nearest 0.5 decides,
 * whereas a threshold decision (a wake word firing at 0.5, a detector's score at any threshold)
 * moves by how far the log-odds move, whatever p is. Measured on hey-jarvis at 50% pruning (its 32
 * held-out samples, p from 3e-6 to 3e-3): the repair lowered the log-odds' squared error 7.7x while
 * the probabilities' squared error, dominated by the one sample at 3e-3, said 0.98x and the largest
 * absolute probability error said 1.25x worse. Other outputs (logits, regressions, embeddings,
 * Softmax probabilities) are compared as they are.
 */
import { throwIfAborted } from '../../core/errors';
import { bfloat16ToFloat32, float16ToFloat32 } from '../../core/float16';
import { DataType, type Graph, type Model } from '../../onnx/types';
import type { OutputTensor, RunModel, Sample } from '../activations/calibrate';
import { CHECK_SAMPLES } from './meta';

export interface RecoveryCheck {
  /** relative squared output error Σ‖y − y₀‖² / Σ‖y₀‖² on the samples: round to nearest, with recovery */
  errorRtn: number;
  errorRecovered: number;
  keep: boolean;
  samples: number;
  /** which samples: the calibration ones (fitted to), or held-out ones (the evaluation part) */
  basis: 'calibration' | 'evaluation';
  /** the outputs compared in log-odds (probabilities, probabilityOutputs); the others as they are */
  logOdds: string[];
  /** outputs compared (float ones: float32, float16, bfloat16, double); 0: nothing to compare, the recovered result is kept unchecked */
  compared: number;
}

/** Probabilities are clamped to [ε, 1 − ε] before the log-odds (float32 holds 1 − 6e-8 below 1): |log-odds| ≤ 16.1. */
const LOG_ODDS_EPS = 1e-7;

/** log(p / (1 − p)), p clamped to [ε, 1 − ε]. */
export function logOdds(p: number): number {
  const q = Math.min(1 - LOG_ODDS_EPS, Math.max(LOG_ODDS_EPS, p));
  return Math.log(q / (1 - q));
}

/** Ops that pass a value on unchanged, elementwise (a probability stays one). */
const PASS = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose']);

/**
 * The model's outputs that are probabilities: a Sigmoid's output, through ops that only move or
 * reshape values, and through an If whose branches both give one (hey-jarvis: a verifier's
 * Sigmoid where the first Sigmoid says ≥ 0.5, else the first). Softmax outputs are not counted
 * (a distribution over classes; its error as it is follows the classes that carry the mass).
 */
export function probabilityOutputs(model: Model): string[] {
  const graph = model.graph;
  if (!graph) return [];
  const isProbability = (name: string, scopes: readonly Graph[], depth: number): boolean => {
    if (depth > 64) return false;
    for (let s = scopes.length - 1; s >= 0; s--) {
      const node = scopes[s].nodes.find((n) => n.outputs.includes(name));
      if (!node) continue;
      const inner = scopes.slice(0, s + 1);
      if (node.opType === 'Sigmoid' && (node.domain ?? '') === '') return true;
      if (PASS.has(node.opType ?? '') && (node.domain ?? '') === '') return node.inputs[0] !== undefined && isProbability(node.inputs[0], inner, depth + 1);
      if (node.opType === 'If' && (node.domain ?? '') === '') {
        const i = node.outputs.indexOf(name);
        const branches = ['then_branch', 'else_branch'].map((b) => node.attributes.find((a) => a.name === b)?.g);
        return branches.every((g) => g !== undefined && g.outputs[i]?.name !== undefined && isProbability(g.outputs[i].name as string, [...inner, g], depth + 1));
      }
      return false;
    }
    return false;
  };
  return graph.outputs.map((o) => o.name ?? '').filter((n) => n !== '' && isProbability(n, [graph], 0));
}

export { CHECK_SAMPLES };

/** The model's float16 and bfloat16 outputs (the runtime hands them back as 16-bit integers), by name. */
export function halfOutputs(model: Model): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of model.graph?.outputs ?? []) {
    const t = o.type?.tensorType?.elemType;
    if (o.name && (t === DataType.FLOAT16 || t === DataType.BFLOAT16)) out.set(o.name, t);
  }
  return out;
}

/** An output's values as numbers: float32 and double as they are, float16 and bfloat16 (`half`: its type) decoded; undefined for other types. */
function floats(v: unknown, half: number | undefined): ArrayLike<number> | undefined {
  if (v instanceof Float32Array || v instanceof Float64Array) return v;
  // (a Float16Array where the runtime has one; a Uint16Array of its bits elsewhere)
  const f16 = (globalThis as { Float16Array?: new (...a: never[]) => ArrayLike<number> }).Float16Array;
  if (f16 && v instanceof f16) return v as ArrayLike<number>;
  if (half !== undefined && v instanceof Uint16Array) return Float32Array.from(v, half === DataType.BFLOAT16 ? bfloat16ToFloat32 : float16ToFloat32);
  return undefined;
}

/** The original model's outputs on a check's samples, by the sample's index, kept between checks on the same model and samples. */
export interface OriginalOutputs {
  get(index: number): Record<string, OutputTensor> | undefined;
  put(index: number, outputs: Record<string, OutputTensor>): void;
}

/** Bytes of the original's outputs a worker keeps for the next check (the PaddleOCR detector's 16: 26 MB). */
export const ORIGINAL_OUTPUTS_MAX_BYTES = 64 * 2 ** 20;

/**
 * Keeps the original's outputs for the model and samples named by `key` (a new key drops the
 * earlier ones), up to `maxBytes`; what does not fit runs again next time.
 */
export function originalOutputsCache(maxBytes = ORIGINAL_OUTPUTS_MAX_BYTES): (key: string) => OriginalOutputs {
  let held = { key: '', outputs: new Map<number, Record<string, OutputTensor>>(), bytes: 0 };
  return (key) => {
    if (held.key !== key) held = { key, outputs: new Map(), bytes: 0 };
    const mine = held;
    return {
      get: (i) => mine.outputs.get(i),
      put: (i, o) => {
        const bytes = Object.values(o).reduce((n, t) => n + ((t.data as { byteLength?: number }).byteLength ?? 8 * (t.data as ArrayLike<unknown>).length), 0);
        if (mine.bytes + bytes > maxBytes || mine !== held) return;
        mine.outputs.set(i, o);
        mine.bytes += bytes;
      },
    };
  };
}

export async function checkRecovery(
  original: Uint8Array,
  rtn: Uint8Array,
  recovered: Uint8Array,
  samples: readonly Sample[],
  run: RunModel,
  basis: RecoveryCheck['basis'] = 'calibration',
  /** outputs compared in log-odds (probabilityOutputs of the original model) */
  probabilities: readonly string[] = [],
  /** the original model's float16 and bfloat16 outputs (halfOutputs) */
  half: ReadonlyMap<string, number> = new Map(),
  /**
   * Cancel (checked before each sample), the samples done of those used, and where the original
   * model's outputs on sample i are kept from an earlier check on the same model and samples
   * (OriginalOutputs: the original then runs only where none is kept)
   */
  hooks: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; original?: OriginalOutputs } = {},
): Promise<RecoveryCheck> {
  const used = samples.slice(0, CHECK_SAMPLES);
  hooks.onProgress?.(0, used.length);
  const logOddsSeen = new Set<string>();
  let energy = 0;
  let eRtn = 0;
  let eRec = 0;
  const compared = new Set<string>();
  for (const [i, s] of used.entries()) {
    throwIfAborted(hooks.signal);
    const kept = hooks.original?.get(i);
    const o = kept ?? (await run(original, s));
    if (!kept) hooks.original?.put(i, o);
    const [a, b] = [await run(rtn, s), await run(recovered, s)];
    hooks.onProgress?.(i + 1, used.length);
    for (const k of Object.keys(o)) {
      const t = half.get(k);
      const [y, ya, yb] = [floats(o[k].data, t), floats(a[k]?.data, t), floats(b[k]?.data, t)];
      if (!y || !ya || !yb || ya.length !== y.length || yb.length !== y.length) continue;
      compared.add(k);
      const f = probabilities.includes(k) ? logOdds : (v: number) => v;
      if (f === logOdds) logOddsSeen.add(k);
      for (let i = 0; i < y.length; i++) {
        const [v, va, vb] = [f(y[i]), f(ya[i]), f(yb[i])];
        energy += v * v;
        eRtn += (va - v) ** 2;
        eRec += (vb - v) ** 2;
      }
    }
  }
  const norm = energy > 0 ? energy : 1;
  return { errorRtn: eRtn / norm, errorRecovered: eRec / norm, keep: eRec <= eRtn, samples: used.length, basis, logOdds: [...logOddsSeen], compared: compared.size };
}

/** The report line for a check; `modes`: the recipe's recovery modes (plan.ts recoveryModes), which the line names. */
export function checkNote(c: RecoveryCheck, modes: readonly string[]): string {
  const e = (x: number) => x.toExponential(2);
  const n = `${c.samples} ${c.basis} sample${c.samples === 1 ? '' : 's'}`;
  const on = c.basis === 'evaluation' ? `${n} (held out from recovery)` : n;
  const what = `recovery ${modes.length > 0 ? modes.join(' and ') : 'gptq'}`;
  const odds = c.logOdds.length === 0 ? '' : `; ${c.logOdds.length === 1 ? 'output' : 'outputs'} ${c.logOdds.map((o) => `"${o}"`).join(', ')}, ${c.logOdds.length === 1 ? 'a probability' : 'probabilities'} (a Sigmoid's), compared in log-odds`;
  if (c.compared === 0) return `${what}: the model has no float outputs to compare with the original's, so the recovered result is kept unchecked`;
  return c.keep
    ? `${what}: the model's outputs on ${on} are closer to the original than without recovery (relative squared error ${e(c.errorRecovered)} vs ${e(c.errorRtn)}${odds})`
    : `${what}: the model's outputs on ${on} were further from the original than without recovery (relative squared error ${e(c.errorRecovered)} vs ${e(c.errorRtn)}${odds}): the result without recovery kept (round to nearest, or pruning alone)`;
}
