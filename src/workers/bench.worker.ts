/**
 * A bench worker: prepares the inputs (prepare), or runs one model on one backend (run). The
 * client starts a fresh worker for every run (see bench-api.ts). Heavy work only; the metric
 * and latency code is src/bench, shared with the CLI.
 */
import { expose, transfer } from 'comlink';
import { errorMessage, isAppError } from '../core/errors';
import { compareRuns, measureModel } from '../bench/evaluate';
import { imageToTensor } from '../bench/image';
import { classIndexByFolder, parseLabeledCsv, parseLabeledJson, type LabeledSet } from '../bench/labeled';
import { inputsFromJsonObject, inputsFromNpyFile, parseJsonText } from '../bench/parse-inputs';
import { cpuFallbacks, describeFailure } from '../bench/ort-log';
import { planInputs } from '../bench/plan';
import type { BenchTensor } from '../bench/tensor';
import { loadModel } from '../onnx/load';
import { summarizeModel, type IoSummary } from '../onnx/summary';
import { AppError } from '../core/errors';
import type {
  BackendAvailability,
  BenchJob,
  BenchWorkerApi,
  DataSource,
  ImagePrep,
  JobProgress,
  JobResult,
  PairedJob,
  PairedResult,
  PreparedBench,
  PrepareRequest,
  WorkerResult,
} from './bench-api';
import { encodeCompressed } from './compress-run';
import { loadOrt, loadOrtWebgl, wasmThreads, type Ort } from './ort';
import { webRunSession, type OrtSession } from './ort-session';
import { probeModelBytes } from './runtime-probe';

// ---------------------------------------------------------------------------------------------
// Peak memory: onnxruntime's wasm memory, found by watching WebAssembly.Memory objects being
// made (threaded builds make theirs in JS) or exported. Wasm memory never shrinks, so its size
// after the runs is the peak. Installed before onnxruntime is loaded.

const memories = new Set<WebAssembly.Memory>();
(() => {
  const W = WebAssembly as unknown as Record<string, unknown>;
  const Memory = WebAssembly.Memory;
  W.Memory = new Proxy(Memory, {
    construct(target, args, newTarget) {
      const m = Reflect.construct(target, args, newTarget) as WebAssembly.Memory;
      memories.add(m);
      return m;
    },
  });
  const capture = <T>(r: T): T => {
    const inst = ((r as { instance?: WebAssembly.Instance }).instance ?? r) as WebAssembly.Instance;
    for (const v of Object.values(inst.exports ?? {})) if (v instanceof Memory) memories.add(v);
    return r;
  };
  for (const key of ['instantiate', 'instantiateStreaming'] as const) {
    const orig = WebAssembly[key] as unknown as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (typeof orig === 'function') W[key] = (...a: unknown[]) => orig.apply(WebAssembly, a).then(capture);
  }
})();

function wasmBytes(): number | undefined {
  if (memories.size === 0) return undefined;
  let n = 0;
  for (const m of memories) n += m.buffer.byteLength;
  return n;
}

// Console capture: onnxruntime's wasm module binds console methods when it loads, so they are
// wrapped here, before that, and send lines to `consoleSink` while a capture is on.
let consoleSink: string[] | undefined;
for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[m].bind(console);
  console[m] = (...a: unknown[]) => {
    if (consoleSink) consoleSink.push(a.map(String).join(' '));
    else original(...a);
  };
}

// ---------------------------------------------------------------------------------------------
// Availability

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

async function webgpuAvailability(): Promise<{ available: boolean; detail: string }> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { available: false, detail: 'WebGPU: this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, detail: 'WebGPU: no adapter (GPU blocked or disabled)' };
    const i = adapter.info;
    const name = [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ');
    return { available: true, detail: `adapter${name ? `: ${name}` : ' found'}` };
  } catch (e) {
    return { available: false, detail: `WebGPU: adapter request failed: ${errorMessage(e)}` };
  }
}

function webglAvailability(): { available: boolean; detail: string } {
  if (typeof OffscreenCanvas === 'undefined') return { available: false, detail: 'WebGL: no OffscreenCanvas in workers here' };
  try {
    const canvas = new OffscreenCanvas(1, 1);
    if (canvas.getContext('webgl2')) return { available: true, detail: 'WebGL 2 context' };
    if (canvas.getContext('webgl')) return { available: true, detail: 'WebGL 1 context' };
    return { available: false, detail: 'WebGL: no context (GPU blocked or disabled)' };
  } catch (e) {
    return { available: false, detail: `WebGL: ${errorMessage(e)}` };
  }
}

