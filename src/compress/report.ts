/**
 * The export report: what a compressed model is, how it was made and how well it does, as JSON
 * (for machines), Markdown (for people) and CSV (the per-layer table, for spreadsheets).
 *
 * Pure: no clock, no hashing, no I/O. The caller passes the identity (file names, sizes, SHA-256
 * computed elsewhere), the recipe, the compression report and whatever measurements exist
 * (fidelity, accuracy, benchmark); a section without data is left out of every format.
 */
import { formatBytes } from '../core/bytes-and-counts';
import type { CompressReport, LayerReport } from './compress';
import { serializeRecipe, type Recipe } from './recipe';

export const REPORT_FORMAT = 'onnx-compression-report';
export const REPORT_VERSION = 1;

/** One file of the original model or of the result. */
export interface ReportFile {
  name: string;
  bytes: number;
  /** lowercase hex SHA-256 of the file's bytes */
  sha256: string;
}

/** Output agreement of the compressed model with the original on one backend. */
export interface FidelityRow {
  backend: string;
  /** whether both models loaded and ran there */
  ok: boolean;
  /** worst cosine similarity of the outputs (over outputs and input sets) */
  cosine?: number;
  maxAbsDiff?: number;
  /** what was found, or why it did not run */
  detail?: string;
}

export interface FidelitySection {
  /** how the inputs were made and what the reference is */
  inputs: string;
  rows: FidelityRow[];
}

/** Accuracy on a labeled data set (top-1), of the original and of the result. */
export interface AccuracySection {
  dataset: string;
  samples: number;
  /** fraction correct, 0..1 */
  original: number;
  compressed: number;
  backend?: string;
}

/** One measured quantity on one backend, for the original and the result. */
export interface BenchmarkRow {
  backend: string;
  /** e.g. "session load", "median latency", "p95 latency", "peak memory" */
  metric: string;
  unit: string;
  original?: number;
  compressed?: number;
  /**
   * original time / compressed time (> 1 is faster; src/core/speedup.ts): given on the side-by-side
   * row only, the median of its rounds' ratios, the figure the Benchmark tab shows
   */
  speedup?: number;
}

export interface BenchmarkSection {
  /** how it was measured (runs, warm-up, threads …) */
  method?: string;
  rows: BenchmarkRow[];
}

export interface ReportInput {
  /** ISO time the report was made */
  generatedAt: string;
  /** the studio and its version, e.g. "ONNX Compression Studio 0.1.0" */
  tool: string;
  /** the model's name (its file name without folder) */
  modelName: string;
  /** the files opened (the .onnx first, then its external data files) */
  original: ReportFile[];
  /** the files written (the .onnx first, then its external data file when there is one) */
  result: ReportFile[];
  recipe: Recipe;
  compress: CompressReport;
  fidelity?: FidelitySection;
  accuracy?: AccuracySection;
  benchmark?: BenchmarkSection;
}

/** One layer as exported: requested settings, applied encodings, sizes. */
export interface ReportLayer {
  key: string;
  op: string;
  graphPath: string;
  weights: string;
  granularity: string;
  blockSize: number;
  symmetric: boolean;
  prune: number;
  pruneMethod: string;
  activations: string;
  applied: string;
  encodings: { tensor: string; encoding: string; bytesBefore: number; bytesAfter: number; pruned?: number; note?: string }[];
  params: number;
  paramsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  notes: string[];
  error?: string;
  /** stored quantized already (what it is); left as it was */
  quantized?: string;
}

export interface ExportReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  generatedAt: string;
  tool: string;
  model: {
    name: string;
    original: ReportFile[];
    result: ReportFile[];
    originalBytes: number;
    resultBytes: number;
    /** original bytes / result bytes */
    ratio: number;
  };
  target: string;
  opset: { before: number | null; after: number | null; note?: string };
  weights: { bytesBefore: number; bytesAfter: number; paramsBefore?: number; paramsAfter?: number };
  layersChanged: number;
  layersFailed: number;
  notes: string[];
  recipe: Recipe;
  layers: ReportLayer[];
  fidelity?: FidelitySection;
  accuracy?: AccuracySection;
  benchmark?: BenchmarkSection;
}

const sum = (files: readonly ReportFile[]) => files.reduce((n, f) => n + f.bytes, 0);

