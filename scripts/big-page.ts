/**
 * Opt-in check of the page with a real model over 2 GB (issue #13): generates scripts/big-model.ts's
 * model (about GB × 10^9 bytes in big.onnx.data), serves a production build with `vite preview`,
 * and in headless Chromium picks the pair, compresses it, downloads the model and its data file,
 * and compares them byte for byte with the CLI's `compress --external-data` of the same recipe.
 * Prints the open and compress times and the peak resident memory of all the browser's processes
 * together (sampled every 250 ms with ps; shared pages are counted once per process). Deletes
 * everything it wrote.
 *
 *   npx vite build --outDir dist-big && npx tsx scripts/big-page.ts [--gb 2.2] [--mode int8|fp32] [--dist dist-big]
 *
 * Modes: int8 (per-channel int8 weights, `__studioDebug.singleFileLimit = 0` so the result gets its
 * data file as past 2 GB) and fp32 (weights unchanged: the result is as large as the input and
 * goes to a data file by itself).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Download } from '@playwright/test';
import { rssSampler, serve, stopServer } from './page-server';
import { generateBigModel, gib, removeBigModel } from './big-model';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const GB = Number(arg('gb', '2.2'));
const MODE = arg('mode', 'int8');
const DIST = arg('dist', 'dist-big');
const DATA_NAME = 'big.compressed.onnx.data';

async function sha(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 16 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const m = generateBigModel(GB);
  console.log(`generated ${m.tensors} tensors, ${gib(m.bytes)} in ${(m.generateMs / 1000).toFixed(1)} s (${m.dir})`);
  const profile = mkdtempSync(join(tmpdir(), 'big-page-profile-'));
  const { url: URL, proc: server } = await serve(DIST);
  const rss = rssSampler(profile);
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      acceptDownloads: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: { width: 1360, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${URL}/?empty`);
    await page.getByTestId('empty-state').waitFor();
    const idle = rss.now();
    if (MODE === 'int8') {
      await page.waitForFunction(() => (globalThis as { __studioDebug?: unknown }).__studioDebug !== undefined);
      await page.evaluate(() => Object.assign((globalThis as unknown as { __studioDebug: object }).__studioDebug, { singleFileLimit: 0 }));
    }
    let t0 = performance.now();
    await page.getByTestId('empty-file-input').setInputFiles([m.model, m.data]);
    await page.getByTestId('tab-overview').click({ timeout: 300_000 });
    await page.getByTestId('summary-file-name').waitFor({ timeout: 300_000 });
    const openMs = performance.now() - t0;
    const openPeak = rss.peak();
    const errors = await page.getByTestId('error').allInnerTexts();
    if (errors.length > 0) throw new Error(`the page says: ${errors.join(' | ')}`);
    console.log(`opened in ${(openMs / 1000).toFixed(1)} s; browser RSS idle ${gib(idle)}, peak so far ${gib(openPeak)}`);

    const recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: MODE === 'int8' ? { weights: 'int8', granularity: 'per-channel' } : { weights: 'fp32' }, layers: {} };
    // dropped as the e2e helpers drop files (a page-side script: this file has no DOM types)
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([${JSON.stringify(JSON.stringify(recipe))}], 'big.recipe.json', { type: 'application/json' }));
      const target = document.querySelector('main') ?? document.body;
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    })()`);
    await page.getByTestId('notice').filter({ hasText: 'applied' }).waitFor();
    t0 = performance.now();
    await page.getByTestId('compress-button').click();
    const done = page.getByTestId('compress-result').or(page.getByTestId('error'));
    try {
      await done.first().waitFor({ timeout: Number(arg('compress-timeout', '600')) * 1000 });
    } catch (e) {
      console.log(`no result; the page shows: ${(await page.locator('main').innerText()).slice(0, 2000)}`);
      throw e;
    }
    const failed = await page.getByTestId('error').allInnerTexts();
    if (failed.length > 0) throw new Error(`compressing failed; the page says: ${failed.join(' | ')}`);
    const compressMs = performance.now() - t0;
    console.log(`compressed in ${(compressMs / 1000).toFixed(1)} s; browser RSS peak ${gib(rss.peak())}`);

    // the runtime check cannot run a model over 2 GB on onnxruntime-web: it must say so plainly
    if (m.bytes > 0x7fffffff) {
      await page.getByTestId('compress-verify-run').click();
      const verifyError = page.getByTestId('compress-verify-error');
      await verifyError.waitFor({ timeout: 120_000 });
      console.log(`runtime check: ${await verifyError.innerText()}`);
    }

    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await page.getByTestId('compress-download').click();
    while (downloads.length < 2) await new Promise((r) => setTimeout(r, 200));
    const out = join(m.dir, 'page');
    mkdirSync(out);
    for (const d of downloads) await d.saveAs(join(out, d.suggestedFilename()));
    const modelName = downloads.map((d) => d.suggestedFilename()).find((n) => n.endsWith('.onnx'))!;
    await context.close();
    context = undefined;

    // the CLI on the same pair and recipe
    writeFileSync(join(m.dir, 'recipe.json'), JSON.stringify(recipe));
    mkdirSync(join(m.dir, 'cli'));
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'compress', m.model, '--recipe', join(m.dir, 'recipe.json'), '--out', join(m.dir, 'cli', modelName), '--external-data', DATA_NAME], { encoding: 'utf8' });
    if (cli.status !== 0) throw new Error(`CLI failed: ${cli.stderr}`);
    const same = [];
    for (const f of [modelName, DATA_NAME]) {
      const a = join(out, f);
      const b = join(m.dir, 'cli', f);
      same.push(`${f}: page ${statSync(a).size} bytes, CLI ${statSync(b).size} bytes, ${(await sha(a)) === (await sha(b)) ? 'identical' : 'DIFFERENT'}`);
    }
    console.log(same.join('\n'));
    console.log(JSON.stringify({ mode: MODE, files: m.bytes, openMs: Math.round(openMs), openPeakRss: openPeak, compressMs: Math.round(compressMs), peakRss: rss.peak(), idleRss: idle }));
  } finally {
    rss.stop();
    await context?.close();
    stopServer(server);
    rmSync(profile, { recursive: true, force: true });
    removeBigModel(m);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
