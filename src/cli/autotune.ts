/**
 * `autotune MODEL --max-size RATIO | --min-fidelity X [--samples DIR|FILE] --out RECIPE.json
 * [--metric accuracy|top1|cosine] [--no-prune] [--target T] [--dims ...] [--json]`: the studio's
 * trade-off search, headless, with onnxruntime-node: per-layer sensitivity, then the search for a
 * size budget (a fraction of the original's projected size) or a metric floor; writes the
 * chosen recipe. Same code as the Explore tab (src/bench/explore), same numbers up to runtime
 * differences between onnxruntime-node and onnxruntime-web.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { CandidateEvaluator, type OpenSession } from '../bench/explore/evaluator';
import { METRIC_LABELS, type MetricKind } from '../bench/explore/score';
import { Explorer, paretoFront, type ExplorePoint } from '../bench/explore/search';
import { runSensitivity, type SensitivityEntry } from '../bench/explore/sensitivity';
import { SizeModel, type SizeBasis } from '../bench/explore/size';
import { planInputs } from '../bench/plan';
import { modelTensorBytes } from '../compress/compress';
import { projectionInput } from '../compress/project';
import { serializeRecipe, type Target } from '../compress/recipe';
import { externalReferences, inlineExternalData } from '../onnx/external';
import { findLayers } from '../onnx/layers';
import { summarizeModel } from '../onnx/summary';
import type { DataFlags } from './data';
import { evaluationData, nodeSession } from './eval';
import { loadModelFromPath } from './fs-model';

export interface AutotuneArgs extends DataFlags {
  model: string;
  maxSize?: number;
  minFidelity?: number;
  out: string;
  metric?: MetricKind;
  prune: boolean;
  target?: Target;
  /** what --max-size means: the stored file (default) or the estimated transfer (zip) size */
  size?: SizeBasis;
  json: boolean;
}

interface PointSummary {
  label: string;
  kind: ExplorePoint['kind'];
  size: number;
  sizeRatio: number;
  fileBytes: number;
  metric: number;
  accuracy?: number;
  top1: number;
  cosine: number;
}

export interface AutotuneReport {
  model: string;
  runtime: string;
  inputs: string;
  /** what --samples held and how it was prepared and split */
  data?: string;
  metric: MetricKind;
  /** what `size` and `sizeRatio` mean: the compressed file's bytes, or the estimated transfer size */
  sizeBasis: SizeBasis;
  goal: { maxSize: number } | { minMetric: number };
  original: PointSummary;
  chosen: PointSummary & { recipe: string };
  uniform: PointSummary[];
  front: PointSummary[];
  /** candidate models measured (sensitivity + search) */
  measured: number;
  sensitivityMs: number;
  searchMs: number;
  sensitivity: { key: string; op: string; probe: string; drop: number; cosine: number }[];
}

