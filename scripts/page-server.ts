/**
 * Serving the app's production build for the page benchmarks (bench:graph, bench:recovery-page,
 * big-page.ts, recovery-page-memory.ts): `vite build` into a folder, `vite preview` on a free local
 * port (no network); and the browser's memory, summed over its processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Builds the app into `dist` (unless `reuse` and a build is there). */
export function build(dist: string, reuse: boolean): void {
  if (reuse && existsSync(join(dist, 'index.html'))) return;
  console.log('Building the app (vite build)…');
  const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn', '--outDir', dist, '--emptyOutDir'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('vite build failed');
}

/** Ends the preview server and everything it started (npx, vite). */
export function stopServer(proc: ChildProcess): void {
  try {
    if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGTERM');
  } catch {
    proc.kill();
  }
  proc.stdout?.destroy();
  proc.stderr?.destroy();
}

/** Serves `dist` with vite preview; its URL and the process (end it with stopServer). */
export async function serve(dist: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('npx', ['vite', 'preview', '--outDir', dist, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // its own process group: npx does not pass a kill on to vite, whose open pipes kept this script alive
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return { url, proc };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  stopServer(proc);
  throw new Error('vite preview did not start');
}

/** Peak of the summed RSS of every process whose command line names `marker` (a browser profile folder), sampled every 250 ms until stopped. */
export function rssSampler(marker: string): { peak: () => number; now: () => number; reset: () => void; stop: () => void } {
  let peak = 0;
  const sample = () => {
    const out = spawnSync('ps', ['-eo', 'rss=,args='], { encoding: 'utf8' }).stdout;
    let sum = 0;
    for (const line of out.split('\n')) if (line.includes(marker)) sum += Number(line.trim().split(/\s+/)[0]) * 1024;
    peak = Math.max(peak, sum);
    return sum;
  };
  const timer = setInterval(sample, 250);
  return { peak: () => peak, now: sample, reset: () => (peak = 0), stop: () => clearInterval(timer) };
}
