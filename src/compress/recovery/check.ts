/**
 * The teacher's last word: GPTQ lowers each layer's own output error on the calibration inputs,
 * and that is not always what the model's outputs need (a log after the layer, as in a mel
 * spectrogram, weighs small values up). So the whole recovered model is compared with round to
 * nearest against the original's outputs; the closer one is kept, and the report says which and
 * by how much. On samples recovery did not fit where the caller has them (the page's evaluation
 * part; the CLI's with `--calibration N`): on the calibration samples the comparison favours what
 * was fitted to them (measured: hey-jarvis at 50% pruning, a repair 6.3x worse than plain pruning
 * on held-out samples was closer on the calibration ones).
 */
import type { RunModel, Sample } from '../activations/calibrate';
import { CHECK_SAMPLES } from './meta';

export interface RecoveryCheck {
  /** relative squared output error Σ‖y − y₀‖² / Σ‖y₀‖² on the samples: round to nearest, with recovery */
  errorRtn: number;
  errorRecovered: number;
  keep: boolean;
  samples: number;
  /** which samples: the calibration ones (fitted to), or held-out ones (the evaluation part) */
  basis: 'calibration' | 'evaluation';
}

export { CHECK_SAMPLES };

function floats(v: unknown): Float32Array | undefined {
  return v instanceof Float32Array ? v : undefined;
}

export async function checkRecovery(
  original: Uint8Array,
  rtn: Uint8Array,
  recovered: Uint8Array,
  samples: readonly Sample[],
  run: RunModel,
  basis: RecoveryCheck['basis'] = 'calibration',
): Promise<RecoveryCheck> {
  const used = samples.slice(0, CHECK_SAMPLES);
  let energy = 0;
  let eRtn = 0;
  let eRec = 0;
  for (const s of used) {
    const [o, a, b] = [await run(original, s), await run(rtn, s), await run(recovered, s)];
    for (const k of Object.keys(o)) {
      const [y, ya, yb] = [floats(o[k].data), floats(a[k]?.data), floats(b[k]?.data)];
      if (!y || !ya || !yb || ya.length !== y.length || yb.length !== y.length) continue;
      for (let i = 0; i < y.length; i++) {
        energy += y[i] * y[i];
        eRtn += (ya[i] - y[i]) ** 2;
        eRec += (yb[i] - y[i]) ** 2;
      }
    }
  }
  const norm = energy > 0 ? energy : 1;
  return { errorRtn: eRtn / norm, errorRecovered: eRec / norm, keep: eRec <= eRtn, samples: used.length, basis };
}

/** The report line for a check; `modes`: the recipe's recovery modes (plan.ts recoveryModes), which the line names. */
export function checkNote(c: RecoveryCheck, modes: readonly string[]): string {
  const e = (x: number) => x.toExponential(2);
  const n = `${c.samples} ${c.basis} sample${c.samples === 1 ? '' : 's'}`;
  const on = c.basis === 'evaluation' ? `${n} (held out from recovery)` : n;
  const what = `recovery ${modes.length > 0 ? modes.join(' and ') : 'gptq'}`;
  return c.keep
    ? `${what}: the model's outputs on ${on} are closer to the original than without recovery (relative squared error ${e(c.errorRecovered)} vs ${e(c.errorRtn)})`
    : `${what}: the model's outputs on ${on} were further from the original than without recovery (${e(c.errorRecovered)} vs ${e(c.errorRtn)}): the result without recovery kept (round to nearest, or pruning alone)`;
}