export async function autotune(args: AutotuneArgs): Promise<AutotuneReport> {
  if ((args.maxSize === undefined) === (args.minFidelity === undefined)) throw new AppError('invalid-argument', 'autotune needs one of --max-size RATIO or --min-fidelity X');
  const loaded = loadModelFromPath(args.model);
  try {
    const summary = summarizeModel(loaded);
    const model = externalReferences(loaded.model).length > 0 ? inlineExternalData(loaded.model, loaded.external) : loaded.model;
    const data = await evaluationData(args, summary, path.resolve(args.model));
    const plan = planInputs(summary.inputs, { dimValues: data.dimValues, ...data.samples });
    const metric: MetricKind = args.metric ?? (plan.labeled ? 'accuracy' : 'cosine');
    if (metric === 'accuracy' && !plan.labeled) throw new AppError('invalid-argument', '--metric accuracy needs a labeled set (--samples FILE.json or FILE.csv)');
    const target = args.target ?? 'portable';
    const ort: typeof Ort = await import('onnxruntime-node');
    let measured = 0;
    const open: OpenSession = async (bytes) => {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      return { ...nodeSession(ort, session), release: () => session.release() };
    };
    const ev = await CandidateEvaluator.create(model, plan, open, { target });
    const measure: typeof ev.measure = (r, s, o) => {
      measured++;
      return ev.measure(r, s, o);
    };
    const t0 = performance.now();
    // the scan needs scores only: no timed runs
    const entries: SensitivityEntry[] = await runSensitivity(ev.layers, ev.baseline, (r, s) => measure(r, s, { latency: false }), { target, metric });
    const sensitivityMs = performance.now() - t0;
    const basis: SizeBasis = args.size ?? 'stored';
    const sizes = new SizeModel(projectionInput(model, findLayers(model), modelTensorBytes(model)), target, basis);
    const ex = new Explorer({
      layers: ev.layers,
      sizes,
      entries,
      metric,
      baseline: ev.baseline,
      originalFileBytes: ev.originalBytes,
      originalLatencyMs: ev.baselineLatencyMs,
      allowPrune: args.prune,
      measure,
    });
    const t1 = performance.now();
    const uniform = await ex.uniform();
    let chosen: ExplorePoint | undefined;
    if (args.maxSize !== undefined) {
      // stored: the compressed file itself must fit; transfer: the projected download size
      const limit = basis === 'stored' ? args.maxSize * ex.original.fileBytes : args.maxSize * ex.original.size;
      chosen = basis === 'stored' ? await ex.searchFileBudget(limit) : await ex.searchBudget(limit);
      if (!chosen) {
        throw new AppError('invalid-argument', `no configuration fits ${(args.maxSize * 100).toFixed(1)}% of the original's ${basis === 'stored' ? 'file' : 'transfer size'} (${formatBytes(limit)})`);
      }
    } else {
      chosen = await ex.searchFloor(args.minFidelity as number);
    }
    const searchMs = performance.now() - t1;
    const recipe = serializeRecipe(chosen.recipe);
    try {
      fs.writeFileSync(args.out, recipe);
    } catch (e) {
      throw new AppError('io', `Cannot write ${args.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
    }
    const sum = (p: ExplorePoint): PointSummary => ({
      label: p.label,
      kind: p.kind,
      // one size, said one way: the file (stored) or the projected download (transfer)
      size: basis === 'stored' ? p.fileBytes : p.size,
      sizeRatio: basis === 'stored' ? p.fileBytes / ex.original.fileBytes : p.size / ex.original.size,
      fileBytes: p.fileBytes,
      metric: p.metric,
      ...(p.score.accuracy !== undefined ? { accuracy: p.score.accuracy } : {}),
      top1: p.score.top1,
      cosine: p.score.cosine,
    });
    return {
      model: args.model,
      runtime: 'onnxruntime-node, cpu, 1 thread',
      inputs: plan.description,
    ...(data.line ? { data: data.line } : {}),
      metric,
      sizeBasis: basis,
      goal: args.maxSize !== undefined ? { maxSize: args.maxSize } : { minMetric: args.minFidelity as number },
      original: sum(ex.original),
      chosen: { ...sum(chosen), recipe },
      uniform: uniform.map(sum),
      front: paretoFront(ex.points).map(sum),
      measured,
      sensitivityMs,
      searchMs,
      sensitivity: entries.map((e) => ({ key: e.key, op: e.op, probe: e.probe, drop: e.drop, cosine: e.score.cosine })),
    };
  } finally {
    loaded.external.close();
  }
}

function fmt(v: number, metric: MetricKind): string {
  return metric === 'cosine' ? v.toFixed(5) : `${(v * 100).toFixed(2)}%`;
}

export function formatAutotune(r: AutotuneReport, out: string): string[] {
  const row = (p: PointSummary) => `  ${p.label.padEnd(28)} ${formatBytes(p.size).padStart(10)} (${(p.sizeRatio * 100).toFixed(1).padStart(5)}%)  ${fmt(p.metric, r.metric)}`;
  return [
    `Runtime: ${r.runtime}`,
    ...(r.data ? [`Data: ${r.data}`] : []),
    `Inputs: ${r.inputs}`,
    `Metric: ${METRIC_LABELS[r.metric]}`,
    `Sensitivity: ${r.sensitivity.length} candidates in ${(r.sensitivityMs / 1000).toFixed(1)} s; search: ${(r.searchMs / 1000).toFixed(1)} s; ${r.measured} models measured in all`,
    '',
    `Configuration                 ${r.sizeBasis === 'stored' ? 'file size     ' : 'transfer size '}           metric`,
    row(r.original),
    ...r.uniform.map(row),
    '',
    `Chosen (${'maxSize' in r.goal ? `size <= ${(r.goal.maxSize * 100).toFixed(1)}%` : `metric >= ${r.goal.minMetric}`}):`,
    row(r.chosen),
    `Recipe written to ${out}`,
  ];
}

export async function autotuneCommand(args: AutotuneArgs): Promise<string[]> {
  const r = await autotune(args);
  return args.json ? [JSON.stringify(r, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)] : formatAutotune(r, args.out);
}
