/**
 * onnxruntime-web's WebGPU execution provider in Node, on Dawn (the npm package `webgpu`,
 * dawn.node): an original model against its compressed variants (issue #15, target webgpu).
 * Bundled by build-carry.sh into one .mjs that runs with a plain `node` (no tsx, no
 * node_modules) on the device machine; README.md says how.
 *
 *   node bench.mjs --ort DIR --webgpu DIR/index.js --model ORIGINAL.onnx --variant NAME=FILE.onnx ...
 *                  [--runs 30] [--warmup 5] [--max-seconds 60] [--cpu-ref PATH/onnxruntime-node]
 *                  [--dawn toggle,toggle] [--out RESULT.json]
 *
 * For the original and every variant: a WebGPU session (its verbose placement log parsed by
 * the studio's own `cpuFallbacks`), a CPU session (onnxruntime-node when --cpu-ref resolves,
 * else onnxruntime-web's wasm EP, one thread), one seeded N(0, 1) input set for all. Fidelity:
 * each variant on WebGPU against the original on WebGPU and on the CPU, and against itself on
 * the CPU (isolates the WebGPU kernels from the quantization error); the original on WebGPU
 * against the CPU. Latency: `warmup` runs each, then rounds in which every model runs once, in
 * a rotating order; the median over the rounds (outputs are read back to the CPU, as a page
 * does). The adapter's info and features (shader-f16) come first.
 */
import fs, { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type * as OrtWeb from 'onnxruntime-web';
import { cpuFallbacks } from '../../src/bench/ort-log';
import { cosine } from '../../src/core/vector';

type Ort = typeof OrtWeb;
type Session = OrtWeb.InferenceSession;
type Feeds = Record<string, OrtWeb.Tensor>;

interface DawnModule {
  create(flags: string[]): { requestAdapter(o?: object): Promise<GpuAdapter | null> };
  globals: Record<string, unknown>;
}
interface GpuAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  features: Iterable<string>;
}

const args = process.argv.slice(2);
const opt = (name: string, dflt?: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const all = (name: string): string[] => args.flatMap((a, i) => (a === name && i + 1 < args.length ? [args[i + 1]] : []));
const need = (name: string): string => {
  const v = opt(name);
  if (!v) throw new Error(`missing ${name}`);
  return v;
};

const RUNS = Number(opt('--runs', '30'));
const WARMUP = Number(opt('--warmup', '5'));
const MAX_SECONDS = Number(opt('--max-seconds', '60'));

function log(s: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Seeded N(0, 1) (mulberry32 + Box-Muller): the same inputs on every machine. */
function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  return out;
}

/** Console and stdout/stderr lines written while f runs (onnxruntime's verbose log lands there). */
async function capture<T>(f: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const con = console as unknown as Record<string, (...a: unknown[]) => void>;
  const saved = ['log', 'info', 'warn', 'error', 'debug'].map((k) => [k, con[k]] as const);
  for (const [k] of saved) con[k] = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const sink = ((chunk: string | Uint8Array) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = sink;
  process.stderr.write = sink;
  // onnxruntime-web's Emscripten module prints with fs.writeSync(1 | 2, text), looked up per call
  const writeSync = fs.writeSync;
  fs.writeSync = ((fd: number, data: unknown, ...rest: unknown[]) => {
    if ((fd === 1 || fd === 2) && typeof data === 'string') {
      lines.push(data);
      return data.length;
    }
    return (writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  }) as typeof fs.writeSync;
  try {
    return { value: await f(), lines };
  } finally {
    for (const [k, fn] of saved) con[k] = fn;
    process.stdout.write = out;
    process.stderr.write = err;
    fs.writeSync = writeSync;
  }
}

function floatData(t: { data: unknown; type: string }): Float32Array | undefined {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof Float64Array || d instanceof Int32Array) return Float32Array.from(d);
  const F16 = (globalThis as { Float16Array?: abstract new () => ArrayLike<number> }).Float16Array;
  if (F16 && d instanceof F16) return Float32Array.from(d as ArrayLike<number>);
  return undefined;
}

type Outputs = Record<string, Float32Array>;

async function runOnce(s: Session, feeds: Feeds): Promise<Outputs> {
  const r = await s.run(feeds);
  const out: Outputs = {};
  for (const [k, v] of Object.entries(r)) {
    const f = floatData(v as unknown as { data: unknown; type: string });
    if (f) out[k] = f;
    v.dispose?.();
  }
  return out;
}

interface Fidelity {
  cosine: number;
  maxAbsDiff: number;
  /** largest |reference| (scale for maxAbsDiff) */
  maxAbsRef: number;
  nonFinite: number;
  allZero: boolean;
}

function compare(ref: Outputs, got: Outputs): Fidelity | { error: string } {
  let worst: Fidelity | undefined;
  for (const [k, a] of Object.entries(ref)) {
    const b = got[k];
    if (!b || b.length !== a.length) return { error: `output ${k}: ${b ? `${b.length} values, expected ${a.length}` : 'missing'}` };
    let maxAbs = 0;
    let maxRef = 0;
    let nonFinite = 0;
    let allZero = true;
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(b[i])) nonFinite++;
      else maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
      maxRef = Math.max(maxRef, Math.abs(a[i]));
      if (b[i] !== 0) allZero = false;
    }
    const f: Fidelity = { cosine: cosine(a, b), maxAbsDiff: maxAbs, maxAbsRef: maxRef, nonFinite, allZero };
    if (!worst || !(f.cosine >= worst.cosine)) worst = f;
  }
  return worst ?? { error: 'no float outputs' };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

interface CpuRunner {
  label: string;
  run(bytes: Uint8Array, feeds: Feeds): Promise<Outputs>;
}

async function cpuRunner(ort: Ort): Promise<CpuRunner> {
  const path = opt('--cpu-ref');
  if (path) {
    try {
      const node = (await import(pathToFileURL(path).href)) as { default?: Ort } & Ort;
      const o = node.default ?? node;
      return {
        label: 'onnxruntime-node (CPU)',
        async run(bytes, feeds) {
          const s = await o.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 4 });
          const f: Feeds = {};
          for (const [k, t] of Object.entries(feeds)) f[k] = new o.Tensor('float32', t.data as Float32Array, t.dims);
          try {
            return await runOnce(s, f);
          } finally {
            await s.release();
          }
        },
      };
    } catch (e) {
      log(`onnxruntime-node not loaded (${errorText(e)}): the CPU reference is onnxruntime-web's wasm EP`);
    }
  }
  return {
    label: 'onnxruntime-web wasm EP (CPU, 1 thread)',
    async run(bytes, feeds) {
      const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      try {
        return await runOnce(s, feeds);
      } finally {
        await s.release();
      }
    },
  };
}

