/**
 * Recovery's memory in the page (issue #12): serves a production build with `vite preview`, and in
 * headless Chromium opens a model (or the sample), gives the Data tab its images (the sample has
 * its own labeled set), compresses with the recipe's defaults at int4 block-32 and the recovery
 * asked, and prints the peak resident memory of all the browser's processes together (sampled
 * every 250 ms with ps, as scripts/big-page.ts does; shared pages are counted once per process)
 * over the browser's with the empty page (the estimate counts the model, not the browser), next
 * to the estimate the page shows before compressing (its basis named).
 * The estimate is read from the page's memory warning, forced by a 1-byte limit
 * (`__studioDebug.memory`).
 *
 *   npx vite build --outDir dist-e2e-mem && npx tsx scripts/recovery-page-memory.ts \
 *     [--model resnet18_op17.onnx --images DIR [--size 224x224]] [--recovery gptq|sequential] [--calibration N] [--dist dist-e2e-mem]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from '@playwright/test';
import { rssSampler, serve, stopServer } from './page-server';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const MODEL = arg('model');
const IMAGES = arg('images');
const SIZE = arg('size');
const RECOVERY = arg('recovery', 'gptq')!;
const CALIBRATION = arg('calibration');
const DIST = arg('dist', 'dist-e2e-mem')!;
const MiB = 2 ** 20;

const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));

async function main(): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'recovery-page-memory-'));
  const { url: URL, proc: server } = await serve(DIST);
  const rss = rssSampler(profile);
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: { width: 1360, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${URL}/?empty`);
    await page.getByTestId('empty-state').waitFor();
    await page.waitForTimeout(1000);
    // the browser with the page and no model: what the estimate does not count
    const idle = rss.now();
    if (MODEL) await page.getByTestId('empty-file-input').setInputFiles([MODEL]);
    else await page.getByTestId('empty-open-sample').click();
    await page.getByTestId('compress-button').waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => (globalThis as { __studioDebug?: unknown }).__studioDebug !== undefined);
    // a 1-byte limit: the page shows its estimate as a warning
    await page.evaluate(() => Object.assign((globalThis as unknown as { __studioDebug: object }).__studioDebug, { memory: { jsHeapSizeLimit: 1 } }));
    if (IMAGES) {
      await page.getByTestId('tab-data').click();
      await page.getByTestId('data-files-input').setInputFiles(files(IMAGES));
      if (SIZE) {
        const [h, w] = SIZE.split('x');
        await page.getByTestId('data-image-height').fill(h);
        await page.getByTestId('data-image-width').fill(w);
      }
    }
    if (CALIBRATION) {
      await page.getByTestId('tab-data').click();
      await page.getByTestId('data-calibration').fill(CALIBRATION);
    }
    if (IMAGES || CALIBRATION) await page.getByTestId('data-split-line').waitFor({ timeout: 120_000 });
    const split = IMAGES || CALIBRATION ? await page.getByTestId('data-split-line').innerText() : 'the sample';
    const recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int4', granularity: 'block', blockSize: 32, recovery: RECOVERY }, layers: {} };
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([${JSON.stringify(JSON.stringify(recipe))}], 'memory.recipe.json', { type: 'application/json' }));
      const target = document.querySelector('main') ?? document.body;
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    })()`);
    await page.getByTestId('notice').filter({ hasText: 'applied' }).waitFor();
    // let the projection settle, then measure from here
    await page.waitForTimeout(2000);
    const before = rss.now();
    rss.reset();
    const t0 = performance.now();
    await page.getByTestId('compress-button').click();
    const done = page.getByTestId('compress-result').or(page.getByTestId('error'));
    await done.first().waitFor({ timeout: 1_200_000 });
    const failed = await page.getByTestId('error').allInnerTexts();
    if (failed.length > 0) throw new Error(`compressing failed; the page says: ${failed.join(' | ')}`);
    const ms = performance.now() - t0;
    const warning = (await page.locator('[data-testid="compress-panel"], main').first().innerText()).match(/Compressing this model needs about ([^(]+) \((.*?)\), more than/);
    const notes = await page.getByTestId('compress-notes').innerText();
    const peak = rss.peak();
    const estimate = warning ? warning[1].trim() : 'not shown';
    console.log(`${MODEL ?? 'the sample'}, recovery ${RECOVERY}, ${split}: compressed in ${(ms / 1000).toFixed(1)} s`);
    console.log(`  notes: ${notes.split('\n').filter((l) => l.includes('recovery')).join(' | ')}`);
    console.log(`  browser RSS with no model ${(idle / MiB).toFixed(0)} MiB, before compressing ${(before / MiB).toFixed(0)} MiB, peak while compressing ${(peak / MiB).toFixed(0)} MiB: ${((peak - idle) / MiB).toFixed(0)} MiB over the empty page`);
    console.log(`  the page's estimate: ${estimate} (${warning?.[2] ?? ''})`);
    console.log(JSON.stringify({ model: MODEL ?? 'sample', recovery: RECOVERY, ms: Math.round(ms), idle, before, peak, overIdle: peak - idle, estimate }));
  } finally {
    rss.stop();
    await context?.close();
    stopServer(server);
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
