/**
 * Export: compress the sample, check it on wasm in the page, download everything as one zip, and
 * check the parts: the .onnx runs in onnxruntime-node with the worst cosine the page measured,
 * the report names both models by SHA-256, the CSV has every layer, the optional external data
 * pair runs the same, the downloaded model opens and runs back in the page, and the recipe,
 * dropped onto a fresh load of the original, gives the same bytes.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Download, Page } from '@playwright/test';
import { dropFiles, expect, test } from './helpers';
import { cosine } from '../src/core/vector';
import { strFromU8, unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { splitSamples } from '../src/bench/dataset';

const root = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE_PATH = path.join(root, 'public/sample/digits-cnn.onnx');
const SAMPLE = fs.readFileSync(SAMPLE_PATH);
const TEST_SET = JSON.parse(fs.readFileSync(path.join(root, 'public/sample/digits-test.json'), 'utf8')) as {
  inputName: string;
  shape: number[];
  inputs: number[][];
  labels: number[];
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-export-'));
test.afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
});

const RECIPE = {
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: 'int8', granularity: 'per-channel' },
  layers: { '/classifier/fc2/Gemm': { weights: 'int4', granularity: 'block', blockSize: 16 } },
};

const json = (name: string, value: unknown) => ({ name, type: 'application/json', bytes: Buffer.from(JSON.stringify(value)) });

async function downloadOf(page: Page, testId: string): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return { download, bytes: fs.readFileSync((await download.path())!) };
}

async function compress(page: Page): Promise<void> {
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
}

/** Worst per-output cosine of b against a, over the verify's input sets (the page's seeds). */
async function worstCosine(reference: ort.InferenceSession, candidate: ort.InferenceSession, count: number): Promise<number> {
  let worst = 1;
  // the page's runtime check runs the first `count` evaluation samples of the Data tab's set (the sample's labeled set, 128 calibrate)
  for (const i of splitSamples(TEST_SET.inputs.length).evaluation.slice(0, count)) {
    const x = { name: TEST_SET.inputName, dims: [1, ...TEST_SET.shape], data: Float32Array.from(TEST_SET.inputs[i]) };
    const feeds = () => ({ [x.name]: new ort.Tensor('float32', (x.data as Float32Array).slice(), x.dims) });
    const a = (await reference.run(feeds()))[reference.outputNames[0]].data as Float32Array;
    const b = (await candidate.run(feeds()))[candidate.outputNames[0]].data as Float32Array;
    worst = Math.min(worst, cosine(a, b));
  }
  return worst;
}

async function accuracy(s: ort.InferenceSession): Promise<number> {
  const n = TEST_SET.inputs.length;
  const x = new Float32Array(n * 64);
  TEST_SET.inputs.forEach((row, i) => x.set(row, i * 64));
  const out = (await s.run({ [TEST_SET.inputName]: new ort.Tensor('float32', x, [n, ...TEST_SET.shape]) }))[s.outputNames[0]].data as Float32Array;
  let right = 0;
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === TEST_SET.labels[i]) right++;
  }
  return right / n;
}

test('a dropped recipe with a bad key is refused by name and changes nothing; a good one applies', async ({ page }) => {
  await dropFiles(page, [json('bad.json', { ...RECIPE, layers: { '/features/conv1/Conv': { weights: 'int3' } } })]);
  await expect(page.getByTestId('error')).toContainText('layers["/features/conv1/Conv"].weights');
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'false');
  await dropFiles(page, [json('nope.json', { ...RECIPE, layers: { '/no/such/Conv': {} } })]);
  await expect(page.getByTestId('error')).toContainText('layers["/no/such/Conv"]');
  await dropFiles(page, [json('extra.json', { ...RECIPE, colour: 'red' })]);
  await expect(page.getByTestId('error')).toContainText('colour');
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'false');
  await dropFiles(page, [json('good.json', RECIPE)]);
  await expect(page.getByTestId('notice')).toContainText('Recipe "good.json" applied');
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
});

