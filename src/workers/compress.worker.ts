/**
 * The compress worker: a dedicated thread for compression, so the model worker stays free for
 * the graph and the page stays responsive. It holds the open model, handed over once by the
 * model worker (a snapshot: no second decode). A thin kit `serve` over compress-run.ts, plus a
 * check that runs the original and the result on onnxruntime-web's backends.
 */
import { AppError, errorMessage, isAppError } from '../core/errors';
import { webRunModel } from './web-run-model';
import { adapterName, type AdapterInfoLike } from './gpu-adapter';
import { collectCalibration, synthesizeSamples, type Calibration, type Sample } from '../compress/activations/calibrate';
import { usesFloat16Compute } from '../compress/fp16/compute';
import { externalReferences, inlineExternalData } from '../onnx/external';
import { decodeModel, encodeModel, MAX_MESSAGE_BYTES } from '../onnx/codec';
import type { LoadedModel } from '../onnx/load';
import { fromSnapshot } from '../onnx/snapshot';
import type { IoSummary } from '../onnx/summary';
import { partAsSamples, partCount, type DataPart } from '../bench/data-load';
import { fetchDataParts } from './data-port';
import type { HessianSource } from '../compress/recovery/hessian';
import { mapSource, recoverySource } from '../compress/recovery/sequential';
import { dataFreeRecovery } from '../compress/recovery/bn-stats';
import { recoveryLayers, recoveryModes, withoutRecovery } from '../compress/recovery/plan';
import { CHECK_SAMPLES, checkNote, checkRecovery, halfOutputs, originalOutputsCache, probabilityOutputs } from '../compress/recovery/check';
import type {
  BackendCheck,
  CompressData,
  CompressModel,
  CompressOutput,
  CompressOutputOptions,
  CompressProgress,
  CompressProgressCallback,
  CompressWorkerApi,
  Recipe,
  SessionRun,
  VerifyBackend,
  VerifyReport,
} from './compress-api';
import { compareRuns, type OutputValues } from '../bench/evaluate';
import { worstCosine } from '../bench/metrics';
import { synthesizeInputs } from '../bench/inputs';
import type { BenchTensor } from '../bench/tensor';
import { BLOB_PART_BYTES, blobOfPieces, finishCompression, finishCompressionStreaming, prepareLoaded, type Prepared, type RunResult } from './compress-run';
import { receiveHandover, receiveHandoverLazily, syncBlobReader } from './read-files';
import { reportChunks, reportDecodes, reportParts } from './kit/debug';
import { serve, withTransfer, type Handlers, type Transferred } from './kit/serve';
import { loadOrt, loadOrtCpu, type Ort } from './ort';
import { webRunSession } from './ort-session';
import { throttled } from './compress-progress';
import { recoveryFraction } from './compress-fraction';
import { startGptqThreads } from './gptq-threads';

