/**
 * `eval ORIGINAL COMPRESSED [--samples DIR|FILE] [--dims name=N,...] [--threads N] [--json]`:
 * fidelity of the compressed model against the original on the same inputs, labeled accuracy
 * when the samples carry labels, and a latency comparison, in onnxruntime-node, with the same
 * bench code (src/bench) and the same input plan as the page's Benchmark tab.
 */
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { sideBySideTimes, speedUpWords, type SideBySideTimes } from '../core/speedup';
import { DEFAULT_SIDE_BY_SIDE, NATIVE_WARM_UP, timeSideBySide } from '../bench/latency';
import { measureModel, compareRuns, ortRunSession, type ModelRun, type RunSession } from '../bench/evaluate';
import type { LabeledSet } from '../bench/labeled';
import { DECISION_THRESHOLD, NEAR_ZERO, type OutputFidelity } from '../bench/metrics';
import { planInputs, type InputPlan } from '../bench/plan';
import type { BenchTensor } from '../bench/tensor';
import { externalReferences } from '../onnx/external';
import { summarizeModel, type IoSummary } from '../onnx/summary';
import { loadModelFromPath } from './fs-model';
import { dimGuess, inputSpecs, symbolicDims } from '../bench/inputs';
import { splitData, type DataPart } from '../bench/data-load';
import { descriptionFromFlags, loadDataFed, type DataFlags } from './data';
import { readFileBytes } from './samples';

export interface EvalArgs extends DataFlags {
  original: string;
  compressed: string;
  threads?: number;
  maxRuns?: number;
  maxSeconds?: number;
  json?: boolean;
}

export interface EvalModelReport {
  file: string;
  bytes: number;
  sessionMs: number;
  firstRunMs: number;
  /** the untimed warm-up runs after the first run (each run's ms; src/bench/latency.ts warmUp) */
  warmUpMs: number[];
  latency: ModelRun['latency'];
  stop: ModelRun['stop'];
  accuracy?: { correct: number; total: number; accuracy: number; output: string };
}

export interface EvalReport {
  runtime: string;
  inputs: string;
  /** what --samples held and how it was prepared and split */
  data?: string;
  original: EvalModelReport;
  compressed: EvalModelReport;
  /**
   * original time / compressed time (> 1 is faster): the median of the per-round ratios of both
   * models timed side by side (src/core/speedup.ts), the figure the Benchmark tab shows too
   */
  speedup: number;
  /** the side-by-side rounds: the original's median and that median / speed-up */
  sideBySide: SideBySideTimes;
  /** compressed bytes / original bytes */
  sizeRatio: number;
  fidelity: OutputFidelity[];
}


/**
 * What onnxruntime-node opens for a model file, and its inputs: the file's bytes, or, when it has
 * external data, its path (onnxruntime reads the data files beside it, checked here first: no
 * copy inline, and no 2 GB limit on the pair).
 */
function modelSource(file: string): { source: Uint8Array | string; size: number; inputs: IoSummary[]; outputs: IoSummary[] } {
  const loaded = loadModelFromPath(file);
  try {
    const summary = summarizeModel(loaded);
    const ext = externalReferences(loaded.model).length > 0;
    return { source: ext ? path.resolve(file) : readFileBytes(file), size: loaded.fileSize + summary.externalBytes, inputs: summary.inputs, outputs: summary.outputs };
  } finally {
    loaded.external.close();
  }
}

/**
 * Sizes for synthesized inputs: the user's, a batch dim 1, a dim whose name says its size (an
 * image side 224, a sequence 32 …) with a line saying it was guessed; any other symbolic dim must
 * be given: never run a model at a size nobody chose.
 */