async function probe(): Promise<BackendAvailability[]> {
  const threads = wasmThreads();
  const isolated = Boolean(globalThis.crossOriginIsolated);
  return [
    { backend: 'wasm-1', available: true, detail: 'wasm, 1 thread', threads: 1 },
    {
      backend: 'wasm-n',
      available: isolated && threads > 1,
      detail: !isolated
        ? 'wasm threads need cross-origin isolation (the page is not isolated)'
        : threads > 1
          ? `wasm, ${threads} threads`
          : 'this machine reports 1 core: no second thread',
      threads,
    },
    { backend: 'webgl', ...webglAvailability() },
    { backend: 'webgpu', ...(await webgpuAvailability()) },
  ];
}

// ---------------------------------------------------------------------------------------------
// Inputs

type Failure = Extract<WorkerResult<never>, { ok: false }>;

function failure(e: unknown): Failure {
  return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
}

async function bytesOf(f: Blob): Promise<Uint8Array> {
  return new Uint8Array(await f.arrayBuffer());
}

function relativePath(f: File): string {
  return (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
}

async function decodeImage(file: File, prep: ImagePrep): Promise<Float32Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new AppError('invalid-argument', `${relativePath(file)} is not an image this browser can decode`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new AppError('unsupported', 'no 2D canvas in this worker to read image pixels');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return imageToTensor(data, bitmap.width, bitmap.height, prep);
  } finally {
    bitmap.close();
  }
}

const IMAGE_EXT = /\.(png|jpe?g|gif|bmp|webp|avif)$/i;

async function imagesSource(files: File[], prep: ImagePrep, inputs: IoSummary[]): Promise<{ labeled?: LabeledSet; sets?: BenchTensor[][] }> {
  const images = files.filter((f) => IMAGE_EXT.test(f.name)).sort((a, b) => (relativePath(a) < relativePath(b) ? -1 : 1));
  if (images.length === 0) throw new AppError('invalid-argument', 'no images among the chosen files (.png, .jpg, .gif, .bmp, .webp)');
  if (inputs.length !== 1) throw new AppError('unsupported', `images feed one-input models; this one has ${inputs.length} inputs`);
  const io = inputs[0];
  const sampleDims = prep.layout === 'NCHW' ? [prep.channels, prep.height, prep.width] : [prep.height, prep.width, prep.channels];
  const per = prep.channels * prep.height * prep.width;
  const data = new Float32Array(per * images.length);
  for (const [i, f] of images.entries()) data.set(await decodeImage(f, prep), i * per);
  const folders = images.map((f) => relativePath(f).split('/').slice(0, -1));
  const labeledByFolder = folders.every((p) => p.length >= 2);
  if (labeledByFolder) {
    const classOf = folders.map((p) => p[p.length - 1]);
    const { classNames, index } = classIndexByFolder(classOf);
    const labels = Int32Array.from(classOf, (c) => index.get(c)!);
    return { labeled: { source: `${images.length} images in ${classNames.length} class folders`, inputName: io.name, sampleDims, classNames, labels, data } };
  }
  const sets = images.map((_, i) => [{ name: io.name, dtype: 'float32' as const, dims: [1, ...sampleDims], data: data.slice(i * per, (i + 1) * per) }]);
  return { sets };
}

async function filesSource(files: File[], inputs: IoSummary[]): Promise<{ labeled?: LabeledSet; sets?: BenchTensor[][] }> {
  if (files.length === 0) throw new AppError('invalid-argument', 'no input files chosen');
  if (files.length === 1) {
    const f = files[0];
    const lower = f.name.toLowerCase();
    if (lower.endsWith('.csv')) return { labeled: parseLabeledCsv(f.name, new TextDecoder().decode(await bytesOf(f)), inputs) };
    if (lower.endsWith('.json')) {
      const json = parseJsonText(f.name, await bytesOf(f));
      const labeled = Array.isArray(json) || (json !== null && typeof json === 'object' && 'labels' in json);
      if (labeled) return { labeled: parseLabeledJson(f.name, json, inputs) };
      return { sets: [inputsFromJsonObject(f.name, json, inputs)] };
    }
  }
  const sets: BenchTensor[][] = [];
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const lower = f.name.toLowerCase();
    if (lower.endsWith('.npy')) sets.push(inputsFromNpyFile(f.name, await bytesOf(f), inputs));
    else if (lower.endsWith('.json')) sets.push(inputsFromJsonObject(f.name, parseJsonText(f.name, await bytesOf(f)), inputs));
    else throw new AppError('invalid-argument', `${f.name}: give input sets as .npy or .json files (or one labeled .json / .csv)`);
  }
  return { sets };
}