function reportLayer(l: LayerReport): ReportLayer {
  const r = l.requested;
  return {
    key: l.key,
    op: l.op,
    graphPath: l.graphPath,
    weights: r.weights,
    granularity: r.granularity,
    blockSize: r.blockSize,
    symmetric: r.symmetric,
    prune: r.prune,
    pruneMethod: r.pruneMethod,
    activations: r.activations,
    applied: l.applied,
    encodings: l.weights.map((w) => ({
      tensor: w.name,
      encoding: w.encoding,
      bytesBefore: w.bytesBefore,
      bytesAfter: w.bytesAfter,
      ...(w.pruned !== undefined ? { pruned: w.pruned } : {}),
      ...(w.note ? { note: w.note } : {}),
    })),
    params: l.params,
    paramsAfter: l.paramsAfter ?? l.params,
    bytesBefore: l.bytesBefore,
    bytesAfter: l.bytesAfter,
    notes: [...l.notes],
    ...(l.error ? { error: l.error } : {}),
    ...(l.quantized ? { quantized: l.quantized } : {}),
  };
}

/** The report as plain data (what report.json holds). Throws when a file list is empty. */
export function buildReport(input: ReportInput): ExportReport {
  if (input.original.length === 0 || input.result.length === 0) throw new Error('A report needs the original and the result files.');
  const c = input.compress;
  const originalBytes = sum(input.original);
  const resultBytes = sum(input.result);
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    generatedAt: input.generatedAt,
    tool: input.tool,
    model: {
      name: input.modelName,
      original: input.original.map((f) => ({ ...f })),
      result: input.result.map((f) => ({ ...f })),
      originalBytes,
      resultBytes,
      ratio: resultBytes > 0 ? originalBytes / resultBytes : 0,
    },
    target: c.target,
    opset: { before: c.opset.before ?? null, after: c.opset.after ?? null, ...(c.opset.note ? { note: c.opset.note } : {}) },
    weights: {
      bytesBefore: c.bytesBefore,
      bytesAfter: c.bytesAfter,
      ...(c.params ? { paramsBefore: c.params.before, paramsAfter: c.params.after } : {}),
    },
    layersChanged: c.layersChanged,
    layersFailed: c.layersFailed,
    notes: [...c.notes],
    recipe: JSON.parse(serializeRecipe(input.recipe)) as Recipe,
    layers: c.layers.map(reportLayer),
    ...(input.fidelity && input.fidelity.rows.length > 0 ? { fidelity: input.fidelity } : {}),
    ...(input.accuracy ? { accuracy: input.accuracy } : {}),
    ...(input.benchmark && input.benchmark.rows.length > 0 ? { benchmark: input.benchmark } : {}),
  };
}

