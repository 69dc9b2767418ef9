/**
 * The page and worker of `npm run bench:web-speed`: a local server (no network) with COOP/COEP
 * headers, so the page is cross-origin isolated and onnxruntime-web may run several wasm threads,
 * serving onnxruntime-web's dist folder, the models and a module worker that times them.
 *
 * One worker per thread count (onnxruntime-web fixes its thread count at its first session). A
 * job is a list of models timed side by side: a warm-up run each, then rounds in which every model
 * runs `per` times in turn (`per` sized from the warm-up so a round of one model takes about
 * `roundMs`); each round gives one mean per model. Models that fail to load say why.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface FeedTensor {
  dims: number[];
  data: number[];
}
export interface Job {
  models: string[];
  /** one feed per model (inputs by name) */
  feeds: Record<string, FeedTensor>[];
  rounds: number;
  roundMs: number;
}
export interface JobResult {
  /** per model: the mean latency of each round (ms); empty when it failed */
  rounds: number[][];
  /** per model: its first output on its feed */
  outputs: (number[] | null)[];
  errors: (string | null)[];
  crossOriginIsolated: boolean;
}

const WORKER = `
import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.logLevel = 'error';
const tensors = (f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.from(v.data), v.dims)]));
self.onmessage = async (e) => {
  const { threads, job } = e.data;
  ort.env.wasm.numThreads = threads;
  const sessions = [], errors = [], outputs = [];
  for (const m of job.models) {
    try {
      sessions.push(await ort.InferenceSession.create(await (await fetch(m)).arrayBuffer(), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }));
      errors.push(null);
    } catch (err) {
      sessions.push(null);
      errors.push(String(err && err.message || err).split('\\n')[0].slice(0, 200));
    }
  }
  const feeds = job.feeds.map(tensors);
  const per = [];
  for (let k = 0; k < sessions.length; k++) {
    const s = sessions[k];
    if (!s) { outputs.push(null); per.push(0); continue; }
    try {
      const out = await s.run(feeds[k]);
      outputs.push(Float32Array.from(out[s.outputNames[0]].data));
      const t0 = performance.now();
      await s.run(feeds[k]);
      per.push(Math.max(1, Math.min(200, Math.round(job.roundMs / Math.max(0.005, performance.now() - t0)))));
    } catch (err) {
      sessions[k] = null; outputs.push(null); per.push(0);
      errors[k] = String(err && err.message || err).split('\\n')[0].slice(0, 200);
    }
  }
  const rounds = sessions.map(() => []);
  for (let r = 0; r < job.rounds; r++) {
    for (let k = 0; k < sessions.length; k++) {
      const s = sessions[k];
      if (!s) continue;
      const t0 = performance.now();
      for (let i = 0; i < per[k]; i++) await s.run(feeds[k]);
      rounds[k].push((performance.now() - t0) / per[k]);
    }
  }
  for (const s of sessions) if (s) await s.release();
  self.postMessage({ rounds, outputs, errors, crossOriginIsolated: self.crossOriginIsolated });
};
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>web speed</title><script>
const workers = {};
window.runJob = (threads, job) => new Promise((ok, fail) => {
  const w = workers[threads] ??= new Worker('/worker.js', { type: 'module' });
  w.onmessage = (e) => ok({ ...e.data, outputs: e.data.outputs.map((o) => o && Array.from(o)) });
  w.onerror = (e) => fail(new Error(e.message));
  w.postMessage({ threads, job });
});
window.ready = true;
</script>`;

/** Serves the page, the worker, onnxruntime-web's dist folder and the models (cross-origin isolated). */
export async function serve(root: string, models: Map<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const dist = join(root, 'node_modules/onnxruntime-web/dist');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store' };
    const send = (type: string, body: string | Uint8Array) => {
      res.writeHead(200, { ...headers, 'content-type': type });
      res.end(body);
    };
    try {
      if (url.pathname === '/') send('text/html', PAGE);
      else if (url.pathname === '/worker.js') send('text/javascript', WORKER);
      else if (url.pathname.startsWith('/ort/')) {
        const file = url.pathname.slice(5).replace(/[^\w.-]/g, '');
        send(file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(join(dist, file)));
      } else if (url.pathname.startsWith('/models/') && models.has(url.pathname.slice(8))) send('application/octet-stream', models.get(url.pathname.slice(8)) as Uint8Array);
      else {
        res.writeHead(404, headers);
        res.end();
      }
    } catch {
      res.writeHead(404, headers);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
