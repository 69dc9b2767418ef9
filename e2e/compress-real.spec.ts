/**
 * A new user's first try on a real export: a torch CNN exported at opset 9 with its conv kernels
 * in Constant nodes (src/testing/real/cnn-opset9.onnx) is dropped on the page and compressed with
 * int8, int4, 50% magnitude pruning and 50% channel pruning. Each result is downloaded, runs on
 * onnxruntime-web's wasm backend in the page (the "Runs in this browser?" check) with outputs
 * compared to the original, and the page's figures agree with onnxruntime-node running the
 * downloaded file on the same inputs. Then the webgpu target with fp16 (float16 compute).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { cosine } from '../src/core/vector';
import * as ort from 'onnxruntime-node';
import { decodeModel } from '../src/onnx/codec';
import { tensorFloats } from '../src/onnx/tensor';
import { synthesizeInputs } from '../src/bench/inputs';

const root = fileURLToPath(new URL('..', import.meta.url));
const MODEL = path.join(root, 'src/testing/real/cnn-opset9.onnx');
const MODEL_BYTES = new Uint8Array(fs.readFileSync(MODEL));
const LAYERS = ['/Conv', '/conv2/Conv', '/fc/Gemm'];
/** the page's verify check: 2 input sets, seeds 1000 and 1001, symbolic dims at their defaults (src/workers/compress.worker.ts, src/bench/inputs.ts) */
// the runtime check's random inputs (no data given): 4 sets, seeds 1000..1003
const VERIFY_INPUTS = [1000, 1001, 1002, 1003].map((seed) => synthesizeInputs([{ name: 'image', dtype: 'float32', shape: ['batch', 3, 16, 16] }], seed));

test.beforeEach(async ({ page }) => {
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
});

/** Drops a file on the page the way a browser does: dragenter/dragover/drop with a DataTransfer. */
async function dropFile(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  const b64 = Buffer.from(bytes).toString('base64');
  for (const phase of [['dragenter', 'dragover'], ['drop']]) {
    await page.evaluate(
      ({ name, b64, phase }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
        const target = document.querySelector('main') ?? document.body;
        for (const type of phase) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      },
      { name, b64, phase },
    );
  }
}

async function importRecipe(page: Page, recipe: object): Promise<void> {
  await page.getByTestId('recipe-file-input').setInputFiles({ name: 'recipe.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(recipe)) });
  await expect(page.getByTestId('recipe-import-error')).toHaveCount(0);
}

const recipe = (target: string, defaults: object) => ({ format: 'onnx-compression-recipe', version: 1, target, defaults, layers: {} });

/** The worst cosine, over the verify inputs and outputs, of onnxruntime-node running `a` and `b`. */
async function nodeCosine(a: Uint8Array, b: Uint8Array): Promise<number> {
  const [sa, sb] = [await ort.InferenceSession.create(a, { logSeverityLevel: 3 }), await ort.InferenceSession.create(b, { logSeverityLevel: 3 })];
  let worst = 1;
  for (const set of VERIFY_INPUTS) {
    const feeds = () => Object.fromEntries(set.map((t) => [t.name, new ort.Tensor('float32', (t.data as Float32Array).slice(), t.dims)]));
    const [ra, rb] = [await sa.run(feeds()), await sb.run(feeds())];
    for (const k of sa.outputNames) {
      worst = Math.min(worst, cosine(ra[k].data as Float32Array, Float32Array.from(rb[k].data as ArrayLike<number>)));
    }
  }
  await Promise.all([sa.release(), sb.release()]);
  return worst;
}

/** Compresses with the current recipe, downloads the result and runs the in-page check; returns the file and the wasm row. */
async function compressAndCheck(page: Page) {
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compress-download').click()]);
  const bytes = new Uint8Array(fs.readFileSync((await download.path())!));
  await page.getByTestId('compress-verify-run').click();
  await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  const wasm = page.locator('[data-testid="compress-verify-row"][data-backend="wasm"]');
  return { bytes, wasm, gpu: page.locator('[data-testid="compress-verify-row"][data-backend="webgpu"]') };
}

const row = (page: Page, key: string) => page.locator(`[data-testid="compress-layer-row"][data-key="${key}"]`);

test('an opset-9 export with Constant-node weights: int8, int4, 50% magnitude and 50% channel pruning each run on wasm in the page', async ({ page }) => {
  test.setTimeout(420_000);
  await dropFile(page, 'cnn-opset9.onnx', MODEL_BYTES);
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('cnn-opset9.onnx');
  await page.getByTestId('tab-graph').click();

  const cases = [
    { kind: 'int8', label: 'int8 per-channel', defaults: { weights: 'int8', granularity: 'per-channel' }, applied: ['int8-cast-mul', 'int8-cast-mul', 'int8-cast-mul'], minCosine: 0.999 },
    { kind: 'int4', label: 'int4 block 32', defaults: { weights: 'int4', granularity: 'block', blockSize: 32 }, applied: ['int4-nibbles-mul', 'int4-nibbles-mul', 'int4-nibbles-mul'], minCosine: 0.99 },
    // pruning half of the weights of a small untrained net moves its outputs a lot: the checks are that the
    // result runs in the page exactly as in onnxruntime-node, and that it pruned what was asked
    { kind: 'magnitude', label: 'prune 50% magnitude', defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'magnitude' }, applied: ['pruned', 'pruned', 'pruned'], minCosine: 0.5 },
    { kind: 'channel', label: 'prune 50% channel', defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'channel' }, applied: ['channel-pruned', 'channel-pruned', 'unchanged'], minCosine: 0.3 },
  ];
  for (const c of cases) {
    await importRecipe(page, recipe('portable', c.defaults));
    const { bytes, wasm } = await compressAndCheck(page);
    for (const [i, key] of LAYERS.entries()) await expect(row(page, key), `${c.label} ${key}`).toHaveAttribute('data-applied', c.applied[i]);
    const model = decodeModel(bytes);
    expect(model.opsetImport.find((o) => !o.domain)?.version, 'stays opset 9').toBe(9);

    if (c.kind === 'magnitude') {
      // exactly half of every layer's weights are zero
      const g = model.graph!;
      const conv = g.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm');
      for (const n of conv) {
        const w = tensorFloats(g.initializers.find((t) => t.name === n.inputs[1])!);
        expect(w.filter((v) => v === 0).length, n.name).toBe(Math.round(w.length * 0.5));
      }
    }
    if (c.kind === 'channel') {
      // half the channels of both convs are gone; the last layer, whose channels are the logits, is refused with the reason
      await expect(row(page, '/fc/Gemm')).toHaveAttribute('data-error', 'true');
      await expect(row(page, '/fc/Gemm')).toContainText('reach the graph output');
      const dims = Object.fromEntries(model.graph!.nodes.filter((n) => n.opType === 'Conv').map((n) => [n.name, model.graph!.initializers.find((t) => t.name === n.inputs[1])!.dims]));
      expect(dims).toEqual({ '/Conv': [4, 3, 3, 3], '/conv2/Conv': [8, 4, 3, 3] });
      expect(bytes.length).toBeLessThan(MODEL_BYTES.length * 0.6);
    }

    await expect(wasm, `${c.label}: ${await wasm.textContent()}`).toHaveAttribute('data-ok', 'true');
    const web = Number(await wasm.getAttribute('data-cosine'));
    const node = await nodeCosine(MODEL_BYTES, bytes);
    console.log(`cnn-opset9 ${c.label}: ${MODEL_BYTES.length} -> ${bytes.length} bytes; cosine vs original on wasm in the page ${web.toFixed(6)}, in onnxruntime-node ${node.toFixed(6)}`);
    expect(Math.abs(web - node), `${c.label}: page ${web} vs node ${node}`).toBeLessThan(1e-4);
    expect(web).toBeGreaterThanOrEqual(c.minCosine);
  }
});