/** report.json: the report with two-space indentation and a final newline. */
export function reportJson(report: ExportReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** A table cell: pipes escaped, line breaks flattened. */
function cell(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '—';
  return String(v).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(head: string[], rows: (string | number | boolean | undefined | null)[][], numeric: boolean[] = []): string {
  const sep = head.map((_, i) => (numeric[i] ? '---:' : '---'));
  return [head, sep, ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}x` : '—';
}

function percent(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}

function num(v: number | undefined, digits = 6): string | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v)) return String(v);
  return Number(v.toPrecision(digits)).toString();
}

function settingsText(l: ReportLayer): string {
  const parts = [l.weights];
  if (l.weights === 'int8' || l.weights === 'int4') {
    parts.push(l.granularity === 'block' ? `block ${l.blockSize}` : l.granularity);
    if (!l.symmetric) parts.push('asymmetric');
  }
  if (l.prune > 0) parts.push(`prune ${Math.round(l.prune * 100)}% ${l.pruneMethod}`);
  if (l.activations === 'int8') parts.push('int8 activations');
  return parts.join(', ');
}

/** report.md: the same content for people. */
export function reportMarkdown(report: ExportReport): string {
  const m = report.model;
  const out: string[] = [];
  out.push(`# Compression report: ${m.name}`, '');
  out.push(`Made by ${report.tool} on ${report.generatedAt}. Target: \`${report.target}\`.`, '');
  out.push('## Model', '');
  out.push(
    table(
      ['', 'file', 'bytes', 'size', 'SHA-256'],
      [
        ...m.original.map((f, i) => [i === 0 ? 'original' : '', f.name, f.bytes, formatBytes(f.bytes), `\`${f.sha256}\``]),
        ...m.result.map((f, i) => [i === 0 ? 'compressed' : '', f.name, f.bytes, formatBytes(f.bytes), `\`${f.sha256}\``]),
      ],
      [false, false, true, true, false],
    ),
    '',
  );
  out.push(
    `Total: ${formatBytes(m.originalBytes)} → ${formatBytes(m.resultBytes)} (${ratio(m.originalBytes, m.resultBytes)} smaller). ` +
      `Weights: ${formatBytes(report.weights.bytesBefore)} → ${formatBytes(report.weights.bytesAfter)}. ` +
      `Opset ${report.opset.before ?? '—'}${report.opset.after !== report.opset.before ? ` → ${report.opset.after ?? '—'}` : ''}` +
      `${report.opset.note ? ` (${report.opset.note})` : ''}. ` +
      `${report.layersChanged} layer${report.layersChanged === 1 ? '' : 's'} changed` +
      `${report.layersFailed > 0 ? `, ${report.layersFailed} left as they were` : ''}.`,
    '',
  );
  if (report.notes.length > 0) out.push(...report.notes.map((n) => `- ${n}`), '');

  if (report.fidelity) {
    out.push('## Fidelity', '', report.fidelity.inputs, '');
    out.push(
      table(
        ['backend', 'ran', 'worst cosine', 'max abs diff', 'detail'],
        report.fidelity.rows.map((r) => [r.backend, r.ok ? 'yes' : 'no', num(r.cosine), num(r.maxAbsDiff), r.detail]),
        [false, false, true, true, false],
      ),
      '',
    );
  }
  if (report.accuracy) {
    const a = report.accuracy;
    out.push('## Accuracy', '');
    out.push(
      table(
        ['data set', 'samples', 'original', 'compressed', 'change'],
        [[a.dataset, a.samples, percent(a.original), percent(a.compressed), `${((a.compressed - a.original) * 100).toFixed(2)} pt`]],
        [false, true, true, true, true],
      ),
      '',
    );
    if (a.backend) out.push(`Measured on ${a.backend}.`, '');
  }
  if (report.benchmark) {
    out.push('## Benchmark', '');
    if (report.benchmark.method) out.push(report.benchmark.method, '');
    out.push(
      table(
        ['backend', 'metric', 'original', 'compressed', 'speed-up (original / compressed)'],
        report.benchmark.rows.map((r) => [
          r.backend,
          r.metric,
          r.original === undefined ? undefined : `${num(r.original, 4)} ${r.unit}`,
          r.compressed === undefined ? undefined : `${num(r.compressed, 4)} ${r.unit}`,
          r.speedup === undefined ? undefined : `${r.speedup.toFixed(2)}x`,
        ]),
        [false, false, true, true, true],
      ),
      '',
    );
  }

  out.push('## Layers', '');
  out.push(
    table(
      ['layer', 'op', 'settings', 'encoding', 'params', 'bytes before', 'bytes after', 'ratio', 'notes'],
      report.layers.map((l) => [
        `\`${l.key}\``,
        l.op,
        settingsText(l),
        l.applied,
        l.paramsAfter !== l.params ? `${l.params} → ${l.paramsAfter}` : l.params,
        l.bytesBefore,
        l.bytesAfter,
        ratio(l.bytesBefore, l.bytesAfter),
        [...(l.error ? [`not applied: ${l.error}`] : []), ...l.notes].join('; ') || undefined,
      ]),
      [false, false, false, false, true, true, true, true, false],
    ),
    '',
  );
  out.push('## Recipe', '', '```json', serializeRecipe(report.recipe).trimEnd(), '```', '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// CSV

export const CSV_COLUMNS = [
  'key',
  'op',
  'graph_path',
  'weights',
  'granularity',
  'block_size',
  'symmetric',
  'prune',
  'prune_method',
  'activations',
  'applied',
  'params_before',
  'params_after',
  'bytes_before',
  'bytes_after',
  'ratio',
  'error',
  'notes',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A text starting
 * with = + - @ (a formula to spreadsheets) gets a leading apostrophe, so a node name cannot run
 * as a formula; numbers are written as they are.
 */
export function csvField(v: string | number | boolean): string {
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** layers.csv: one row per layer, CRLF line ends (RFC 4180). */
export function layersCsv(report: ExportReport): string {
  const rows: (string | number | boolean)[][] = report.layers.map((l) => [
    l.key,
    l.op,
    l.graphPath,
    l.weights,
    l.granularity,
    l.blockSize,
    l.symmetric,
    l.prune,
    l.pruneMethod,
    l.activations,
    l.applied,
    l.params,
    l.paramsAfter,
    l.bytesBefore,
    l.bytesAfter,
    l.bytesAfter > 0 ? Number((l.bytesBefore / l.bytesAfter).toFixed(4)) : 0,
    l.error ?? '',
    l.notes.join('; '),
  ]);
  return [[...CSV_COLUMNS], ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
