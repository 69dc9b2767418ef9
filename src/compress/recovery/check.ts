/**
 * The teacher's last word: GPTQ lowers each layer's own output error on the calibration inputs,
 * and that is not always what the model's outputs need (a log after the layer, as in a mel
 * spectrogram, weighs small values up). So the whole recovered model is compared with round to
 * nearest on the calibration samples, against the original's outputs; the closer one is kept,
 * and the report says which and by how much.
 */
import type { RunModel, Sample } from '../activations/calibrate';

export interface RecoveryCheck {
  /** relative squared output error Σ‖y − y₀‖² / Σ‖y₀‖² on the samples: round to nearest, with recovery */
  errorRtn: number;
  errorRecovered: number;
  keep: boolean;
  samples: number;
}

/** At most this many calibration samples are run three times for the check. */
export const CHECK_SAMPLES = 16;

function floats(v: unknown): Float32Array | undefined {
  return v instanceof Float32Array ? v : undefined;
}

export async function checkRecovery(original: Uint8Array, rtn: Uint8Array, recovered: Uint8Array, samples: readonly Sample[], run: RunModel): Promise<RecoveryCheck> {
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
  return { errorRtn: eRtn / norm, errorRecovered: eRec / norm, keep: eRec <= eRtn, samples: used.length };
}

/** The report line for a check. */
export function checkNote(c: RecoveryCheck): string {
  const e = (x: number) => x.toExponential(2);
  return c.keep
    ? `recovery gptq: the model's outputs on ${c.samples} calibration samples are closer to the original than with round to nearest (relative squared error ${e(c.errorRecovered)} vs ${e(c.errorRtn)})`
    : `recovery gptq: the model's outputs on ${c.samples} calibration samples were further from the original than with round to nearest (${e(c.errorRecovered)} vs ${e(c.errorRtn)}): round to nearest kept for every layer`;
}