/** The buffer of exactly these bytes (the encoder may hand back a view into a larger one). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

// ---------------------------------------------------------------------------------------------
// Running the original and the result on onnxruntime-web

type Outputs = OutputValues[];

interface GpuLike {
  requestAdapter(): Promise<{ features?: { has(name: string): boolean }; info?: AdapterInfoLike } | null>;
}

async function backendAvailable(backend: VerifyBackend): Promise<{ available: boolean; detail: string; shaderF16?: boolean }> {
  if (backend === 'wasm') return { available: true, detail: `wasm, ${globalThis.crossOriginIsolated ? 'threaded' : '1 thread'}` };
  const gpu = (globalThis.navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { available: false, detail: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, detail: 'no WebGPU adapter (GPU blocked or disabled)' };
    const shaderF16 = adapter.features?.has('shader-f16') === true;
    const name = adapterName(adapter.info);
    return { available: true, detail: `WebGPU adapter found${name ? ` (${name})` : ''}, ${shaderF16 ? 'with' : 'without'} shader-f16`, shaderF16 };
  } catch (e) {
    return { available: false, detail: `WebGPU adapter request failed: ${errorMessage(e)}` };
  }
}

async function runSession(
  ort: Ort,
  bytes: Uint8Array,
  backend: VerifyBackend,
  sets: BenchTensor[][],
  externalData?: { path: string; data: Uint8Array },
  /** stop after `min` sets once the timed runs took `ms` (the caller then uses the sets that ran) */
  budget?: { ms: number; min: number },
): Promise<{ run: SessionRun; outputs?: Outputs[] }> {
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>> | undefined;
  try {
    const t0 = performance.now();
    session = await ort.InferenceSession.create(bytes.slice(), {
      executionProviders: [backend],
      ...(externalData ? { externalData: [{ path: externalData.path, data: externalData.data.slice() }] } : {}),
    });
    const loadMs = performance.now() - t0;
    const runner = webRunSession(ort, session);
    // one untimed run first: kernels set up and weights are packed on the first run (integer
    // kernels especially), which is not what a run costs afterwards
    const warm = sets.length > 0 ? await runner.run(sets[0]) : undefined;
    // a warm-up that took the whole budget (WebGPU on a software adapter: 30 s a 640x640 detector
    // run) is not run again: its outputs stand for the first set, its time is said as a first run's
    if (warm && budget && budget.min <= 1 && warm.ms >= budget.ms) return { run: { ok: true, loadMs, runMs: warm.ms, firstRunOnly: true }, outputs: [warm.outputs] };
    const outputs: Outputs[] = [];
    let total = 0;
    const t1 = performance.now();
    for (const set of sets) {
      if (budget && outputs.length >= budget.min && performance.now() - t1 >= budget.ms) break;
      const r = await runner.run(set);
      total += r.ms;
      outputs.push(r.outputs);
    }
    return { run: { ok: true, loadMs, runMs: total / Math.max(1, outputs.length) }, outputs };
  } catch (e) {
    return { run: { ok: false, error: errorMessage(e).replace(/^Unexpected error: /, '') } };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

/** Worst cosine (none when every output is ~0: src/bench/metrics.ts worstCosine) and max abs error over outputs and input sets. */
function compare(a: Outputs[], b: Outputs[]): { cosine?: number; maxAbsDiff: number } {
  try {
    const f = compareRuns(a, b);
    return {
      cosine: worstCosine(f),
      maxAbsDiff: Math.max(...f.map((o) => o.maxAbsError.worst)),
    };
  } catch {
    return { cosine: 0, maxAbsDiff: Infinity };
  }
}

/**
 * The data with its samples fetched from the data worker (`part`: the part asked for; `check`:
 * the first evaluation samples beside the calibration part).
 */
type GivenData = Omit<CompressData, 'samples'> & { part?: DataPart; check?: DataPart };

/** Fetches the samples `data` names over its port (from the data worker, not the page); without samples, none. */
async function fetched(data: CompressData | undefined, signal: AbortSignal): Promise<GivenData | undefined> {
  if (!data) return undefined;
  const { samples, ...rest } = data;
  if (!samples) return rest;
  const { port, ...ref } = samples;
  const parts = await fetchDataParts(port, ref, signal);
  return { ...rest, part: parts.part, ...(parts.check ? { check: parts.check } : {}) };
}

/** random input sets when no data is given; and the fewest evaluation samples the check runs */
const VERIFY_SETS = 4;
/**
 * With the user's data: up to VERIFY_MAX evaluation samples, as many as the original runs on wasm
 * in VERIFY_BUDGET_MS (at least VERIFY_SETS). Four samples ranked two recovery settings the wrong
 * way round on a real CNN (mnv3: all 12 ranked them the other way); a small model runs all 32 in a
 * fraction of a second, a large one stops at the budget and the line says how many of how many.
 */
const VERIFY_MAX = 32;
const VERIFY_BUDGET_MS = 3000;

/** The part's samples as input sets in the model's input order (labeled rows one sample each). */
function partAsSets(part: DataPart, inputs: IoSummary[]): BenchTensor[][] {
  return partAsSamples(part).flatMap((byName) => {
    const set = inputs.map((io) => byName[io.name]);
    return set.every((t) => t !== undefined) ? [set] : [];
  });
}

async function verify(
  originalBuffer: ArrayBuffer,
  inputs: IoSummary[],
  compressed: Blob,
  backends: VerifyBackend[],
  compressedData?: { name: string; blob: Blob },
  data?: GivenData,
  /** the time budget of each backend's runs (VERIFY_BUDGET_MS; a test sets a small one) */
  budgetMs = VERIFY_BUDGET_MS,
): Promise<VerifyReport> {
  const offered = data?.part ? partAsSets(data.part, inputs) : [];
  let given = offered.slice(0, VERIFY_MAX);
  let sets = given.length > 0 ? given : Array.from({ length: VERIFY_SETS }, (_, k) => synthesizeInputs(inputs, 1000 + k, data?.dims ?? {}));
  // self-contained already (the model worker inlined any external data)
  const original = new Uint8Array(originalBuffer);
  if (compressed.size + (compressedData?.blob.size ?? 0) > MAX_MESSAGE_BYTES) {
    throw new AppError(
      'too-large',
      'The compressed model is over 2 GB with its data file: the runtime check runs it on onnxruntime-web, whose WebAssembly memory holds at most 4 GB and whose data file would be one buffer (at most 2 GB here). Export it and run it with the CLI (npm run cli -- eval ORIGINAL COMPRESSED).',
    );
  }
  const result = new Uint8Array(await compressed.arrayBuffer());
  const halfCompute = usesFloat16Compute(decodeModel(result, { name: 'compressed.onnx' }));
  const resultData = compressedData && { path: compressedData.name, data: new Uint8Array(await compressedData.blob.arrayBuffer()) };
  // wasm on the CPU-only build (the one recovery ran on in this worker: its heap is reused), WebGPU on the build that has it
  const ortFor = (backend: VerifyBackend) => (backend === 'wasm' ? loadOrtCpu() : loadOrt());
  const checks: BackendCheck[] = [];
  let reference: Outputs[] | undefined;
  let counted = false;
  // wasm first: it is the reference the other backends are compared to
  const order = [...new Set<VerifyBackend>(['wasm', ...backends])];
  for (const backend of order) {
    const { shaderF16, ...availability } = await backendAvailable(backend);
    const check: BackendCheck = {
      backend,
      ...availability,
      original: { ok: false, error: 'not run' },
      compressed: { ok: false, error: 'not run' },
    };
    if (availability.available) {
      // the first run (wasm) decides how many of the user's samples fit the budget; the rest use
      // those, each stopping at the same budget (WebGPU on a software adapter ran 32 samples of a
      // text recognizer at 3.7 s each: 4 minutes for a check): they then compare on the first ones
      const first = !counted && given.length > 0;
      counted = true;
      const ort = await ortFor(backend);
      const budget = first ? { ms: budgetMs, min: VERIFY_SETS } : backend === 'wasm' ? undefined : { ms: budgetMs, min: 1 };
      const orig = await runSession(ort, original, backend, sets, undefined, budget);
      if (first && orig.outputs && orig.outputs.length < sets.length) {
        given = given.slice(0, orig.outputs.length);
        sets = given;
      }
      const ran = orig.outputs && orig.outputs.length < sets.length ? sets.slice(0, orig.outputs.length) : sets;
      if (ran !== sets) check.sets = { ran: ran.length, of: sets.length, seconds: budgetMs / 1000 };
      // Measured on a WebGPU adapter without shader-f16 (SwiftShader): onnxruntime-web 1.30 runs a
      // float16 graph without an error and returns wrong values (cosine 0.0). Say so instead.
      const comp =
        backend === 'webgpu' && halfCompute && !shaderF16
          ? { run: { ok: false, error: 'float16 compute needs the WebGPU feature shader-f16, which this adapter lacks (onnxruntime-web would run it with wrong results); not run' } }
          : backend === 'webgpu' && !orig.run.ok
            ? // a WebGPU session that failed leaves onnxruntime's WebGPU backend in this worker broken:
              // the compressed model's own error would be a knock-on one ("not allowed to be called recursively")
              { run: { ok: false, error: 'not run: WebGPU refused the original model (its error beside); the compressed model has the same operators' } }
            : await runSession(ort, result, backend, ran, resultData);
      check.original = orig.run;
      check.compressed = comp.run;
      if (backend === 'wasm') reference = orig.outputs;
      if (comp.outputs && orig.outputs) check.cosineVsOriginal = compare(orig.outputs, comp.outputs).cosine;
      if (comp.outputs && reference) {
        const c = compare(reference.slice(0, comp.outputs.length), comp.outputs);
        check.cosineVsReference = c.cosine;
        check.maxAbsDiff = c.maxAbsDiff;
      }
    }
    if (backends.includes(backend)) checks.push(check);
  }
  const shapes = sets[0].map((t) => `${t.name} ${t.dtype}[${t.dims.join(', ')}]`).join(', ');
  const what =
    given.length === 0
      ? `${VERIFY_SETS} random input sets (${shapes})${data?.guessed ? `; ${data.guessed}` : ''}`
      : given.length < offered.length
        ? `the first ${given.length} of ${offered.length} evaluation samples of your data (${shapes})${given.length < VERIFY_MAX ? `, as many as the original ran in ${budgetMs / 1000} s` : ''}; Compare scores all ${offered.length}`
        : `${given.length} evaluation sample${given.length === 1 ? '' : 's'} of your data (${shapes})`;
  return { inputs: `${what}; reference: the original on wasm`, random: given.length === 0, backends: checks };
}

/** Input sets synthesized for calibration in the page when no data is given (random N(0, 1)). */
const CALIBRATION_SETS = 8;

/**
 * Activation ranges for the layers that ask for int8 activations, from CALIBRATION_SETS random
 * input sets run on onnxruntime-web's wasm backend. Where inputs cannot be synthesized (not
 * float32) or the model does not run on them, no ranges: those layers stay weights-only and the
 * returned note says why.
 */
async function calibrate(prepared: Prepared, signal: AbortSignal, data: GivenData | undefined): Promise<{ calibration?: Calibration; note?: string }> {
  const { loaded } = prepared;
  let samples: Sample[];
  const given = data?.part ? partAsSamples(data.part) : [];
  if (given.length > 0) samples = given;
  else {
    try {
      samples = synthesizeSamples(loaded.model, { count: CALIBRATION_SETS, dims: data?.dims ?? {} });
    } catch (e) {
      if (isAppError(e)) return { note: `int8 activations: no calibration (${e.message}); give data in the Data tab` };
      throw e;
    }
  }
  const source = given.length > 0 ? 'samples' : 'synthesized';
  let self: ReturnType<typeof selfContained>;
  try {
    self = selfContained(loaded);
  } catch (e) {
    // a model over 2 GB cannot be one file for onnxruntime-web: those layers stay weights-only
    if (isAppError(e) && e.code === 'too-large') return { note: `int8 activations: no calibration (${e.message})` };
    throw e;
  }
  const { run, release } = await webRunModel();
  try {
    const calibration = await collectCalibration(self, samples, run, { source, signal });
    return {
      calibration,
      note: given.length > 0 ? `int8 activations: calibrated on ${given.length} calibration samples of ${dataName(data)}` : 'int8 activations: calibrated on random inputs (no data given in the Data tab): the ranges describe random data, not yours',
    };
  } catch (e) {
    if (isAppError(e) && e.code === 'aborted') throw e;
    return { note: `int8 activations: calibration did not run on ${source === 'samples' ? 'your calibration samples' : 'random inputs'} (${errorMessage(e)})` };
  } finally {
    await release();
  }
}

function selfContained(loaded: LoadedModel) {
  return externalReferences(loaded.model).length > 0 && loaded.external ? inlineExternalData(loaded.model, loaded.external) : loaded.model;
}

/**
 * What the data is, for a note: the Data tab's summary up to its first clause ("24 images, each
 * input float32[1, 3, 224, 224] (…)"), without what it says about labels or other inputs, which a
 * note about calibration would carry mid-sentence (new-user try).
 */
function dataName(data: GivenData | undefined): string {
  return data?.line.split('; ')[0] || 'your data';
}

/** The samples recovery's check runs: the evaluation part where it is held out, else the calibration part. */
function checkSamples(data: GivenData, calibration: DataPart): [Sample[], 'calibration' | 'evaluation'] {
  const held = data.check ? partAsSamples(data.check) : [];
  return held.length > 0 ? [held, 'evaluation'] : [partAsSamples(calibration), 'calibration'];
}

/** The original model's outputs on the check's samples, kept for the next Compress of the same model on the same data (its first check runs it). */
const originalOutputs = originalOutputsCache();

/** The recovered result, or round to nearest's when the model's outputs came out further from the original (recovery/check.ts). */
async function checkedRecovery(
  prepared: Prepared,
  recovered: RunResult,
  rtn: RunResult,
  [samples, basis]: [Sample[], 'calibration' | 'evaluation'],
  signal: AbortSignal,
  progress: CompressProgressCallback,
  /** the model and the data as the page keys them (held model, data worker's samples); undefined: nothing kept */
  keys: { model: number; data: number } | undefined,
): Promise<RunResult> {
  const { run, release } = await webRunModel();
  try {
    const onProgress = (done: number, total: number) => progress({ stage: 'check', done, total, layerKey: '', finished: [] });
    const original = keys ? originalOutputs(`${keys.model}/${keys.data}/${basis}`) : undefined;
    const check = await checkRecovery(encodeModel(selfContained(prepared.loaded)), rtn.bytes, recovered.bytes, samples, run, basis, probabilityOutputs(prepared.loaded.model), halfOutputs(prepared.loaded.model), { signal, onProgress, ...(original ? { original } : {}) });
    const chosen = check.keep ? recovered : rtn;
    chosen.report.notes.push(checkNote(check, recoveryModes(prepared.recipe)));
    return chosen;
  } finally {
    await release();
  }
}

/**
 * Where the layers the recipe asks to recover get H of their inputs: the Data tab's calibration
 * part, collected in passes as compression reaches the layers (recovery/sequential.ts
 * recoverySource; sequential rounds first, here); without data none, or BatchNorm statistics
 * (each layer that cannot recover keeps round-to-nearest and its row says why). `release` frees
 * the runtime once compression is done.
 */
async function recoverySourceFor(
  prepared: Prepared,
  data: GivenData | undefined,
  calibration: Calibration | undefined,
  signal: AbortSignal,
  onProgress: (done: number, total: number, rounds: number) => void,
  onPass: (pass: number, passes: number, done: number, total: number) => void,
): Promise<{ source?: HessianSource; note: string; release?: () => Promise<void> }> {
  const samples = data?.part ? partAsSamples(data.part) : [];
  if (samples.length === 0) {
    // recovery "bias" from BatchNorm statistics (data-free); gptq needs the Data tab's samples
    const free = dataFreeRecovery(prepared.loaded.model, recoveryLayers(prepared.loaded.model, prepared.recipe));
    const gptq = free.needsSamples ? 'recovery gptq: no calibration samples (give data in the Data tab): round to nearest kept' : '';
    return { ...(free.means.size > 0 ? { source: mapSource(free.means) } : {}), note: [gptq, free.note].filter((x) => x).join('; ') };
  }
  const { run, release } = await webRunModel();
  // GPTQ's rows on helper threads too, where the page can (they start while the statistics run)
  startGptqThreads();
  try {
    const { loaded } = prepared;
    // done and total count samples over every round: the rounds are total / samples
    const perRound = (done: number, total: number) => onProgress(done, total, Math.max(1, Math.round(total / samples.length)));
    const r = await recoverySource(loaded.model, loaded.external, prepared.recipe, samples, run, { signal, onProgress: perRound, onPass, ...(calibration ? { calibration } : {}) });
    return { source: r.source, release, note: `recovery ${r.rounds > 1 ? 'sequential' : 'gptq'}: layer inputs from ${samples.length} calibration samples of ${dataName(data)}, ${r.note}` };
  } catch (e) {
    await release();
    if (isAppError(e) && e.code === 'aborted') throw e;
    return { note: didNotRun(e) };
  }
}

const didNotRun = (e: unknown) => `recovery gptq: the model did not run on the calibration samples (${errorMessage(e)}): round to nearest kept`;

/** The source with its failures kept: a take that throws (not a cancel) is `failed`, and throws on. */
function watched(source: HessianSource): { source: HessianSource; failed: () => unknown } {
  let failure: unknown;
  return {
    failed: () => failure,
    source: {
      count: source.count,
      plan: (keys) => source.plan(keys),
      release: (key) => source.release(key),
      take: async (key) => {
        try {
          return await source.take(key);
        } catch (e) {
          if (!(isAppError(e) && e.code === 'aborted')) failure = e;
          throw e;
        }
      },
    },
  };
}

/** The result's data file as a Blob of parts made as its pieces are read; the parts are reported on the debug channel. */
function resultBlob(data: NonNullable<RunResult['data']>, signal: AbortSignal, partBytes: number | undefined): { name: string; blob: Blob } {
  const made = blobOfPieces(data.pieces(), { signal, ...(partBytes !== undefined ? { partBytes } : {}) });
  reportParts('compress', data.name, made.parts, partBytes ?? BLOB_PART_BYTES);
  return { name: data.name, blob: made.blob };
}

/** The model this worker holds (handed over once per open), by the page's key. */
let held: { key: number; loaded: LoadedModel; originalBytes: number } | undefined;

const handlers: Handlers<CompressWorkerApi> = {
  async compress(ctx, model, recipe, data, output = {}) {
    try {
      return await compress(ctx.signal, ctx.progress, model, recipe, data, output);
    } finally {
      // a call that did not ask for its samples (stale model, no calibration or recovery in the recipe) lets the data worker's end go
      data?.samples?.port.close();
    }
  },

  verify: async (ctx, original, inputs, compressed, backends, compressedData, data, budgetMs) => {
    try {
      return await verify(original, inputs, compressed, backends, compressedData, await fetched(data, ctx.signal), budgetMs);
    } finally {
      data?.samples?.port.close();
    }
  },
};

async function compress(
  signal: AbortSignal,
  report: CompressProgressCallback,
  model: CompressModel,
  recipe: Recipe,
  data: CompressData | undefined,
  output: CompressOutputOptions,
): Promise<Transferred<CompressOutput>> {
  const shown = throttled(report);
  // with recovery on data: the whole job's fraction, from every report (before they are thinned)
  let fraction: ((p: CompressProgress) => number) | undefined;
  const progress: CompressProgressCallback = (p) => shown(fraction ? { ...p, fraction: fraction(p) } : p);
  progress({ stage: 'read', done: 0, total: 0, layerKey: '', finished: [] });
  const t0 = performance.now();
  if (model.snapshot) {
    // the data files held in chunks come as Blobs: read here by offset, a tensor at a time, where
    // the thread can read a Blob synchronously (FileReaderSync), else in chunks
    const read = syncBlobReader();
    const snapshot = read ? receiveHandoverLazily(model.snapshot, read) : await receiveHandover(model.snapshot, signal);
    reportChunks('compress', snapshot.data);
    const loaded = fromSnapshot(snapshot);
    held = { key: model.key, loaded, originalBytes: loaded.fileSize + snapshot.data.reduce((n, f) => n + f.bytes.length, 0) };
  }
  if (!held || held.key !== model.key) throw new AppError('invalid-argument', 'stale: the compress worker does not hold this model');
  const readMs = performance.now() - t0;
  const options: { signal: AbortSignal; onProgress: CompressProgressCallback; now: () => number; singleFileLimit?: number } = { signal, onProgress: progress, now: () => performance.now(), ...(output.singleFileLimit !== undefined ? { singleFileLimit: output.singleFileLimit } : {}) };
  progress({ stage: 'parse', done: 0, total: 0, layerKey: '', finished: [] });
  const prepared = prepareLoaded(held.loaded, held.originalBytes, recipe);
  // the samples come from the data worker now, only when the recipe uses them
  const given = prepared.wantsCalibration || prepared.wantsRecovery ? await fetched(data, signal) : undefined;
  let calibrated: { calibration?: Calibration; note?: string } = {};
  if (prepared.wantsCalibration) {
    progress({ stage: 'calibrate', done: 0, total: 0, layerKey: '', finished: [] });
    calibrated = await calibrate(prepared, signal, given);
  }
  let recovered: { source?: HessianSource; note?: string; release?: () => Promise<void> } = {};
  if (prepared.wantsRecovery && given && partCount(given.part) > 0) {
    const held = partCount(given.check);
    fraction = recoveryFraction({ samples: partCount(given.part), check: Math.min(CHECK_SAMPLES, held > 0 ? held : partCount(given.part)) });
  }
  if (prepared.wantsRecovery) {
    progress({ stage: 'recover', done: 0, total: 0, layerKey: '', finished: [] });
    // the layer compression is at, for the passes of layer-input statistics that run before their layers
    let at = { done: 0, total: 0, layerKey: '' };
    // (a pass done: the layers' GPTQ runs next, said as the layer line again)
    const onPass = (pass: number, passes: number, done: number, total: number) =>
      progress({ stage: 'compress', ...at, finished: [], ...(done < total ? { inputs: { pass, passes, done, total } } : {}) });
    const onLayer = (p: CompressProgress) => {
      if (p.stage === 'compress') at = { done: p.done, total: p.total, layerKey: p.layerKey };
      progress(p);
    };
    recovered = await recoverySourceFor(prepared, given, calibrated.calibration, signal, (done, total, rounds) => progress({ stage: 'recover', done, total, layerKey: '', finished: [], rounds }), onPass);
    options.onProgress = onLayer;
  }
  const withCalibration = { ...options, ...(calibrated.calibration ? { calibration: calibrated.calibration } : {}) };
  let r: RunResult;
  const releaseRun = recovered.release;
  const streamed = recovered.source && recovered.source.count > 0 ? watched(recovered.source) : undefined;
  try {
    r = streamed ? await finishCompressionStreaming(prepared, streamed.source, withCalibration) : finishCompression(prepared, withCalibration);
  } catch (e) {
    // the model did not run on the calibration samples (a pass of statistics failed): round to nearest, said
    if (!streamed?.failed()) throw e;
    r = finishCompression({ ...prepared, recipe: withoutRecovery(prepared.recipe), wantsRecovery: false }, withCalibration);
    recovered = { note: didNotRun(streamed.failed()) };
  } finally {
    await releaseRun?.();
  }
  if (streamed && recovered.source && !r.data && given?.part) {
    // round to nearest's model for the check, its layers not reported again (the bar would go back)
    const { onProgress: _shown, ...quiet } = withCalibration;
    r = await checkedRecovery(prepared, r, finishCompression({ ...prepared, recipe: withoutRecovery(prepared.recipe), wantsRecovery: false }, quiet), checkSamples(given, given.part), signal, progress, data?.samples ? { model: model.key, data: data.samples.key } : undefined);
  }
  if (calibrated.note) r.report.notes.push(calibrated.note);
  if (recovered.note) r.report.notes.push(recovered.note);
  const bytes = ownBuffer(r.bytes);
  // the data file as a Blob of parts made as its pieces are read (a tensor of a data file held in
  // chunks is read from its Blob then): never one buffer (it may pass 2 GiB), never held twice,
  // and a Blob crosses to the page without a copy
  const t4 = performance.now();
  const written = r.data && resultBlob(r.data, signal, output.partBytes);
  const value: CompressOutput = {
    fileName: r.fileName,
    originalBytes: r.originalBytes,
    bytes,
    ...(written ? { data: written } : {}),
    report: r.report,
    timings: { readMs, ...r.timings, encodeMs: r.timings.encodeMs + (performance.now() - t4) },
  };
  return withTransfer(value, [bytes]);
}

reportDecodes('compress');
serve(handlers);
