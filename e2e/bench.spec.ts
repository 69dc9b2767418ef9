/**
 * The Benchmark tab on the built-in sample: compress (int8), benchmark original vs compressed on
 * wasm and WebGPU (SwiftShader here: few runs), numbers appear, an unsupported backend shows its
 * reason, accuracy on the sample's labeled set shows for both models, and the page's fidelity
 * and accuracy agree with `npm run cli -- eval` on the very same pair. Cancel keeps the app
 * working.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { largestPost, POST_PROBE, resetPosts } from './post-probe';
import { zlibSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { attr, makeNode } from '../src/onnx/build';
import { makeTensor } from '../src/onnx/tensor';
import { encodeModel } from '../src/onnx/codec';
import { DataType } from '../src/onnx/types';
import { layerModel } from '../src/testing/layer-models';
import { randomFloats, seeded } from '../src/testing/random';

const root = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = path.join(root, 'public/sample/digits-cnn.onnx');
const TEST_SET = path.join(root, 'public/sample/digits-test.json');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-bench-'));
test.afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
});

/** Compresses the open sample with the int8 preset (portable) and returns the compressed file's bytes. */
async function compressInt8(page: Page): Promise<Buffer> {
  await page.getByTestId('target-portable').click();
  await page.getByTestId('preset-int8').click();
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  const download = page.waitForEvent('download');
  await page.getByTestId('compress-download').click();
  const file = path.join(tmp, 'digits.int8.onnx');
  await (await download).saveAs(file);
  await page.getByTestId('compress-close').click();
  return fs.readFileSync(file);
}

async function openBench(page: Page): Promise<void> {
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-panel')).toBeVisible();
  // availability is known for every backend
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
}

async function setCaps(page: Page, runs: number, seconds: number): Promise<void> {
  await page.getByTestId('bench-max-runs').fill(String(runs));
  await page.getByTestId('bench-max-seconds').fill(String(seconds));
}