test('exports a zip with every part; the model runs in onnxruntime-node as the page measured; the recipe reproduces the bytes', async ({ page }) => {
  test.setTimeout(240_000);
  await dropFiles(page, [json('digits.recipe.json', RECIPE)]);
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  await compress(page);

  // the page measures the result against the original on wasm (and WebGPU where it can)
  await page.getByTestId('compress-verify-run').click();
  const wasmRow = page.locator('[data-testid="compress-verify-row"][data-backend="wasm"]');
  await expect(wasmRow).toHaveAttribute('data-ok', 'true', { timeout: 120_000 });
  await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  const pageCosine = Number(await wasmRow.getAttribute('data-cosine'));
  // the sample is small: the check runs 32 of its 322 evaluation samples, well within its time budget
  await expect(page.getByTestId('compress-verify-inputs')).toContainText(/the first 32 of 322 evaluation samples of your data \(input float32\[1, 1, 8, 8\]\); Compare scores all 322/);

  const { download: zipDownload, bytes: zipBytes } = await downloadOf(page, 'export-zip');
  const stem = 'digits-cnn.int8-per-channel.portable.1-layer';
  expect(zipDownload.suggestedFilename()).toBe(`${stem}.zip`);
  const entries = unzipSync(zipBytes);
  expect(Object.keys(entries).sort()).toEqual(
    ['.layers.csv', '.onnx', '.recipe.json', '.report.json', '.report.md'].map((ext) => `${stem}/${stem}${ext}`).sort(),
  );
  const part = (ext: string) => entries[`${stem}/${stem}${ext}`];
  const model = part('.onnx');
  // the zip's model is the one the Download button gives
  const { bytes: single } = await downloadOf(page, 'compress-download');
  expect(Buffer.compare(Buffer.from(model), single)).toBe(0);

  // the report: identity by SHA-256, per-layer settings and encodings, the page's fidelity
  const report = JSON.parse(strFromU8(part('.report.json'))) as {
    model: { name: string; original: { name: string; sha256: string; bytes: number }[]; result: { name: string; sha256: string; bytes: number }[] };
    layers: { key: string; weights: string; applied: string; bytesAfter: number }[];
    fidelity: { rows: { backend: string; cosine: number; ok: boolean }[] };
  };
  expect(report.model.name).toBe('digits-cnn.onnx');
  expect(report.model.original).toEqual([{ name: 'digits-cnn.onnx', bytes: SAMPLE.length, sha256: sha(SAMPLE) }]);
  expect(report.model.result).toEqual([{ name: `${stem}.onnx`, bytes: model.length, sha256: sha(model) }]);
  expect(report.layers.map((l) => [l.key, l.weights])).toEqual([
    ['/features/conv1/Conv', 'int8'],
    ['/features/conv2/Conv', 'int8'],
    ['/classifier/fc1/Gemm', 'int8'],
    ['/classifier/fc2/Gemm', 'int4'],
  ]);
  expect(report.layers[0].applied).toBe('int8-cast-mul');
  const wasmFidelity = report.fidelity.rows.find((r) => r.backend === 'wasm')!;
  expect(wasmFidelity.cosine).toBe(pageCosine);
  // the page shows the same identity
  await expect(page.locator('[data-testid="export-file"][data-role="result"]')).toHaveAttribute('data-sha256', sha(model));
  const md = strFromU8(part('.report.md'));
  expect(md).toContain(sha(SAMPLE));
  expect(md).toContain(sha(model));
  expect(md).toContain('## Fidelity');
  const csv = strFromU8(part('.layers.csv')).trim().split('\r\n');
  expect(csv).toHaveLength(5);
  expect(csv[4]).toMatch(/^\/classifier\/fc2\/Gemm,Gemm,/);
  expect(JSON.parse(strFromU8(part('.recipe.json')))).toEqual({ ...RECIPE, layers: RECIPE.layers });
  // each part also downloads on its own, with the zip's bytes
  for (const [testId, ext] of [
    ['export-recipe', '.recipe.json'],
    ['export-report-md', '.report.md'],
    ['export-csv', '.layers.csv'],
  ] as const) {
    const { download, bytes } = await downloadOf(page, testId);
    expect(download.suggestedFilename()).toBe(`${stem}${ext}`);
    expect(Buffer.compare(bytes, Buffer.from(part(ext)))).toBe(0);
  }

  // onnxruntime-node: it runs, its outputs agree with the original as the page measured, accuracy holds
  const original = await ort.InferenceSession.create(SAMPLE);
  const compressed = await ort.InferenceSession.create(model);
  const nodeCosine = await worstCosine(original, compressed, 32);
  expect(Math.abs(nodeCosine - pageCosine)).toBeLessThan(1e-5);
  expect(nodeCosine).toBeGreaterThan(0.99);
  expect(await accuracy(compressed)).toBeGreaterThanOrEqual((await accuracy(original)) - 0.01);

  // weights in a separate data file, on request: the pair runs with the same outputs
  await page.getByTestId('export-external-data').check();
  const [m, d] = await Promise.all([
    page.waitForEvent('download', (x) => x.suggestedFilename().endsWith('.onnx')),
    page.waitForEvent('download', (x) => x.suggestedFilename().endsWith('.onnx.data')),
    page.getByTestId('export-model').click(),
  ]);
  expect(m.suggestedFilename()).toBe(`${stem}.onnx`);
  expect(d.suggestedFilename()).toBe(`${stem}.onnx.data`);
  const dir = fs.mkdtempSync(path.join(tmp, 'split-'));
  fs.copyFileSync((await m.path())!, path.join(dir, m.suggestedFilename()));
  fs.copyFileSync((await d.path())!, path.join(dir, d.suggestedFilename()));
  expect(fs.statSync(path.join(dir, m.suggestedFilename())).size).toBeLessThan(model.length / 2);
  const split = await ort.InferenceSession.create(path.join(dir, m.suggestedFilename()));
  expect(await worstCosine(compressed, split, 32)).toBe(1);

  // the downloaded model opens in the page and runs there (the runtime check runs it on wasm)
  await dropFiles(page, [{ name: `${stem}.onnx`, type: '', bytes: model }]);
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText(`${stem}.onnx`);
  await page.getByTestId('tab-graph').click();
  await compress(page);
  await page.getByTestId('compress-verify-run').click();
  await expect(page.locator('[data-testid="compress-verify-row"][data-backend="wasm"] [data-testid="compress-verify-original"]')).toHaveAttribute(
    'data-ok',
    'true',
    { timeout: 120_000 },
  );

  // the recipe from the zip, dropped onto a fresh load of the original, gives the same bytes
  await page.goto('/?empty');
  await dropFiles(page, [{ name: 'digits-cnn.onnx', type: '', bytes: SAMPLE }]);
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await dropFiles(page, [{ name: `${stem}.recipe.json`, type: 'application/json', bytes: part('.recipe.json') }]);
  await expect(page.getByTestId('notice')).toContainText('applied');
  await compress(page);
  const { bytes: again } = await downloadOf(page, 'compress-download');
  expect(sha(again)).toBe(sha(model));
});
