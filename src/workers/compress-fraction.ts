/**
 * One fraction for a Compress with recovery, over all of its work (no worker globals: tested under
 * Node). The stages' own fractions (ui/compress/describe.ts) count layers: with recovery the bar
 * sat at 5% while the layer-input statistics ran (most of the time), jumped to 95% in the second
 * GPTQ took, then sat again through the check; after sequential rounds (45%) it went back to 5%.
 * Here each part weighs about what it costs, in forward passes of the model: a statistics sample
 * about 3 (the detector's statistics run is 3-4x its forward pass), a round's sample the same, a
 * check sample 3 (the original, round to nearest and the recovered model), and the layers' GPTQ a
 * fifth of one statistics pass. The fraction never goes back (a second pass or a round count
 * learned late raises the total).
 */
import type { CompressProgress } from './compress-api';

export interface RecoveryWork {
  /** calibration samples the statistics run over */
  samples: number;
  /** samples the check will run (0: no check) */
  check: number;
}

const STATS = 3;
const CHECK = 3;
const LAYERS = 0.2;

/** A function of each progress report that gives the whole job's fraction, 0.05 to 0.995. */
export function recoveryFraction(work: RecoveryWork): (p: CompressProgress) => number {
  let rounds = { done: 0, total: 0 };
  let passes = 1;
  let passesDone = 0;
  let current: CompressProgress['inputs'];
  let layers = { done: 0, total: 0 };
  let check = { done: 0, total: work.check };
  let last = 0.05;
  return (p) => {
    if (p.stage === 'recover' && p.total > 0) rounds = { done: p.done, total: p.total };
    if (p.stage === 'compress' || p.stage === 'encode') {
      if (p.inputs) {
        current = p.inputs;
        passes = Math.max(passes, p.inputs.passes);
      } else if (current) {
        passesDone = Math.max(passesDone, current.pass + 1);
        current = undefined;
      }
      if (p.total > 0) layers = { done: p.done, total: p.total };
      if (p.stage === 'encode') {
        passesDone = passes;
        layers = { done: 1, total: 1 };
      }
    }
    if (p.stage === 'check') {
      passesDone = passes;
      layers = { done: 1, total: 1 };
      if (p.total > 0) check = { done: p.done, total: p.total };
    }
    const of = (x: { done: number; total: number }) => (x.total > 0 ? Math.min(1, x.done / x.total) : 0);
    const wRounds = STATS * rounds.total;
    const wStats = STATS * work.samples * passes;
    const wLayers = LAYERS * STATS * work.samples;
    const wCheck = CHECK * check.total;
    const stats = Math.min(passes, passesDone + (current ? current.done / Math.max(1, current.total) : 0)) / passes;
    const done = wRounds * of(rounds) + wStats * stats + wLayers * of(layers) + wCheck * of(check);
    const total = wRounds + wStats + wLayers + wCheck;
    last = Math.max(last, Math.min(0.995, 0.05 + 0.945 * (total > 0 ? done / total : 0)));
    return last;
  };
}