async function choose(page: Page, on: string[]): Promise<void> {
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  for (const b of ['wasm-1', 'wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (await box.isDisabled()) continue;
    await box.setChecked(on.includes(b));
  }
}

const num = async (page: Page, selector: string, attr: string) => Number(await page.locator(selector).getAttribute(attr));

test('benchmarks the sample and its int8 version on wasm and WebGPU, with fidelity and accuracy that match cli eval', async ({ page }) => {
  test.setTimeout(300_000);
  // the probe from the page's start (beforeEach opened it without): the data worker's answers are tagged
  await page.addInitScript(POST_PROBE);
  await page.reload();
  await expect(page.getByTestId('compress-button')).toBeVisible();
  const compressed = await compressInt8(page);
  await openBench(page);

  // the sample's labeled set is the data out of the box: its evaluation part (128 of 450 calibrate)
  await expect(page.getByTestId('bench-data-line')).toContainText('322 evaluation samples: 450 labeled samples from digits-test.json');
  await expect(page.getByTestId('bench-random-mark')).toHaveCount(0);

  // wasm is always there; an unavailable backend names its reason
  await expect(page.locator('[data-testid="bench-backend"][data-backend="wasm-1"]')).toHaveAttribute('data-available', 'true');
  for (const row of await page.locator('[data-testid="bench-backend"][data-available="false"]').all()) {
    await expect(row.getByTestId('bench-backend-detail')).toHaveText(/\S{4,}/);
  }
  const webglAvailable = (await page.locator('[data-testid="bench-backend"][data-backend="webgl"]').getAttribute('data-available')) === 'true';
  const webgpuAvailable = (await page.locator('[data-testid="bench-backend"][data-backend="webgpu"]').getAttribute('data-available')) === 'true';
  expect(webgpuAvailable, 'WebGPU (SwiftShader with --enable-unsafe-webgpu) is available in this Chromium').toBe(true);

  // few runs: WebGPU is a software adapter here
  await setCaps(page, 15, 1);
  await choose(page, ['wasm-1', 'webgl', 'webgpu']);
  await resetPosts(page);
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-progress')).toBeVisible();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  // every bench worker gets the evaluation part from the data worker and plans its inputs itself:
  // no message from the page's thread copies the samples (322 x 64 floats), nor a plan made of them
  const posts = await largestPost(page);
  expect(posts.count).toBeGreaterThan(0);
  expect(posts.fromData).toBe(0);
  // the largest copy is the original's outputs the compressed run compares with (322 x 10 floats)
  expect(posts.bytes).toBeLessThan(322 * 64 * 4);

  // numbers appear for both models on wasm and WebGPU
  for (const backend of ['wasm-1', 'webgpu']) {
    for (const model of ['original', 'compressed']) {
      const row = page.locator(`[data-testid="bench-row"][data-backend="${backend}"][data-model="${model}"]`);
      await expect(row).toHaveAttribute('data-ok', 'true');
      expect(Number(await row.getAttribute('data-median-ms'))).toBeGreaterThan(0);
      expect(Number(await row.getAttribute('data-session-ms'))).toBeGreaterThan(0);
      await expect(row.getByTestId('bench-median')).toHaveText(/\d/);
      // untimed warm-up runs after the first, until runs stop getting faster (a new worker's WebAssembly is not optimized yet): at least one, and the page says so
      expect(Number(await row.getByTestId('bench-runs').getAttribute('data-warm-up-runs'))).toBeGreaterThanOrEqual(1);
    }
    expect(await num(page, `[data-testid="bench-row"][data-backend="${backend}"][data-model="compressed"]`, 'data-speedup')).toBeGreaterThan(0);
    await expect(page.getByTestId('bench-warm-up')).toContainText('ran untimed until runs stopped getting faster');
    // the speed-up comes from both models timed side by side in one worker (alternating runs)
    const rounds = await num(page, `[data-testid="bench-row"][data-backend="${backend}"][data-model="compressed"] [data-testid="bench-speedup"]`, 'data-paired-rounds');
    expect(rounds).toBeGreaterThanOrEqual(6);
    await expect(page.locator(`[data-testid="bench-row"][data-backend="${backend}"][data-model="compressed"] [data-testid="bench-speedup"]`)).toHaveAttribute('data-speedup-basis', 'side-by-side');
  }
  await expect(page.getByTestId('bench-chart').locator('.recharts-bar-rectangle').first()).toBeVisible();
  // the chart's label is the table's speed-up, in the same words
  const tableSpeedup = (await page.locator('[data-testid="bench-row"][data-backend="wasm-1"][data-model="compressed"] [data-testid="bench-speedup"]').innerText()).trim();
  await expect(page.getByTestId('bench-chart').locator('.recharts-label-list').first()).toContainText(`speed-up ${tableSpeedup}`);
  await expect(page.locator('[data-testid="bench-fallback"]')).toHaveCount(2);

  // WebGL: unsupported here one way or the other, and the reason is shown
  if (webglAvailable) {
    const failed = page.locator('[data-testid="bench-row"][data-backend="webgl"][data-ok="false"]');
    const ok = page.locator('[data-testid="bench-row"][data-backend="webgl"][data-ok="true"]');
    expect((await failed.count()) + (await ok.count())).toBe(2);
    for (const r of await failed.all()) await expect(r.getByTestId('bench-error')).toHaveText(/^WebGL: .{8,}/);
  } else {
    await expect(page.locator('[data-testid="bench-backend"][data-backend="webgl"] [data-testid="bench-backend-detail"]')).toHaveText(/^WebGL: .{8,}/);
  }

  // accuracy on the labeled set, for both models
  const acc = page.locator('[data-testid="bench-accuracy-row"][data-backend="wasm-1"]');
  await expect(acc.getByTestId('bench-accuracy-original')).toHaveText(/^\d+\/322 = /);
  await expect(acc.getByTestId('bench-accuracy-compressed')).toHaveText(/^\d+\/322 = /);
  const gpuAcc = page.locator('[data-testid="bench-accuracy-row"][data-backend="webgpu"]');
  await expect(gpuAcc.getByTestId('bench-accuracy-original')).toHaveText(await acc.getByTestId('bench-accuracy-original').innerText());

  // the same pair in cli eval (onnxruntime-node) with the same split: the same fidelity and accuracy, within noise
  const file = path.join(tmp, 'digits.int8.onnx');
  fs.writeFileSync(file, compressed);
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', SAMPLE, file, '--samples', TEST_SET, '--calibration', '128', '--json', '--max-seconds', '1'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(cli.stderr).toBe('');
  expect(cli.status).toBe(0);
  const report = JSON.parse(cli.stdout) as {
    original: { accuracy: { correct: number }; latency: { medianMs: number } };
    compressed: { accuracy: { correct: number }; latency: { medianMs: number } };
    fidelity: { output: string; top1: { rate: number }; cosine: { worst: number }; rowCosine: { worst: number }; sqnrDb: { worst: number }; maxAbsError: { worst: number } }[];
  };
  expect(Number(await acc.getAttribute('data-original-correct'))).toBe(report.original.accuracy.correct);
  expect(Math.abs(Number(await acc.getAttribute('data-compressed-correct')) - report.compressed.accuracy.correct)).toBeLessThanOrEqual(1);
  const fid = page.locator('[data-testid="bench-fidelity-row"][data-backend="wasm-1"][data-output="logits"]');
  const cliFid = report.fidelity.find((f) => f.output === 'logits')!;
  const pageCos = Number(await fid.getAttribute('data-cosine-worst'));
  const pageSqnr = Number(await fid.getAttribute('data-sqnr-worst'));
  const pageTop1 = Number(await fid.getAttribute('data-top1'));
  expect(Math.abs(pageCos - cliFid.cosine.worst)).toBeLessThan(1e-4);
  expect(Math.abs(Number(await fid.getAttribute('data-row-cosine-worst')) - cliFid.rowCosine.worst)).toBeLessThan(1e-4);
  expect(Math.abs(pageSqnr - cliFid.sqnrDb.worst)).toBeLessThan(0.5);
  expect(Math.abs(pageTop1 - cliFid.top1.rate)).toBeLessThanOrEqual(1 / 322);
  const pageMedian = await num(page, '[data-testid="bench-row"][data-backend="wasm-1"][data-model="original"]', 'data-median-ms');
  console.log(
    `page wasm-1 vs cli eval: cosine ${pageCos.toFixed(6)} vs ${cliFid.cosine.worst.toFixed(6)}, SQNR ${pageSqnr.toFixed(2)} vs ${cliFid.sqnrDb.worst.toFixed(2)} dB, ` +
      `top-1 ${pageTop1} vs ${cliFid.top1.rate}, accuracy ${await acc.getAttribute('data-original-correct')}/${await acc.getAttribute('data-compressed-correct')} vs ` +
      `${report.original.accuracy.correct}/${report.compressed.accuracy.correct}; original median ${pageMedian.toFixed(3)} ms (wasm) vs ${report.original.latency.medianMs.toFixed(3)} ms (node)`,
  );
});

test('cancels a benchmark and keeps working; random inputs give fidelity without accuracy, marked', async ({ page }) => {
  test.setTimeout(180_000);
  await compressInt8(page);
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-clear').click();
  await expect(page.getByTestId('data-random-mark')).toBeVisible();
  await expect(page.locator('[data-testid="data-dim"][data-dim="batch"]')).toHaveAttribute('data-basis', 'batch');
  await page.getByTestId('data-dim-batch').fill('4');
  await expect(page.locator('[data-testid="data-dim"][data-dim="batch"]')).toHaveAttribute('data-basis', 'set');
  await openBench(page);
  await expect(page.getByTestId('bench-random-mark')).toBeVisible();
  await expect(page.getByTestId('bench-data-line')).toContainText('input[4, 1, 8, 8]');
  await choose(page, ['wasm-1']);
  await setCaps(page, 100000, 30);
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-progress-label')).toHaveText(/Original on wasm/, { timeout: 30_000 });
  await page.getByTestId('bench-cancel').click();
  await expect(page.getByTestId('bench-cancelled')).toBeVisible();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'cancelled');

  await setCaps(page, 20, 1);
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('bench-setup')).toHaveText(/input float32\[4, 1, 8, 8\].*4 synthesized input sets/);
  await expect(page.getByTestId('bench-results-random')).toBeVisible();
  const fid = page.locator('[data-testid="bench-fidelity-row"][data-backend="wasm-1"]');
  expect(Number(await fid.getAttribute('data-cosine-worst'))).toBeGreaterThan(0.99);
  await expect(page.getByTestId('bench-accuracy-table')).toHaveCount(0);

  // a bad input file names the problem in the Data tab and in the Benchmark; the app keeps working
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-files-input').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"input": [[1, 2]]}') });
  await expect(page.getByTestId('data-error')).toHaveText(/bad\.json: "input" has shape \[1, 2\], the model's input "input" has rank 4/);
  await openBench(page);
  // the earlier results were measured on other data: marked stale
  await expect(page.getByTestId('bench-stale')).toBeVisible();
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-failed')).toHaveText(/bad\.json: "input" has shape \[1, 2\], the model's input "input" has rank 4/);
  await page.getByTestId('tab-graph').click();
  await expect(page.getByTestId('compress-button')).toBeEnabled();
});