async function sampleSource(inputs: IoSummary[]): Promise<{ labeled: LabeledSet }> {
  const url = new URL(`${import.meta.env.BASE_URL}sample/digits-test.json`, globalThis.location.origin);
  const res = await fetch(url);
  if (!res.ok) throw new AppError('io', `The sample's labeled set could not be loaded (HTTP ${res.status}).`);
  return { labeled: parseLabeledJson('digits-test.json', parseJsonText('digits-test.json', new Uint8Array(await res.arrayBuffer())), inputs) };
}

async function dataFrom(source: DataSource, inputs: IoSummary[]): Promise<{ labeled?: LabeledSet; sets?: BenchTensor[][] }> {
  switch (source.kind) {
    case 'synthetic':
      return {};
    case 'sample-labeled':
      return sampleSource(inputs);
    case 'files':
      return filesSource(source.files, inputs);
    case 'images':
      return imagesSource(source.files, source.prep, inputs);
  }
}

async function prepare(req: PrepareRequest): Promise<PreparedBench> {
  const files = await Promise.all(req.files.map(async (f) => ({ name: f.name, bytes: await bytesOf(f) })));
  const loaded = loadModel(files);
  const inputs = summarizeModel(loaded).inputs;
  const data = await dataFrom(req.source, inputs);
  const plan = planInputs(inputs, { dimValues: req.dimValues, ...data, repeat: req.repeat, labeledBatch: req.labeledBatch });
  const originalBytes = loaded.external ? encodeCompressed(loaded.model, loaded.external) : files.find((f) => f.name === loaded.fileName)!.bytes;
  const original = originalBytes.slice().buffer as ArrayBuffer;
  const compressed = await req.compressed.arrayBuffer();
  return {
    inputs,
    plan,
    original,
    compressed,
    originalFileBytes: files.reduce((n, f) => n + f.bytes.length, 0),
    compressedFileBytes: req.compressed.size,
    classNames: data.labeled?.classNames ?? [],
  };
}

// ---------------------------------------------------------------------------------------------
// Running one model on one backend

/** Console output during `f`: onnxruntime's wasm log goes to console methods bound when it loads (see the top of this file). */
async function withConsoleCapture<T>(f: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  consoleSink = lines;
  try {
    return { value: await f(), lines };
  } finally {
    consoleSink = undefined;
  }
}