function synthesizedDims(inputs: readonly IoSummary[], given: Record<string, number>): { samples: { labeled?: LabeledSet; sets?: BenchTensor[][] }; dimValues: Record<string, number>; line?: string } {
  const guessed: string[] = [];
  const dimValues = { ...given };
  for (const d of symbolicDims(inputSpecs(inputs))) {
    if (given[d.name] !== undefined) continue;
    const axis0 = d.usedBy.every((u) => u.endsWith('[0]'));
    const g = dimGuess(d.name.replace(/\[\d+\]$/, ''));
    if (g.basis === 'batch' || (g.basis === 'none' && axis0)) dimValues[d.name] = 1;
    else if (g.basis === 'name') {
      dimValues[d.name] = g.value;
      guessed.push(`${d.name}=${g.value}`);
    } else {
      throw new AppError(
        'invalid-argument',
        `the size of dim "${d.name}" (${d.usedBy.join(', ')}) is not fixed by the model and its name says nothing of it; give --dims ${d.name}=N, or real inputs with --samples`,
      );
    }
  }
  return {
    samples: {},
    dimValues,
    ...(guessed.length ? { line: `random inputs; sizes guessed from the dims' names: ${guessed.join(', ')} (set them with --dims)` } : { line: 'random inputs' }),
  };
}

/**
 * The input sets eval and autotune measure on: `--samples` read with the data description (the
 * evaluation part when a split is asked for), and the sizes of symbolic dims.
 */
export async function evaluationData(
  flags: DataFlags,
  io: { inputs: readonly IoSummary[]; outputs: readonly IoSummary[] },
  model: Uint8Array | string,
): Promise<{ samples: { labeled?: LabeledSet; sets?: BenchTensor[][] }; dimValues: Record<string, number>; line?: string; calibration?: DataPart }> {
  const description = descriptionFromFlags(flags);
  if (flags.samples === undefined) return synthesizedDims(io.inputs, description.dims);
  const data = await loadDataFed(flags.samples, description, io, model);
  const { evaluation, calibration, line } = splitData(data);
  return { samples: evaluation, dimValues: { ...description.dims, ...data.dims }, line: `${data.summary}; ${line}`, calibration };
}

type OrtModule = typeof Ort;

/** An onnxruntime-node session as a RunSession (src/bench/evaluate.ts ortRunSession). */
export function nodeSession(ort: OrtModule, session: Ort.InferenceSession): RunSession {
  return ortRunSession(ort.Tensor, session);
}

/** A session over a model's bytes, or over its path (a model with external data beside it). */
function openSession(ort: OrtModule, source: Uint8Array | string, threads: number): Promise<Ort.InferenceSession> {
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  return typeof source === 'string' ? ort.InferenceSession.create(source, options) : ort.InferenceSession.create(source, options);
}

async function measure(ort: OrtModule, file: string, source: Uint8Array | string, size: number, plan: InputPlan, threads: number): Promise<{ report: EvalModelReport; run: ModelRun }> {
  const t0 = performance.now();
  let session: Ort.InferenceSession;
  try {
    session = await openSession(ort, source, threads);
  } catch (e) {
    throw new AppError('invalid-argument', `${path.basename(file)}: onnxruntime-node cannot load it: ${e instanceof Error ? e.message : String(e)}`);
  }
  const sessionMs = performance.now() - t0;
  try {
    let run: ModelRun;
    try {
      // (onnxruntime-node is compiled ahead of time: no browser warm-up phase to wait out)
      run = await measureModel(nodeSession(ort, session), { ...plan, warmUp: NATIVE_WARM_UP });
    } catch (e) {
      if (e instanceof AppError) throw e;
      const why = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
      throw new AppError(
        'invalid-argument',
        `${path.basename(file)}: onnxruntime-node could not run it on ${plan.description}: ${why}. ` +
          'Set the input sizes with --dims NAME=N (see `npm run cli -- inspect` for the input names) or give real inputs with --samples.',
      );
    }
    const a = run.accuracy;
    return {
      run,
      report: {
        file,
        bytes: size,
        sessionMs,
        firstRunMs: run.firstRunMs,
        warmUpMs: run.warmUpMs,
        latency: run.latency,
        stop: run.stop,
        ...(a ? { accuracy: { correct: a.correct, total: a.total, accuracy: a.accuracy, output: a.output } } : {}),
      },
    };
  } finally {
    await session.release();
  }
}

