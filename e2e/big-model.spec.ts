/**
 * Models over 2 GB with external data, in the page (issue #13), on a small model: the test hooks
 * `__studioDebug.chunkBytes` (the workers hold a data file in buffers of 1000 bytes instead of
 * 1 GiB, so the sample's tensors straddle chunks) and `__studioDebug.singleFileLimit` (the result's
 * weights go to a data file, as past 2 GB) send the sample, split into sample.onnx +
 * sample.onnx.data, down the path of a pair over 2 GiB. It opens with the summary of the same pair
 * read whole, compresses, and downloads (on its own and in the zip) a model + data file that are
 * byte for byte the CLI's `compress --external-data` and run in onnxruntime-node like the original.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Download, Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { formatBytes } from '../src/core/bytes-and-counts';
import { cosine } from '../src/core/vector';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { externalizeData } from '../src/onnx/external';
import { dropFiles, expect, test } from './helpers';

const root = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE_PATH = path.join(root, 'public/sample/digits-cnn.onnx');
const TEST_SET = JSON.parse(fs.readFileSync(path.join(root, 'public/sample/digits-test.json'), 'utf8')) as { inputName: string; shape: number[]; inputs: number[][] };
// made in the test (not at load: the runner loads this file in processes that never run it)
let tmp = '';
test.afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const split = externalizeData(decodeModel(new Uint8Array(fs.readFileSync(SAMPLE_PATH))), 'sample.onnx.data');
const MODEL = { name: 'sample.onnx', bytes: encodeModel(split.model) };
const DATA = { name: 'sample.onnx.data', bytes: split.data };
// int8 convolutions; fc2 stays fp32, so its weight goes from the chunked input into the result's data file
const RECIPE = {
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: 'int8', granularity: 'per-channel' },
  layers: { '/classifier/fc2/Gemm': { weights: 'fp32' } },
};
const RESULT_DATA = 'sample.compressed.onnx.data';

async function setDebug(page: Page, values: { chunkBytes?: number; singleFileLimit?: number; memory?: { jsHeapSizeLimit: number } }): Promise<void> {
  await page.waitForFunction(() => (globalThis as { __studioDebug?: unknown }).__studioDebug !== undefined);
  await page.evaluate((v) => Object.assign((globalThis as unknown as { __studioDebug: object }).__studioDebug, v), values);
}

async function summary(page: Page): Promise<string[]> {
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText(MODEL.name);
  return Promise.all(['summary-data-files', 'summary-params', 'summary-weight-bytes'].map((id) => page.getByTestId(id).innerText()));
}

/** Outputs of 16 test digits. */
async function outputs(model: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const x = new Float32Array(16 * 64);
  TEST_SET.inputs.slice(0, 16).forEach((row, i) => x.set(row, i * 64));
  const out = await s.run({ [TEST_SET.inputName]: new ort.Tensor('float32', x, [16, ...TEST_SET.shape]) });
  const data = Float32Array.from(out[s.outputNames[0]].data as Float32Array);
  await s.release();
  return data;
}

async function save(downloads: Download[], dir: string): Promise<Record<string, Buffer>> {
  fs.mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer> = {};
  for (const d of downloads) {
    const file = path.join(dir, d.suggestedFilename());
    fs.copyFileSync((await d.path())!, file);
    files[d.suggestedFilename()] = fs.readFileSync(file);
  }
  return files;
}

