/**
 * Recovery in the page: `npm run bench:recovery-page [-- --samples N] [--no-build] [--cnn-only]`
 *
 * Issue #12's goal that the page stays responsive while recovery runs (no main-thread task over
 * 200 ms), and how long the page's recovery takes against the same work in Node (the CLI's core,
 * onnxruntime-node), for the models of `npm run bench:recovery` (scripts/recovery-bench-models.ts).
 *
 * 1. Writes each model and a .npy of 2N structured samples (N calibrate, N evaluate: the Data tab's
 *    default split) into .cache/bench-recovery-page.
 * 2. Builds the app (vite build into .cache/bench-dist) and serves it with vite preview.
 * 3. In headless Chromium (/usr/bin/chromium), per model and setting: drops the model, gives the
 *    .npy on the Data tab, chooses the weights and recovery, clicks Compress and waits for the
 *    result; the page's own PerformanceObserver('longtask') records every main-thread task over
 *    50 ms from the click until the result shows, and every message the page posts to a worker
 *    meanwhile: the bytes it copies (typed arrays and ArrayBuffers not transferred: what the main
 *    thread's structured clone carries) and how long postMessage took.
 * 4. `cli compress` (onnxruntime-node) with the same recipe on the same calibration samples (one
 *    stacked .npy), its start-up (`cli --help`) subtracted, in the same run.
 * Prints the wall times, their ratio, and the longest main-thread task against the goal.
 */
import { chromium, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitSamples } from '../src/bench/dataset';
import { encodeNpy } from '../src/bench/npy';
import type { Recipe } from '../src/compress/recipe';
import { encodeModel } from '../src/onnx/codec';
import { POST_PROBE } from '../e2e/post-probe';
import { dropFileInPage, fileInPage } from '../e2e/page-file';
import { build, serve, stopServer } from './page-server';
import { cnn, mlp, samples, type BenchModel } from './recovery-bench-models';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, '.cache', 'bench-recovery-page');
const DIST = join(ROOT, '.cache', 'bench-dist');
const args = process.argv.slice(2);
const at = args.indexOf('--samples');
const N = at >= 0 ? Number(args[at + 1]) : 128;
const GOAL_MS = 200;

type Setting = { weights: 'int8' | 'int4'; granularity: 'per-channel' | 'block'; recovery: 'gptq' | 'sequential' };
const SETTINGS: Setting[] = [
  { weights: 'int4', granularity: 'block', recovery: 'gptq' },
  { weights: 'int4', granularity: 'block', recovery: 'sequential' },
];

const recipe = (s: Setting): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: s.weights, granularity: s.granularity, blockSize: 32, recovery: s.recovery },
  layers: {},
});

interface PageRun {
  ms: number;
  longestTaskMs: number;
  longTasks: number;
  /** [start after the click, duration] of each task over 50 ms */
  taskList: [number, number][];
  /** the largest number of bytes one message from the page to a worker copied, and the longest postMessage (ms) */
  postBytes: number;
  postMs: number;
  notes: string;
}

async function pageRun(page: Page, s: Setting): Promise<PageRun> {
  await page.getByTestId('target-portable').click();
  await page.getByTestId(`defaults-weights-${s.weights}`).click();
  await page.getByTestId(`defaults-granularity-${s.granularity}`).click();
  await page.getByTestId(`defaults-recovery-${s.recovery}`).click();
  await page.evaluate(() => {
    const w = window as unknown as { __tasks: { start: number; duration: number }[]; __t0: number };
    w.__tasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__tasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask' });
    w.__t0 = performance.now();
    (window as unknown as { __posts: unknown[] }).__posts = [];
  });
  await page.getByTestId('compress-button').click();
  await page.getByTestId('compress-result').waitFor({ timeout: 600_000 });
  // in-page code as source text (the TypeScript runner's helpers do not exist in the page)
  const r = (await page.evaluate(`(() => {
    const ms = performance.now() - window.__t0;
    const tasks = window.__tasks.filter((t) => t.start + t.duration >= window.__t0);
    const posts = window.__posts;
    return { ms, longestTaskMs: Math.max(0, ...tasks.map((t) => t.duration)), longTasks: tasks.length, taskList: tasks.map((t) => [Math.round(t.start - window.__t0), Math.round(t.duration)]),
      postBytes: Math.max(0, ...posts.map((p) => p.bytes)), postMs: Math.max(0, ...posts.map((p) => p.ms)) };
  })()`)) as Omit<PageRun, 'notes'>;
  const notes = await page.getByTestId('compress-notes').innerText();
  await page.getByTestId('compress-close').click();
  return { ...r, notes };
}