async function run(job: BenchJob, onProgress?: (p: JobProgress) => void): Promise<JobResult> {
  const base: JobResult = { backend: job.backend, model: job.model, ok: false };
  if (job.backend === 'webgpu') {
    const a = await webgpuAvailability();
    if (!a.available) return { ...base, error: a.detail };
  }
  if (job.backend === 'webgl') {
    const a = webglAvailability();
    if (!a.available) return { ...base, error: a.detail };
  }
  void onProgress?.({ phase: 'load', done: 0, total: 1 });
  let ort: Ort;
  try {
    ort = job.backend === 'webgl' ? await loadOrtWebgl() : await loadOrt(job.backend === 'wasm-1' ? 1 : wasmThreads());
  } catch (e) {
    return { ...base, error: describeFailure(job.backend, `onnxruntime-web did not load: ${errorMessage(e)}`) };
  }
  const ep = job.backend === 'wasm-1' || job.backend === 'wasm-n' ? 'wasm' : job.backend;
  // onnxruntime's own start-up (wasm instance, threads, GPU device) is not the model's session time
  try {
    const warm = await ort.InferenceSession.create(probeModelBytes(), { executionProviders: [ep] });
    await warm.release();
  } catch {
    // the model's own session creation below reports the reason
  }
  let session: OrtSession | undefined;
  try {
    const verbose = job.backend === 'webgpu';
    const t0 = performance.now();
    const created = await withConsoleCapture(async () => {
      if (verbose) ort.env.logLevel = 'verbose';
      try {
        return await ort.InferenceSession.create(new Uint8Array(job.bytes), {
          executionProviders: [ep],
          ...(verbose ? { logSeverityLevel: 0 as const, logVerbosityLevel: 0 } : {}),
        });
      } finally {
        ort.env.logLevel = 'error';
      }
    });
    const sessionMs = performance.now() - t0;
    session = created.value;
    const fallback = verbose ? cpuFallbacks(created.lines) : undefined;
    const measured = await measureModel(webRunSession(ort, session), job.plan, { onProgress: (p) => void onProgress?.(p) });
    const heap = job.backend === 'webgl' ? undefined : wasmBytes();
    let accuracy: JobResult['accuracy'];
    if (measured.accuracy) {
      const { predictions: _predictions, ...rest } = measured.accuracy;
      accuracy = rest;
    }
    const result: JobResult = {
      ...base,
      ok: true,
      sessionMs,
      firstRunMs: measured.firstRunMs,
      latency: measured.latency,
      stop: measured.stop,
      ...(accuracy ? { accuracy } : {}),
      ...(job.model === 'original' ? { outputs: measured.outputs } : {}),
      ...(job.reference ? { fidelity: compareRuns(job.reference, measured.outputs) } : {}),
      wasmPeakBytes: heap,
      memoryNote:
        job.backend === 'webgl'
          ? 'n/a: WebGL memory is not exposed'
          : heap === undefined
            ? 'n/a: the wasm memory was not found'
            : job.backend === 'webgpu'
              ? 'wasm heap only; GPU memory is not exposed'
              : undefined,
      ...(fallback ? { cpuFallbackNodes: fallback.nodes, placementLogged: fallback.logged, placementLog: fallback.log } : {}),
    };
    return result;
  } catch (e) {
    return { ...base, error: describeFailure(job.backend, errorMessage(e)) };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

/** Side-by-side rounds: at least PAIRED_MIN, then until PAIRED_MS have passed, at most PAIRED_MAX. */
const PAIRED_MIN = 6;
const PAIRED_MAX = 40;
const PAIRED_MS = 6000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Both models in one worker, timed in alternating runs on the latency inputs: each round runs
 * the original and the compressed model once (the order alternating), and the speed-up is the
 * median of the rounds' ratios. Separate workers measured one after the other can differ by
 * tens of percent on a busy machine (the same file measured 247 and 397 ms in two workers);
 * side by side, both see the same conditions.
 */
async function paired(job: PairedJob): Promise<PairedResult> {
  const ort = job.backend === 'webgl' ? await loadOrtWebgl() : await loadOrt(job.backend === 'wasm-1' ? 1 : wasmThreads());
  const ep = job.backend === 'wasm-1' || job.backend === 'wasm-n' ? 'wasm' : job.backend;
  const sessions: OrtSession[] = [];
  try {
    for (const bytes of [job.original, job.compressed]) sessions.push(await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: [ep] }));
    const [a, b] = sessions.map((s) => webRunSession(ort, s));
    const feeds = job.plan.latencyInputs;
    await a.run(feeds);
    await b.run(feeds);
    const ta: number[] = [];
    const tb: number[] = [];
    const ratios: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < PAIRED_MAX && (i < PAIRED_MIN || performance.now() - t0 < PAIRED_MS); i++) {
      let x: number;
      let y: number;
      if (i % 2 === 0) {
        x = (await a.run(feeds)).ms;
        y = (await b.run(feeds)).ms;
      } else {
        y = (await b.run(feeds)).ms;
        x = (await a.run(feeds)).ms;
      }
      ta.push(x);
      tb.push(y);
      if (y > 0) ratios.push(x / y);
    }
    return { speedup: median(ratios), rounds: ta.length, originalMs: median(ta), compressedMs: median(tb) };
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}

const api: BenchWorkerApi = {
  probe,
  async prepare(req) {
    try {
      const value = await prepare(req);
      return transfer({ ok: true, value }, [value.original, value.compressed]);
    } catch (e) {
      return failure(e);
    }
  },
  async run(job, onProgress) {
    try {
      return { ok: true, value: await run(job, onProgress) };
    } catch (e) {
      return failure(e);
    }
  },
  async paired(job) {
    try {
      return { ok: true, value: await paired(job) };
    } catch (e) {
      return failure(e);
    }
  },
};

expose(api);