interface GpuQueueLike {
  writeBuffer(buffer: unknown, offset: number, data: unknown, dataOffset?: number, size?: number): void;
}

/**
 * onnxruntime-web's wasm memory is a SharedArrayBuffer in Node (the threaded build), and
 * dawn.node's writeBuffer refuses views on one ("no overload matched for writeBuffer"): such data
 * is copied to a plain ArrayBuffer first (weights at session creation, inputs per run; both
 * models of a comparison pay it alike). Browsers accept shared views, so pages need no copy.
 */
function shareableWriteBuffer(queue: { prototype: GpuQueueLike }): void {
  const p = queue.prototype;
  const write = p.writeBuffer;
  p.writeBuffer = function (this: GpuQueueLike, buffer, offset, data, dataOffset, size) {
    let d = data;
    if (ArrayBuffer.isView(d) && d.buffer instanceof SharedArrayBuffer) {
      const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      const T = d.constructor as new (b: ArrayBuffer) => ArrayBufferView;
      d = d instanceof DataView ? new DataView(copy.buffer) : new T(copy.buffer);
    } else if (d instanceof SharedArrayBuffer) {
      const copy = new Uint8Array(d.byteLength);
      copy.set(new Uint8Array(d));
      d = copy.buffer;
    }
    return dataOffset === undefined ? write.call(this, buffer, offset, d) : write.call(this, buffer, offset, d, dataOffset, size);
  };
}

interface ModelEntry {
  name: string;
  file: string;
  bytes: Uint8Array;
  session?: Session;
  sessionMs?: number;
  error?: string;
  cpuFallbackNodes?: string[];
  placementLogged?: boolean;
  placementLog?: string[];
  times: number[];
  gpuOut?: Outputs;
  cpuOut?: Outputs;
  cpuError?: string;
  /** WebGPU validation errors printed while the session was created (shaders that do not compile) */
  webgpuErrors?: string[];
}

type Result = Record<string, unknown>;

/** Dawn's WebGPU as the page's navigator.gpu; the adapter's info and features go to the result. */
async function setupGpu(result: Result): Promise<GpuAdapter | undefined> {
  const dawn = (await import(pathToFileURL(need('--webgpu')).href)) as DawnModule;
  Object.assign(globalThis, dawn.globals);
  shareableWriteBuffer(dawn.globals.GPUQueue as { prototype: GpuQueueLike });
  const flags = (opt('--dawn', '') ?? '').split(',').filter(Boolean);
  const gpu = dawn.create(flags);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node', hardwareConcurrency: 1 }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  const features = [...adapter.features].sort();
  const info = adapter.info ?? {};
  result.adapter = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, features, shaderF16: features.includes('shader-f16') };
  log(`adapter: ${JSON.stringify(result.adapter)}`);
  return adapter;
}