/** `cli compress` with the same recipe on the calibration samples, in a child process: its wall time less that of `cli --help` (start-up). */
function cliRun(modelPath: string, dir: string, s: Setting): number {
  const cli = (extra: string[]) => {
    const t = performance.now();
    const r = spawnSync('npx', ['tsx', join(ROOT, 'src/cli/main.ts'), ...extra], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cli ${extra.join(' ')}: ${r.stderr}`);
    return performance.now() - t;
  };
  const recipePath = join(CACHE, 'recipe.json');
  writeFileSync(recipePath, JSON.stringify(recipe(s)));
  const start = cli(['--help']);
  return cli(['compress', modelPath, '--recipe', recipePath, '--samples', dir, '--out', join(CACHE, 'out.onnx')]) - start;
}

async function main(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const models: [string, BenchModel][] = [['CNN (4 Conv 3x3 + Gemm)', cnn()]];
  if (!args.includes('--cnn-only')) models.push(['MatMul model (4 x 1024/1536, 64 tokens)', mlp()]);
  build(DIST, args.includes('--no-build'));
  const { url, proc } = await serve(DIST);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const lines: string[] = [];
  let worst = 0;
  try {
    for (const [label, m] of models) {
      const all = samples(m.input, m.dims, 2 * N, 1);
      const size = m.dims.reduce((p, d) => p * d, 1);
      const data = new Float32Array(all.length * size);
      all.forEach((x, i) => data.set(x[m.input].data as Float32Array, i * size));
      const npy = encodeNpy('float32', [all.length, ...m.dims.slice(1)], data);
      const file = `${label.split(' ')[0].toLowerCase()}.onnx`;
      const bytes = encodeModel(m.model);
      writeFileSync(join(CACHE, file), bytes);
      writeFileSync(join(CACHE, 'samples.npy'), npy);
      const split = splitSamples(all.length);
      const cal = split.calibration.map((i) => all[i]);
      // the CLI gets the page's calibration part, stacked in one .npy
      const calDir = join(CACHE, 'calibration');
      mkdirSync(calDir, { recursive: true });
      const calData = new Float32Array(cal.length * size);
      cal.forEach((x, i) => calData.set(x[m.input].data as Float32Array, i * size));
      writeFileSync(join(calDir, 'calibration.npy'), encodeNpy('float32', [cal.length, ...m.dims.slice(1)], calData));
      for (const s of SETTINGS) {
        const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
        await context.addInitScript(POST_PROBE);
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${url}/?empty`);
        await page.getByTestId('empty-state').waitFor();
        // the model read from disk by the browser (e2e/page-file.ts: base64 through the page left ~210 MB of garbage whose collection landed mid-recovery)
        await fileInPage(page, join(CACHE, file));
        await dropFileInPage(page);
        await page.getByTestId('compress-button').waitFor({ timeout: 60_000 });
        await page.getByTestId('tab-data').click();
        await page.getByTestId('data-files-input').setInputFiles(join(CACHE, 'samples.npy'));
        try {
          await page.getByTestId('data-split-line').filter({ hasText: `${cal.length} calibrate` }).waitFor({ timeout: 60_000 });
        } catch (e) {
          console.log(await page.getByTestId('data-panel').innerText().catch(() => 'no data panel'));
          throw e;
        }
        await page.getByTestId('tab-graph').click();
        const p = await pageRun(page, s);
        await context.close();
        if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
        if (!p.notes.includes(`recovery ${s.recovery}`)) throw new Error(`the page did not run recovery ${s.recovery}: ${p.notes}`);
        const nodeMs = cliRun(join(CACHE, file), calDir, s);
        worst = Math.max(worst, p.longestTaskMs);
        lines.push(
          `${label}, ${s.weights} ${s.granularity}, recovery ${s.recovery}, ${cal.length} calibration samples: page ${(p.ms / 1000).toFixed(2)} s (compress click to result), cli compress ${(nodeMs / 1000).toFixed(2)} s = ${(p.ms / nodeMs).toFixed(2)}x; ` +
            `largest copy posted to a worker ${p.postBytes >= 1e5 ? `${(p.postBytes / 1e6).toFixed(1)} MB` : `${p.postBytes} bytes`} (postMessage ${p.postMs.toFixed(0)} ms); longest main-thread task ${p.longestTaskMs.toFixed(0)} ms (${p.longTasks} over 50 ms${p.longTasks > 0 ? `: ${p.taskList.map(([t, d]) => `${d} ms at ${(t / 1000).toFixed(1)} s`).join(', ')}` : ''})`,
        );
        console.log(lines[lines.length - 1]);
      }
    }
  } finally {
    await browser.close();
    stopServer(proc);
  }
  console.log(`\nGoal: no main-thread task over ${GOAL_MS} ms while recovery runs: ${worst <= GOAL_MS ? 'met' : 'NOT met'} (longest ${worst.toFixed(0)} ms)`);
}

await main();
