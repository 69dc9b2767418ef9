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

/**
 * A layer's recovery line: its output error on the calibration inputs without recovery, then with
 * it. Without recovery is round to nearest for int8/int4, or the pruning alone for float weights
 * (it said "round to nearest" for a pruned fp32 layer, where nothing is rounded).
 */
export function recoveryLayerNote(s: Pick<LayerSettings, 'weights' | 'prune' | 'pruneMethod'>, r: { errorBefore: number; errorAfter: number; rows: number }): string {
  const quantized = s.weights === 'int8' || s.weights === 'int4';
  const pruning = `${s.pruneMethod === 'channel' ? 'channel' : 'magnitude'} pruning`;
  const without = quantized ? (s.prune > 0 ? `${pruning} and round to nearest` : 'round to nearest') : `${pruning} alone`;
  return `gptq: layer output error ${pct(r.errorBefore)} (${without}) → ${pct(r.errorAfter)}, on ${r.rows} calibration input rows`;
}

/** A relative error as a percent with 2 significant digits. */
function pct(x: number): string {
  return `${(x * 100).toPrecision(2)}%`;
}

/** How long a compression took: ms under 10 s, then seconds, then minutes (resnet18 with recovery said "442844 ms"). */
export function jobDuration(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

const STAGE_LABELS: Record<CompressJob['stage'], string> = {
  read: 'Reading the model files',
  parse: 'Parsing',
  calibrate: 'Calibrating activation ranges',
  recover: 'Reading each layer\u2019s inputs for recovery',
  compress: 'Compressing layers',
  encode: 'Writing the compressed file',
};

export function stageLabel(stage: CompressJob['stage']): string {
  return STAGE_LABELS[stage];
}

/** 0..1 over the whole job: reading and parsing a little, layers most, writing the rest. */
export function jobFraction(job: Pick<CompressJob, 'stage' | 'done' | 'total'>): number {
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