test("a probability map ([1, 1, H, W], a text detector's): agreement per pixel at 0.5, cosine per image, no row cosine or KL", async ({ page }) => {
  test.setTimeout(120_000);
  const rng = seeded(31);
  const conv = (x: string, w: string, y: string, k: number) => makeNode('Conv', [x, w], [y], [attr.ints('kernel_shape', [k, k]), attr.ints('pads', [k >> 1, k >> 1, k >> 1, k >> 1])]);
  const model = layerModel(
    [conv('x', 'w1', 'h', 3), makeNode('Relu', ['h'], ['r']), conv('r', 'w2', 'z', 1), makeNode('Sigmoid', ['z'], ['map'])],
    [makeTensor('w1', DataType.FLOAT, [8, 3, 3, 3], randomFloats(rng, 216, 0.4)), makeTensor('w2', DataType.FLOAT, [1, 8, 1, 1], randomFloats(rng, 8, 0.8))],
    [['x', [1, 3, 32, 32]]],
    [['map', [1, 1, 32, 32]]],
  );
  await page.getByTestId('file-input').setInputFiles({ name: 'detector.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeModel(model)) });
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('detector.onnx');
  await page.getByTestId('tab-graph').click();
  await page.getByTestId('target-portable').click();
  await page.getByTestId('defaults-weights-int4').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('compress-close').click();
  await openBench(page);
  await choose(page, ['wasm-1']);
  await setCaps(page, 20, 1);
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const row = page.locator('[data-testid="bench-fidelity-row"][data-backend="wasm-1"][data-output="map"]');
  await expect(row).toHaveAttribute('data-kind', 'map');
  // 1,024 pixels an input set, not 32 rows of 32 values across the width
  await expect(row).toContainText(/map \(\d+×1\)/);
  const rows = Number((await row.textContent())?.match(/map \((\d+)×1\)/)?.[1]);
  expect(rows % 1024).toBe(0);
  await expect(row).toContainText(/\d+\/\d+ = [\d.]+% of pixels/);
  await expect(row.locator('td[title="pixels whose decision at 0.5 agrees"]')).toHaveCount(1);
  expect(Number(await row.getAttribute('data-cosine-worst'))).toBeGreaterThan(0.9);
  expect(Number(await row.getAttribute('data-cosine-worst'))).toBeLessThan(1);
  await expect(row.getByText('n/a')).toHaveCount(2);
});

/** An 8-bit grayscale PNG (zlib through fflate; CRC-32 per chunk). */
function grayPng(width: number, height: number, pixels: Uint8Array): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlibSync(raw)), chunk('IEND', new Uint8Array())]);
}