test('a model + data pair held in chunks opens, compresses and exports with the CLI --external-data bytes', async ({ page }) => {
  test.setTimeout(180_000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-big-'));
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  // the reference: the pair read whole (the data file fits one buffer)
  await dropFiles(page, [DATA, MODEL]);
  const whole = await summary(page);
  expect(whole[0]).toContain(DATA.name);

  // the same pair, its data file in 1000-byte chunks (DATA is tens of KB: many chunks)
  expect(DATA.bytes.length).toBeGreaterThan(20_000);
  await page.goto('/?empty');
  // a limit of a few bytes, so the compress warning shows the estimate's basis
  await setDebug(page, { chunkBytes: 1000, singleFileLimit: 0, memory: { jsHeapSizeLimit: 100 } });
  await dropFiles(page, [DATA, MODEL]);
  expect(await summary(page)).toEqual(whole);
  await expect(page.getByTestId('error')).toHaveCount(0);
  const chunked = () => page.evaluate(() => (globalThis as unknown as { __studioDebug: { chunked: unknown[] } }).__studioDebug.chunked);
  const held = { name: DATA.name, held: 'chunks', chunks: Math.ceil(DATA.bytes.length / 1000), chunkBytes: 1000 };
  await expect.poll(chunked).toEqual([{ kind: 'chunks', worker: 'model', ...held }]);

  await dropFiles(page, [{ name: 'big.recipe.json', type: 'application/json', bytes: Buffer.from(JSON.stringify(RECIPE)) }]);
  await expect(page.getByTestId('notice')).toContainText('applied');
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  // the estimate copies only the model file: the data file held in chunks is read from its Blob
  await expect(page.getByTestId('compress-memory-warning')).toContainText(
    `a copy of the files held whole ${formatBytes(MODEL.bytes.length)} (the ${formatBytes(DATA.bytes.length)} of data files read from their Blobs a tensor at a time, not copied)`,
  );
  // the compress worker got the data file as its Blob and reads it by offset, a tensor at a time (never held)
  // and made the result's data file as Blob parts as its pieces came (each tensor over 1000 bytes
  // its own part), never all the pieces and then one Blob of them
  await expect.poll(chunked).toEqual([
    { kind: 'chunks', worker: 'model', ...held },
    { kind: 'chunks', worker: 'compress', name: DATA.name, held: 'by-offset', chunks: 0, chunkBytes: 0 },
    { kind: 'chunks', worker: 'compress', name: RESULT_DATA, held: 'blob-parts', chunks: 3, chunkBytes: 1000 },
  ]);

  // the download: the model and its data file
  const downloads: Download[] = [];
  page.on('download', (d) => downloads.push(d));
  await page.getByTestId('compress-download').click();
  await expect.poll(() => downloads.length).toBe(2);
  const got = await save(downloads, path.join(tmp, 'page'));
  const modelName = Object.keys(got).find((n) => n.endsWith('.onnx'))!;
  expect(Object.keys(got).sort()).toEqual([modelName, RESULT_DATA].sort());

  // the CLI on the same pair and recipe, its data file named as the page names it
  const inDir = path.join(tmp, 'in');
  fs.mkdirSync(inDir);
  fs.writeFileSync(path.join(inDir, MODEL.name), MODEL.bytes);
  fs.writeFileSync(path.join(inDir, DATA.name), DATA.bytes);
  fs.writeFileSync(path.join(tmp, 'recipe.json'), JSON.stringify(RECIPE));
  const cliOut = path.join(tmp, 'cli', modelName);
  fs.mkdirSync(path.dirname(cliOut));
  const cli = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'compress', path.join(inDir, MODEL.name), '--recipe', path.join(tmp, 'recipe.json'), '--out', cliOut, '--external-data', RESULT_DATA],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  expect(cli.stderr).toBe('');
  expect(cli.status).toBe(0);
  expect(Buffer.compare(got[modelName], fs.readFileSync(cliOut))).toBe(0);
  expect(Buffer.compare(got[RESULT_DATA], fs.readFileSync(path.join(path.dirname(cliOut), RESULT_DATA)))).toBe(0);
  expect(got[RESULT_DATA].length).toBeGreaterThan(got[modelName].length);

  // onnxruntime-node loads the downloaded pair from its folder; its outputs follow the original's
  const original = await outputs(SAMPLE_PATH);
  const compressed = await outputs(path.join(tmp, 'page', modelName));
  for (let i = 0; i < 16; i++) expect(cosine(original.subarray(i * 10, i * 10 + 10), compressed.subarray(i * 10, i * 10 + 10))).toBeGreaterThan(0.99);

  // the zip holds the same two files
  const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-zip').click()]);
  const entries = unzipSync(fs.readFileSync((await zip.path())!));
  const names = Object.keys(entries);
  const zModel = names.find((n) => n.endsWith('.onnx'))!;
  const zData = names.find((n) => n.endsWith(`/${RESULT_DATA}`))!;
  expect(Buffer.compare(Buffer.from(entries[zData]), got[RESULT_DATA])).toBe(0);
  expect(Buffer.compare(Buffer.from(entries[zModel]), got[modelName])).toBe(0);

  // Compare gets the model and its data file: the diff, and weights decoded from the data file
  // (conv2's int8 codes, fc2's fp32 weight read by offset from the result's Blob)
  await page.getByTestId('compress-close').click();
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-view')).toHaveAttribute('data-state', 'ready');
  await page.locator('[data-testid="compare-layer-row"][data-key="/features/conv2/Conv"]').click();
  const weights = page.getByTestId('compare-weights');
  await expect(weights).toHaveAttribute('data-key', '/features/conv2/Conv');
  await expect(weights).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('compare-storage')).toContainText('int8 codes via');
  await page.getByTestId('compare-fit').click();
  await page.getByTestId('compare-pane-compressed').locator('[data-testid="compare-node"][data-key="/classifier/fc2/Gemm"]').click();
  await expect(weights).toHaveAttribute('data-key', '/classifier/fc2/Gemm');
  await expect(weights).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('error')).toHaveCount(0);
});