test('webgpu target with fp16: float16 compute keeps the signature, runs on wasm, and on WebGPU where the adapter has shader-f16', async ({ page }) => {
  test.setTimeout(240_000);
  await dropFile(page, 'cnn-opset9.onnx', MODEL_BYTES);
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await importRecipe(page, recipe('webgpu', { weights: 'fp16' }));
  const { bytes, wasm, gpu } = await compressAndCheck(page);
  for (const key of LAYERS) {
    await expect(row(page, key)).toHaveAttribute('data-applied', 'fp16-compute');
    await expect(row(page, key)).toContainText('computes in float16');
  }
  const model = decodeModel(bytes);
  const original = decodeModel(MODEL_BYTES);
  const io = (m: typeof model) => JSON.stringify([m.graph!.inputs[0], m.graph!.outputs]);
  expect(io(model)).toBe(io(original));
  expect(model.graph!.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').map((n) => model.graph!.initializers.find((t) => t.name === n.inputs[1])?.dataType)).toEqual([10, 10, 10]);

  await expect(wasm, (await wasm.textContent()) ?? '').toHaveAttribute('data-ok', 'true');
  const web = Number(await wasm.getAttribute('data-cosine'));
  expect(web).toBeGreaterThanOrEqual(0.999);
  expect(Math.abs(web - (await nodeCosine(MODEL_BYTES, bytes)))).toBeLessThan(1e-4);

  const gpuText = (await gpu.textContent()) ?? '';
  const f16 = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ features: Set<string> } | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    return adapter ? adapter.features.has('shader-f16') : undefined;
  });
  console.log(`fp16 compute on WebGPU: adapter ${f16 === undefined ? 'none' : f16 ? 'has shader-f16' : 'lacks shader-f16'}; ${gpuText}`);
  if (f16) {
    await expect(gpu, gpuText).toHaveAttribute('data-ok', 'true');
    expect(Number(await gpu.getAttribute('data-cosine'))).toBeGreaterThanOrEqual(0.999);
  } else if (f16 === false) {
    // onnxruntime-web runs float16 on such an adapter without an error but with wrong values (measured:
    // cosine 0.0 on SwiftShader): the check does not run it and says why; the original runs
    await expect(gpu.getByTestId('compress-verify-original')).toHaveAttribute('data-ok', 'true');
    await expect(gpu.getByTestId('compress-verify-compressed')).toHaveAttribute('data-ok', 'false');
    await expect(gpu.getByTestId('compress-verify-compressed')).toContainText('needs the WebGPU feature shader-f16');
    await expect(gpu.getByTestId('compress-verify-detail')).toHaveText(/^WebGPU adapter found.*, without shader-f16$/);
  } else {
    await expect(gpu).toHaveAttribute('data-available', 'false');
  }
});
