/**
 * A bench worker: prepares the inputs (prepare), or runs one model on one backend (run); each plans
 * the inputs itself, from the samples it asks the data worker for (src/workers/data-port.ts). The
 * client starts a fresh worker for every run (see bench-api.ts). Browser work only (reading
 * files, decoding images, onnxruntime-web); the data, metric, latency and side-by-side code is
 * src/bench, shared with the CLI.
 */
import { errorMessage } from '../core/errors';
import { adapterName } from './gpu-adapter';
import { compareRuns, measureModel } from '../bench/evaluate';
import { cpuFallbacks, describeFailure, failureContext, type FailureContext } from '../bench/ort-log';
import { decodeModel } from '../onnx/codec';
import { pairedRounds } from '../bench/paired';
import { planInputs, type InputPlan } from '../bench/plan';
import type { DataPart } from '../bench/data-load';
import { fetchDataParts } from './data-port';
import type {
  BackendAvailability,
  BenchJob,
  BenchWorkerApi,
  JobProgress,
  JobResult,
  PairedJob,
  PairedResult,
  PlanRequest,
  PreparedBench,
  PrepareRequest,
} from './bench-api';
import { reportDecodes } from './kit/debug';
import { serve, withTransfer, type Handlers } from './kit/serve';
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
    const name = adapterName(adapter.info);
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

/**
 * The inputs `req` names, planned here: the samples asked for over its port from the data worker
 * (not the page), else random inputs (seeded: every worker plans the same). Closes the port.
 */
async function planOf(req: PlanRequest, signal: AbortSignal): Promise<{ plan: InputPlan; data: DataPart }> {
  let data: DataPart = {};
  try {
    if (req.samples) {
      const { port, ...ref } = req.samples;
      data = (await fetchDataParts(port, ref, signal)).part;
    }
  } finally {
    req.samples?.port.close();
  }
  return { plan: planInputs(req.inputs, { dimValues: req.dimValues, ...data, repeat: req.repeat, labeledBatch: req.labeledBatch }), data };
}

async function prepare(req: PrepareRequest, signal: AbortSignal): Promise<PreparedBench> {
  const { plan, data } = await planOf(req, signal);
  return {
    description: plan.description,
    ...(plan.labeled ? { labeledCount: plan.labeled.set.labels.length } : {}),
    compressed: await req.compressed.arrayBuffer(),
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

async function run(job: BenchJob, onProgress: (p: JobProgress) => void, signal: AbortSignal): Promise<JobResult> {
  // the inputs first: a data set the data worker no longer holds fails the call (not one backend)
  const { plan } = await planOf(job.plan, signal);
  const base: JobResult = { backend: job.backend, model: job.model, ok: false };
  if (job.backend === 'webgpu') {
    const a = await webgpuAvailability();
    if (!a.available) return { ...base, error: a.detail };
  }
  if (job.backend === 'webgl') {
    const a = webglAvailability();
    if (!a.available) return { ...base, error: a.detail };
  }
  onProgress({ phase: 'load', done: 0, total: 1 });
  let ort: Ort;
  try {
    ort = job.backend === 'webgl' ? await loadOrtWebgl() : await loadOrt(job.backend === 'wasm-1' ? 1 : wasmThreads());
  } catch (e) {
    const f = describeFailure(job.backend, `onnxruntime-web did not load: ${errorMessage(e)}`);
    return { ...base, error: f.summary, errorRaw: f.raw };
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
    const measured = await measureModel(webRunSession(ort, session), plan, { onProgress });
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
      warmUpMs: measured.warmUpMs,
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
    const f = describeFailure(job.backend, errorMessage(e), job.backend === 'webgl' ? refusalContext(job, session) : {});
    return { ...base, error: f.summary, errorRaw: f.raw };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

/**
 * What WebGL's refusal may name (onnxruntime-web names no node for a subgraph or a data type): the
 * model is decoded here, once, only after WebGL refused it (counted in the decode log).
 */
function refusalContext(job: BenchJob, session: OrtSession | undefined): FailureContext {
  try {
    return failureContext(decodeModel(new Uint8Array(job.bytes), { name: `${job.model} (naming a WebGL refusal)` }), session?.inputNames);
  } catch {
    return session ? { inputNames: session.inputNames } : {};
  }
}

/** Both models in one worker, timed in alternating runs (src/bench/paired.ts). */
async function paired(job: PairedJob, signal: AbortSignal): Promise<PairedResult> {
  const { plan } = await planOf(job.plan, signal);
  const ort = job.backend === 'webgl' ? await loadOrtWebgl() : await loadOrt(job.backend === 'wasm-1' ? 1 : wasmThreads());
  const ep = job.backend === 'wasm-1' || job.backend === 'wasm-n' ? 'wasm' : job.backend;
  const sessions: OrtSession[] = [];
  try {
    for (const bytes of [job.original, job.compressed]) sessions.push(await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: [ep] }));
    const [a, b] = sessions.map((s) => webRunSession(ort, s));
    return await pairedRounds(a, b, plan.latencyInputs);
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}

const handlers: Handlers<BenchWorkerApi> = {
  probe: () => probe(),
  async prepare(ctx, req) {
    const value = await prepare(req, ctx.signal);
    return withTransfer(value, [value.compressed]);
  },
  run: (ctx, job) => run(job, ctx.progress, ctx.signal),
  paired: (ctx, job) => paired(job, ctx.signal),
};

reportDecodes('bench');
serve(handlers);