/** onnxruntime-web as the studio loads it (JSEP: ort.min.mjs + ort-wasm-simd-threaded.jsep.wasm), one thread. */
async function loadOrtWeb(adapter: GpuAdapter): Promise<Ort> {
  const ortDir = need('--ort').replace(/\/?$/, '/');
  const ort = (await import(pathToFileURL(ortDir + (opt('--ort-file', 'ort.min.mjs') ?? '')).href)) as Ort & { default?: Ort };
  const o: Ort = ort.default ?? ort;
  o.env.wasm.wasmPaths = ortDir;
  o.env.wasm.numThreads = 1;
  o.env.wasm.proxy = false;
  o.env.logLevel = 'error';
  o.env.webgpu.adapter = adapter as unknown as GPUAdapterLike;
  o.env.webgpu.powerPreference = 'high-performance';
  return o;
}

/** Seeded N(0, 1) feeds for the session's inputs (symbolic dims as 1). */
function makeFeeds(o: Ort, session: Session): Feeds {
  const feeds: Feeds = {};
  const meta = (session as unknown as { inputMetadata?: readonly { name: string; shape?: readonly (number | string)[] }[] }).inputMetadata;
  let seed = 1234;
  for (const name of session.inputNames) {
    const md = meta?.find((x) => x.name === name);
    const dims = (md?.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[name] = new o.Tensor('float32', normals(n, seed++), dims);
  }
  return feeds;
}

/** A WebGPU session with onnxruntime's verbose log captured and its CPU placements read. */
async function createWebgpuSession(o: Ort, m: ModelEntry): Promise<void> {
  const t = performance.now();
  try {
    const created = await capture(() => {
      o.env.logLevel = 'verbose';
      return o.InferenceSession.create(m.bytes, { executionProviders: ['webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 }).finally(() => {
        o.env.logLevel = 'error';
      });
    });
    m.session = created.value;
    m.sessionMs = performance.now() - t;
    const fb = cpuFallbacks(created.lines);
    m.cpuFallbackNodes = fb.nodes;
    m.placementLogged = fb.logged;
    m.placementLog = fb.log.slice(0, 40);
    m.webgpuErrors = created.lines.filter((l) => /WebGPU validation error|error:/i.test(l) && !/\[[VI]:onnxruntime/.test(l)).slice(0, 5);
    log(`${m.name}: WebGPU session ${m.sessionMs.toFixed(0)} ms, ${fb.nodes.length} CPU-fallback nodes${fb.logged ? '' : ' (no placement log seen)'}`);
  } catch (e) {
    m.error = errorText(e);
    log(`${m.name}: WebGPU session failed: ${m.error}`);
  }
}

/** Each model once on WebGPU (after one warm-up run) and once on the CPU. */
async function referenceOutputs(models: ModelEntry[], feeds: Feeds, cpu: CpuRunner): Promise<void> {
  for (const m of models) {
    try {
      await runOnce(m.session!, feeds);
      m.gpuOut = await runOnce(m.session!, feeds);
    } catch (e) {
      m.error = `run: ${errorText(e)}`;
      log(`${m.name}: WebGPU run failed: ${m.error}`);
    }
    try {
      m.cpuOut = await cpu.run(m.bytes, feeds);
    } catch (e) {
      m.cpuError = errorText(e);
      log(`${m.name}: CPU run failed: ${m.cpuError}`);
    }
  }
}

/** Warm-up runs, then rounds in which every model runs once in a rotating order (bounded by --max-seconds). */
async function timeRounds(timed: ModelEntry[], feeds: Feeds): Promise<void> {
  for (const m of timed) for (let i = 0; i < WARMUP; i++) await m.session!.run(feeds);
  const tStart = performance.now();
  for (let r = 0; r < RUNS; r++) {
    for (let j = 0; j < timed.length; j++) {
      const m = timed[(r + j) % timed.length];
      const t = performance.now();
      const out = await m.session!.run(feeds);
      m.times.push(performance.now() - t);
      for (const v of Object.values(out)) v.dispose?.();
    }
    if ((performance.now() - tStart) / 1000 > MAX_SECONDS) {
      log(`stopped after ${r + 1} rounds (--max-seconds ${MAX_SECONDS})`);
      break;
    }
  }
}

function resultRow(m: ModelEntry, orig: ModelEntry): Result {
  const ms = median(m.times);
  const origMs = median(orig.times);
  const row: Result = {
    name: m.name,
    file: m.file,
    bytes: m.bytes.length,
    ...(m.error ? { error: m.error } : {}),
    sessionMs: m.sessionMs,
    medianMs: ms,
    p10Ms: quantile(m.times, 0.1),
    p90Ms: quantile(m.times, 0.9),
    rounds: m.times.length,
    speedup: m !== orig && Number.isFinite(ms) && Number.isFinite(origMs) ? origMs / ms : undefined,
    cpuFallbackNodes: m.cpuFallbackNodes,
    placementLogged: m.placementLogged,
    placementLog: m.placementLog,
    ...(m.webgpuErrors?.length ? { webgpuErrors: m.webgpuErrors } : {}),
    ...(m.cpuError ? { cpuError: m.cpuError } : {}),
  };
  if (m.gpuOut) {
    if (m !== orig && orig.gpuOut) row.vsOriginalWebgpu = compare(orig.gpuOut, m.gpuOut);
    if (orig.cpuOut) row.vsOriginalCpu = compare(orig.cpuOut, m.gpuOut);
    if (m.cpuOut && m !== orig) row.vsSelfCpu = compare(m.cpuOut, m.gpuOut);
  }
  if (m !== orig && m.cpuOut && orig.cpuOut) row.cpuVsOriginalCpu = compare(orig.cpuOut, m.cpuOut);
  return row;
}

function printRow(row: Result): void {
  const f = (k: string) => {
    const v = row[k] as Fidelity | { error: string } | undefined;
    return !v ? '-' : 'error' in v ? v.error : `cos ${v.cosine.toFixed(6)} max|d| ${v.maxAbsDiff.toPrecision(3)}${v.allZero ? ' ALL ZERO' : ''}${v.nonFinite ? ` ${v.nonFinite} non-finite` : ''}`;
  };
  const fb = row.cpuFallbackNodes as string[] | undefined;
  log(
    `${String(row.name)}: ${row.error ? `ERROR ${String(row.error)}; ` : ''}median ${(row.medianMs as number).toFixed(3)} ms (p10 ${(row.p10Ms as number).toFixed(3)}, p90 ${(row.p90Ms as number).toFixed(3)}, ${String(row.rounds)} runs)` +
      `${row.speedup ? `, speed-up ${(row.speedup as number).toFixed(2)}x` : ''}; vs original WebGPU: ${f('vsOriginalWebgpu')}; vs original CPU: ${f('vsOriginalCpu')}; vs itself on CPU: ${f('vsSelfCpu')}; ` +
      `CPU fallback: ${fb ? (fb.length ? fb.join(', ') : 'none') : '?'}`,
  );
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const result: Result = { node: process.version, started: new Date().toISOString() };
  const outPath = opt('--out');
  const save = () => {
    if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 2));
  };
  const adapter = await setupGpu(result);
  if (!adapter) {
    result.error = 'no WebGPU adapter (Dawn found no Vulkan driver?)';
    save();
    log(String(result.error));
    process.exitCode = 3;
    return;
  }
  save();
  const o = await loadOrtWeb(adapter);
  result.onnxruntimeWeb = o.env.versions?.web;
  const cpu = await cpuRunner(o);
  result.cpuReference = cpu.label;

  const models: ModelEntry[] = [{ name: 'original', file: need('--model'), bytes: new Uint8Array(), times: [] }];
  for (const v of all('--variant')) {
    const [name, file] = v.split('=');
    models.push({ name, file, bytes: new Uint8Array(), times: [] });
  }
  let feeds: Feeds | undefined;
  for (const m of models) {
    m.bytes = new Uint8Array(readFileSync(m.file));
    await createWebgpuSession(o, m);
    if (!feeds && m.session) {
      feeds = makeFeeds(o, m.session);
      result.inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.dims]));
    }
  }
  const live = models.filter((m) => m.session);
  if (feeds) {
    await referenceOutputs(live, feeds, cpu);
    save();
    await timeRounds(live.filter((m) => m.gpuOut), feeds);
  } else process.exitCode = 4;
  result.models = models.map((m) => resultRow(m, models[0]));
  result.seconds = (Date.now() - t0) / 1000;
  save();
  for (const row of result.models as Result[]) printRow(row);
  for (const m of live) await m.session!.release().catch(() => undefined);
}

type GPUAdapterLike = NonNullable<typeof OrtWeb.env.webgpu.adapter>;

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