test('accuracy on a folder of images, one sub-folder per class', async ({ page }) => {
  test.setTimeout(180_000);
  // the first 60 test digits as 8x8 PNGs (pixel = value * 255), in folders named by their label
  const set = JSON.parse(fs.readFileSync(TEST_SET, 'utf8')) as { inputs: number[][]; labels: number[] };
  const dir = path.join(tmp, 'digits-images');
  set.inputs.slice(0, 60).forEach((row, i) => {
    const folder = path.join(dir, String(set.labels[i]));
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, `${String(i).padStart(3, '0')}.png`), grayPng(8, 8, Uint8Array.from(row, (v) => Math.round(v * 255))));
  });
  await compressInt8(page);
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-folder-input').setInputFiles(dir);
  // every image evaluates (nothing calibrates a weights-only result)
  await page.getByTestId('data-calibration').fill('0');
  await expect(page.getByTestId('data-summary')).toHaveText(/^60 images in 10 class folders, each input float32\[1, 1, 8, 8\]/);
  await expect(page.getByTestId('data-split-line')).toHaveText(/^0 calibrate .*, 60 evaluate/);
  await expect(page.getByTestId('data-preview-picture')).toHaveCount(6);
  await openBench(page);
  await choose(page, ['wasm-1']);
  await setCaps(page, 10, 0.5);
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(page.getByTestId('bench-setup')).toHaveText(/60 labeled samples from 60 images in 10 class folders/);
  // the images carry the test set's values to within 1/510: the original gets what it gets on the JSON
  const s = await ort.InferenceSession.create(SAMPLE);
  const x = new Float32Array(set.inputs.slice(0, 60).flat());
  const out = (await s.run({ input: new ort.Tensor('float32', x, [60, 1, 8, 8]) })).logits.data as Float32Array;
  await s.release();
  let correct = 0;
  for (let i = 0; i < 60; i++) {
    const r = Array.from(out.subarray(i * 10, i * 10 + 10));
    if (r.indexOf(Math.max(...r)) === set.labels[i]) correct++;
  }
  const row = page.locator('[data-testid="bench-accuracy-row"][data-backend="wasm-1"]');
  await expect(row.getByTestId('bench-accuracy-original')).toHaveText(new RegExp(`^${correct}/60 = `));
});
