/** Short texts for the compression panel. */
import type { CompressReport } from '../../compress/compress';
import type { LayerSettings } from '../../compress/recipe';
import type { CompressJob } from '../../state/compress-store';

/** What a layer asked for: `int8 per-channel`, `int4 block 32 asym`, `fp32, prune 50%`… */
export function describeSettings(s: LayerSettings): string {
  const parts: string[] = [s.weights];
  if (s.weights === 'int8' || s.weights === 'int4') {
    parts.push(s.granularity === 'block' ? `block ${s.blockSize}` : s.granularity);
    if (!s.symmetric) parts.push('asym');
  }
  let text = parts.join(' ');
  if (s.prune > 0) text += `, prune ${Math.round(s.prune * 1000) / 10}%${s.pruneMethod === 'channel' ? ' (channels)' : ''}`;
  if (s.activations === 'int8') text += ', int8 activations';
  return text;
}

const STAGE_LABELS: Record<CompressJob['stage'], string> = {
  read: 'Reading the model files',
  parse: 'Parsing',
  calibrate: 'Calibrating activation ranges',
  recover: 'Reading each layer\u2019s inputs for recovery',
  compress: 'Compressing layers',
  encode: 'Writing the compressed file',
  check: 'Checking the recovered model against round to nearest',
};

export function stageLabel(stage: CompressJob['stage']): string {
  return STAGE_LABELS[stage];
}

/** 0..1 over the whole job: reading and parsing a little, layers most, writing the rest. */
export function jobFraction(job: Pick<CompressJob, 'stage' | 'done' | 'total' | 'fraction'>): number {
  // with recovery the worker weighs the statistics, the layers and the check itself
  if (job.fraction !== undefined) return job.fraction;
  switch (job.stage) {
    case 'read':
      return 0.01;
    case 'parse':
      return 0.04;
    case 'calibrate':
      return 0.045;
    case 'recover':
      return 0.05 + 0.4 * (job.total > 0 ? job.done / job.total : 0);
    case 'compress':
      return 0.05 + 0.9 * (job.total > 0 ? job.done / job.total : 0);
    case 'encode':
      return 0.96;
    case 'check':
      // after the file is written: the original, round to nearest and the recovered model run on each sample
      return 0.96 + 0.035 * (job.total > 0 ? job.done / job.total : 0);
  }
}

/** 1234567 / 345678 -> "3.57×" */
export function formatRatio(before: number, after: number): string {
  if (after <= 0) return '—';
  const r = before / after;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** One line each for what happened to the model as a whole: clean-up passes, channel pruning. */
export function modelLines(report: CompressReport): string[] {
  const lines: string[] = [];
  const passes = report.cleanup?.passes.filter((p) => p.enabled && p.count > 0) ?? [];
  if (report.cleanup && passes.length > 0) {
    lines.push(`Clean-up: ${passes.map((p) => p.summary).join('; ')} (nodes ${report.cleanup.nodesBefore} → ${report.cleanup.nodesAfter})`);
  }
  const pruning = report.pruning;
  if (pruning && (pruning.groups.length > 0 || pruning.refused.length > 0)) {
    const removed = pruning.groups.reduce((n, g) => n + g.removed.length, 0);
    let line = `Channel pruning: ${removed} channels removed in ${pruning.groups.length} group${pruning.groups.length === 1 ? '' : 's'}, parameters ${pruning.paramsBefore} → ${pruning.paramsAfter}`;
    if (pruning.refused.length > 0) line += `; refused: ${pruning.refused.map((r) => `${r.layers.join(', ')} (${r.reason})`).join('; ')}`;
    lines.push(line);
  }
  return lines;
}