/** Both models loaded at once and timed in alternating runs (src/bench/latency.ts timeSideBySide). */
async function sideBySideNode(ort: OrtModule, files: [Uint8Array | string, Uint8Array | string], plan: InputPlan, threads: number, args: EvalArgs): Promise<SideBySideTimes> {
  const sessions: Ort.InferenceSession[] = [];
  try {
    for (const source of files) sessions.push(await openSession(ort, source, threads));
    const [a, b] = sessions.map((s) => nodeSession(ort, s));
    await a.run(plan.latencyInputs);
    await b.run(plan.latencyInputs);
    const once = (s: RunSession) => async () => (await s.run(plan.latencyInputs)).ms;
    // --max-runs and --max-seconds cap the side-by-side rounds too
    const caps = {
      ...(args.maxRuns !== undefined ? { maxRounds: Math.min(DEFAULT_SIDE_BY_SIDE.maxRounds, Math.max(1, args.maxRuns)) } : {}),
      ...(args.maxSeconds !== undefined ? { minMs: Math.min(DEFAULT_SIDE_BY_SIDE.minMs, args.maxSeconds * 1000) } : {}),
    };
    return sideBySideTimes(await timeSideBySide(once(a), once(b), caps));
  } finally {
    for (const s of sessions) await s.release();
  }
}

export async function evaluatePair(args: EvalArgs): Promise<EvalReport> {
  const original = modelSource(args.original);
  const compressed = modelSource(args.compressed);
  const names = (l: IoSummary[]) => l.map((i) => `${i.name}:${i.dtype}`).join(',');
  if (names(original.inputs) !== names(compressed.inputs)) {
    throw new AppError('invalid-argument', `the models' inputs differ (${names(original.inputs)} vs ${names(compressed.inputs)}); eval compares two versions of one model`);
  }
  const data = await evaluationData(args, original, original.source);
  const repeat = {
    ...(args.maxRuns !== undefined ? { maxRuns: args.maxRuns } : {}),
    ...(args.maxSeconds !== undefined ? { maxMs: args.maxSeconds * 1000 } : {}),
  };
  const plan = planInputs(original.inputs, { dimValues: data.dimValues, ...data.samples, repeat });
  const ort = await import('onnxruntime-node');
  const threads = args.threads ?? 1;
  const a = await measure(ort, args.original, original.source, original.size, plan, threads);
  const b = await measure(ort, args.compressed, compressed.source, compressed.size, plan, threads);
  const side = await sideBySideNode(ort, [original.source, compressed.source], plan, threads, args);
  return {
    runtime: `onnxruntime-node, cpu, ${threads} thread${threads === 1 ? '' : 's'}`,
    inputs: plan.description,
    ...(data.line ? { data: data.line } : {}),
    original: a.report,
    compressed: b.report,
    speedup: side.speedup,
    sideBySide: side,
    sizeRatio: b.report.bytes / a.report.bytes,
    fidelity: compareRuns(a.run.outputs, b.run.outputs),
  };
}

const ms = (v: number) => (v >= 100 ? `${v.toFixed(0)} ms` : v >= 1 ? `${v.toFixed(2)} ms` : `${(v * 1000).toFixed(0)} µs`);
const db = (v: number) => (v === Infinity ? 'inf (identical)' : `${v.toFixed(2)} dB`);
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

