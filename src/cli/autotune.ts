/**
 * `autotune MODEL --max-size RATIO | --min-fidelity X [--fastest] [--samples DIR|FILE] --out RECIPE.json
 * [--metric accuracy|top1|cosine] [--no-prune] [--recovery gptq] [--target T] [--dims ...] [--json]`: the studio's
 * trade-off search, headless, with onnxruntime-node: per-layer sensitivity, then the search for a
 * size budget (a fraction of the original's projected size), the smallest model above a metric
 * floor, or (--fastest, target wasm) the fastest above it: Explore's "fastest (wasm) with metric
 * >=" (Explorer.searchLatency), its finalists timed side by side in onnxruntime-node, the
 * original last. Writes the chosen recipe. Same code as the Explore tab (src/bench/explore),
 * same numbers up to runtime differences between onnxruntime-node and onnxruntime-web.
 * --recovery gptq: every candidate recovered (Explore's "recovery" switch): H of every
 * recoverable layer's inputs once, on the calibration part of --samples, handed to the evaluator;
 * the uniform settings are measured without recovery too (what it buys).
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { CandidateEvaluator, type OpenSession } from '../bench/explore/evaluator';
import { METRIC_LABELS, type MetricKind } from '../bench/explore/score';
import { Explorer, paretoFront, withRecovery, type ExplorePoint } from '../bench/explore/search';
import { runSensitivity, type SensitivityEntry } from '../bench/explore/sensitivity';
import { SizeModel, type SizeBasis } from '../bench/explore/size';
import { planInputs } from '../bench/plan';
import { modelTensorBytes } from '../compress/compress';
import { projectionInput } from '../compress/project';
import { makeRecipe, serializeRecipe, type Recipe, type Target } from '../compress/recipe';
import { collectHessians, type LayerHessian } from '../compress/recovery/hessian';
import { prepareFactors } from '../compress/recovery/factor-runtime';
import { recoveryLayers } from '../compress/recovery/plan';
import { solveCounts } from '../compress/recovery/step';
import { externalReferences, inlineExternalData } from '../onnx/external';
import { findLayers } from '../onnx/layers';
import { summarizeModel } from '../onnx/summary';
import type { DataFlags } from './data';
import { evaluationData, nodeSession } from './eval';
import { loadModelFromPath } from './fs-model';
import type { DataPart } from '../bench/data-load';
import { collectCalibration, synthesizeSamples, type Calibration } from '../compress/activations/calibrate';
import { calibrationSamples, ortRunModel } from './compress';
import { startGptqNative } from './gptq-native';
import { startGptqThreads } from './gptq-threads';
import { speedUp, speedUpWords } from '../core/speedup';
import type { Model } from '../onnx/types';

/** Random input sets to calibrate on without --samples (as `compress --synthesize-samples`). */
const SYNTHESIZED_SETS = 8;

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
  /** with minFidelity: the fastest recipe at or above the floor (target wasm, int8 activations) instead of the smallest */
  fastest?: boolean;
  /** "gptq": every candidate recovered, on the calibration part of the samples (Explore's recovery switch) */
  recovery?: 'gptq';
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
  goal: { maxSize: number } | { minMetric: number; fastest?: boolean };
  /** --fastest: the finalists' side-by-side times in this runtime (onnxruntime-node, not a browser) */
  latency?: { runtime: string; chosenMs: number; originalMs: number; speedup: number; finalists: number; rounds: number; calibration: string };
  original: PointSummary;
  chosen: PointSummary & { recipe: string };
  uniform: PointSummary[];
  /** --recovery: recovery in every candidate, H on these samples; uniformRtn: the uniform settings without it */
  recovery?: { mode: 'gptq'; samples: number; layers: number; ms: number; solves: { solved: number; reused: number } };
  uniformRtn?: PointSummary[];
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
    if (args.fastest && args.minFidelity === undefined) throw new AppError('invalid-argument', '--fastest needs a metric floor: --min-fidelity X');
    if (args.fastest && args.target !== undefined && args.target !== 'wasm') throw new AppError('invalid-argument', `--fastest searches int8 activations for target wasm, not ${args.target}`);
    const target = args.target ?? (args.fastest ? 'wasm' : 'portable');
    const ort: typeof Ort = await import('onnxruntime-node');
    let measured = 0;
    const open: OpenSession = async (bytes) => {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      return { ...nodeSession(ort, session), release: () => session.release() };
    };
    const cal = args.fastest ? await fastestCalibration(model, data.calibration) : undefined;
    const rec = args.recovery ? await recoveryHessians(model, target, data.calibration) : undefined;
    const ev = await CandidateEvaluator.create(model, plan, open, { target, ...(cal ? { calibration: cal.calibration } : {}), ...(rec ? { recovery: rec.hessians } : {}) });
    const decorate = rec ? withRecovery : (r: Recipe) => r;
    const measure: typeof ev.measure = (r, s, o) => {
      measured++;
      return ev.measure(decorate(r), s, o);
    };
    const solves0 = solveCounts();
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
      timeSideBySide: (recipes, signal) => ev.timeSideBySide(recipes.map(decorate), SIDE_BY_SIDE_ROUNDS, signal),
      ...(rec ? { decorate: withRecovery } : {}),
    });
    const t1 = performance.now();
    // the fastest search measures its own candidates (int8 weights, with activations): no uniform sweep
    const uniform = args.fastest ? [] : await ex.uniform();
    // with recovery, uniform() also measures each setting without it (not awaited there): the same points, awaited
    const uniformRtn = rec && !args.fastest ? await Promise.all(uniform.filter((u) => u.recipe.defaults.weights !== 'fp16').map((u) => ex.point(makeRecipe(target, { ...u.recipe.defaults, recovery: 'none' }), 'uniform-rtn', `${u.label}, no recovery`))) : undefined;
    let chosen: ExplorePoint | undefined;
    if (args.fastest) chosen = await ex.searchLatency(args.minFidelity as number);
    else if (args.maxSize !== undefined) {
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
    const solves1 = solveCounts();
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
      runtime: NODE_RUNTIME,
      inputs: plan.description,
    ...(data.line ? { data: data.line } : {}),
      metric,
      sizeBasis: basis,
      goal: args.maxSize !== undefined ? { maxSize: args.maxSize } : { minMetric: args.minFidelity as number, ...(args.fastest ? { fastest: true } : {}) },
      ...(cal && chosen.sideBySide ? { latency: latencySummary(chosen.sideBySide, cal.line) } : {}),
      original: sum(ex.original),
      chosen: { ...sum(chosen), recipe },
      uniform: uniform.map(sum),
      ...(rec ? { recovery: { mode: 'gptq' as const, samples: rec.samples, layers: rec.hessians.size, ms: rec.ms, solves: { solved: solves1.solved - solves0.solved, reused: solves1.reused - solves0.reused } } } : {}),
      ...(uniformRtn ? { uniformRtn: uniformRtn.map(sum) } : {}),
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

/** Side-by-side rounds for --fastest's finalists (Explore's count). */
const SIDE_BY_SIDE_ROUNDS = 15;
const NODE_RUNTIME = 'onnxruntime-node, cpu, 1 thread';

/** Activation ranges for --fastest: on the calibration part of --samples, else on synthesized input sets (as the page's random inputs). */
async function fastestCalibration(model: Model, part: DataPart | undefined): Promise<{ calibration: Calibration; line: string }> {
  const run = await ortRunModel();
  const given = part ? calibrationSamples(part) : [];
  if (given.length > 0) return { calibration: await collectCalibration(model, given, run, { source: 'samples' }), line: `int8 activations calibrated on ${given.length} calibration samples` };
  const samples = synthesizeSamples(model, { count: SYNTHESIZED_SETS });
  return { calibration: await collectCalibration(model, samples, run, { source: 'synthesized' }), line: `int8 activations calibrated on ${samples.length} synthesized (random) input sets` };
}

/**
 * H of every recoverable layer's inputs (as int8 gptq everywhere would ask), once, on the
 * calibration part of --samples: every candidate's recovery uses it. GPTQ's helper threads as
 * `compress` starts them.
 */
async function recoveryHessians(model: Model, target: Target, part: DataPart | undefined): Promise<{ hessians: Map<string, LayerHessian>; samples: number; ms: number }> {
  // (the samples compress calibrates on: the recipe written gives the bytes measured)
  const samples = part ? calibrationSamples(part) : [];
  if (samples.length === 0) throw new AppError('invalid-argument', '--recovery gptq learns from real inputs: give calibration samples with --samples DIR|FILE (its calibration part, --calibration N)');
  const t0 = performance.now();
  startGptqNative(startGptqThreads()?.memory);
  const run = await ortRunModel();
  const hessians = await collectHessians(model, recoveryLayers(model, makeRecipe(target, { weights: 'int8', recovery: 'gptq' })), samples, run);
  // wide layers' factors through onnxruntime, as compress takes them (kept for every candidate): the recipe written gives the bytes measured
  for (const h of hessians.values()) if (h.h.length > 0) await prepareFactors(h.h, h.cols, run, undefined, true);
  return { hessians, samples: samples.length, ms: performance.now() - t0 };
}

function latencySummary(s: NonNullable<ExplorePoint['sideBySide']>, calibration: string): NonNullable<AutotuneReport['latency']> {
  return { runtime: NODE_RUNTIME, chosenMs: s.ms, originalMs: s.originalMs, speedup: speedUp(s.originalMs, s.ms) ?? NaN, finalists: s.finalists, rounds: SIDE_BY_SIDE_ROUNDS, calibration };
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
    ...(r.recovery ? [`Recovery: gptq in every candidate; H of ${r.recovery.layers} layers' inputs on ${r.recovery.samples} calibration samples (${(r.recovery.ms / 1000).toFixed(1)} s); ${r.recovery.solves.solved} layer solves, ${r.recovery.solves.reused} reused`] : []),
    `Sensitivity: ${r.sensitivity.length} candidates in ${(r.sensitivityMs / 1000).toFixed(1)} s; search: ${(r.searchMs / 1000).toFixed(1)} s; ${r.measured} models measured in all`,
    '',
    `Configuration                 ${r.sizeBasis === 'stored' ? 'file size     ' : 'transfer size '}           metric`,
    row(r.original),
    ...r.uniform.map(row),
    ...(r.uniformRtn ?? []).map(row),
    '',
    `Chosen (${'maxSize' in r.goal ? `size <= ${(r.goal.maxSize * 100).toFixed(1)}%` : `${r.goal.fastest ? 'fastest on wasm with ' : ''}metric >= ${r.goal.minMetric}`}):`,
    row(r.chosen),
    ...(r.latency ? latencyLines(r.latency) : []),
    `Recipe written to ${out}`,
  ];
}

function latencyLines(l: NonNullable<AutotuneReport['latency']>): string[] {
  return [
    `  ${l.calibration}`,
    `  time: ${l.chosenMs.toFixed(3)} ms vs the original's ${l.originalMs.toFixed(3)} ms: speed-up ${l.speedup.toFixed(2)}x (original / compressed, > 1 faster; ${speedUpWords(l.speedup)})`,
    `  timed in ${l.runtime}, not in a browser: ${l.finalists} finalists side by side (one warm-up each, ${l.rounds} alternating rounds, medians, the original last); onnxruntime-web's wasm kernels differ (measure there with bench:web-speed or the Explore tab)`,
  ];
}

export async function autotuneCommand(args: AutotuneArgs): Promise<string[]> {
  const r = await autotune(args);
  return args.json ? [JSON.stringify(r, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)] : formatAutotune(r, args.out);
}