export function formatEval(r: EvalReport): string[] {
  const lines: string[] = [];
  lines.push(`Runtime: ${r.runtime}`);
  if (r.data) lines.push(`Data: ${r.data}`);
  lines.push(`Inputs: ${r.inputs}`);
  lines.push('');
  lines.push('Latency              original        compressed');
  const row = (label: string, a: string, b: string) => `${label.padEnd(20)} ${a.padEnd(15)} ${b}`;
  lines.push(row('file size', formatBytes(r.original.bytes), `${formatBytes(r.compressed.bytes)} (${(r.sizeRatio * 100).toFixed(1)}%)`));
  lines.push(row('session creation', ms(r.original.sessionMs), ms(r.compressed.sessionMs)));
  lines.push(row('first run', ms(r.original.firstRunMs), ms(r.compressed.firstRunMs)));
  lines.push(row('median (own run)', ms(r.original.latency.medianMs), ms(r.compressed.latency.medianMs)));
  lines.push(row('p90', ms(r.original.latency.p90Ms), ms(r.compressed.latency.p90Ms)));
  lines.push(row('p99', ms(r.original.latency.p99Ms), ms(r.compressed.latency.p99Ms)));
  lines.push(row('throughput', `${r.original.latency.throughputPerS.toFixed(0)}/s`, `${r.compressed.latency.throughputPerS.toFixed(0)}/s`));
  lines.push(row('runs', `${r.original.latency.runs} (${r.original.stop})`, `${r.compressed.latency.runs} (${r.compressed.stop})`));
  lines.push(row('warm-up runs', String(r.original.warmUpMs.length), `${r.compressed.warmUpMs.length} (after the first run, until runs stop getting faster; not timed)`));
  const side = r.sideBySide;
  lines.push(row(`side by side`, ms(side.originalMs), `${ms(side.compressedMs)} (original / speed-up)`));
  lines.push(
    `speed-up: ${r.speedup.toFixed(2)}x (${speedUpWords(r.speedup)}; original time / compressed time, the median of ${side.rounds} side-by-side rounds' ratios; ` +
      'the "own run" medians come from separate runs one after the other)',
  );
  if (r.original.accuracy && r.compressed.accuracy) {
    lines.push('');
    const acc = (a: NonNullable<EvalModelReport['accuracy']>) => `${a.correct}/${a.total} = ${pct(a.accuracy)}`;
    lines.push(`Accuracy (output ${r.original.accuracy.output}): original ${acc(r.original.accuracy)}, compressed ${acc(r.compressed.accuracy)}`);
  }
  lines.push('');
  lines.push('Fidelity of the compressed model against the original (worst / mean over input sets)');
  for (const f of r.fidelity) {
    lines.push(`  ${f.output} (${f.rows} ${f.kind === 'map' ? 'pixels' : 'rows'} of ${f.classes}, ${f.sets} sets)`);
    if (f.kind === 'scalar') {
      // one value per sample (src/bench/metrics.ts): decisions at 0.5, and a cosine over all samples
      lines.push(`    agreement at ${DECISION_THRESHOLD}  ${f.top1.agree}/${f.top1.rows} = ${pct(f.top1.rate)} (worst set ${pct(f.top1.worst)})`);
      lines.push(`    cosine            ${f.cosine.worst.toFixed(6)} (over all ${f.rows} samples)`);
      lines.push(`    SQNR              ${db(f.sqnrDb.worst)} / ${db(f.sqnrDb.mean)}`);
    } else if (f.kind === 'map') {
      // a dense map (src/bench/metrics.ts): a row is a pixel; cosine and SQNR per set (an image)
      lines.push(`    agreement         ${f.top1.agree}/${f.top1.rows} = ${pct(f.top1.rate)} (${f.agreesOn}; worst set ${pct(f.top1.worst)})`);
      lines.push(`    cosine            ${f.cosine.worst.toFixed(6)} / ${f.cosine.mean.toFixed(6)}`);
      lines.push(`    SQNR              ${db(f.sqnrDb.worst)} / ${db(f.sqnrDb.mean)}`);
    } else if (f.kind === 'near-zero') {
      lines.push(`    top-1 agreement   ${f.top1.agree}/${f.top1.rows} = ${pct(f.top1.rate)}`);
      lines.push(`    cosine            n/a: both outputs are ~0 (every |value| <= ${NEAR_ZERO}); the abs error is the figure`);
    } else {
      lines.push(`    top-1 agreement   ${f.top1.agree}/${f.top1.rows} = ${pct(f.top1.rate)} (worst set ${pct(f.top1.worst)})`);
      lines.push(`    cosine            ${f.cosine.worst.toFixed(6)} / ${f.cosine.mean.toFixed(6)} (worst single row ${f.rowCosine.worst.toFixed(6)})`);
      lines.push(`    SQNR              ${db(f.sqnrDb.worst)} / ${db(f.sqnrDb.mean)}`);
      lines.push(`    KL (${f.kl.basis === 'softmax' ? 'softmax of logits' : 'probabilities'})  ${f.kl.worst.toExponential(3)} / ${f.kl.mean.toExponential(3)} nats`);
    }
    lines.push(`    max abs error     ${f.maxAbsError.worst.toPrecision(4)} / ${f.maxAbsError.mean.toPrecision(4)}`);
    lines.push(`    mean abs error    ${f.meanAbsError.worst.toPrecision(4)} / ${f.meanAbsError.mean.toPrecision(4)}`);
    if (f.nonFinite > 0) lines.push(`    non-finite values ${f.nonFinite}`);
  }
  return lines;
}

export async function evalCommand(args: EvalArgs): Promise<string[]> {
  const r = await evaluatePair(args);
  return args.json ? [JSON.stringify(r, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)] : formatEval(r);
}
