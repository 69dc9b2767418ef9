/**
 * Choosing compression settings in the studio: drop a model, select a layer in the graph, read
 * its weight statistics and histogram, set it to int4, prune a name-scope group by 50%, watch
 * the projected size follow with exact numbers, undo, and import a bad recipe.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';
import { DataType } from '../src/onnx/types';

/** Deterministic values in about [-0.5, 0.5]; every `zeroEvery`-th value exactly 0. */
function values(n: number, seed: number, zeroEvery = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = zeroEvery > 0 && i % zeroEvery === 0 ? 0 : s / 2 ** 32 - 0.5;
  }
  return out;
}

const CONV1_W = values(8 * 3 * 3 * 3, 1, 5);
/**
 * x[1,3,8,8] -> /backbone/conv1/Conv (W [8,3,3,3] 864 B, b [8] 32 B) -> Relu
 *   -> /backbone/conv2/Conv (W [16,8,3,3] 4608 B, b [16] 64 B) -> GlobalAveragePool -> Flatten
 *   -> /head/proj/MatMul (W [16,64] 4096 B) -> Relu -> /head/fc/MatMul (W [64,10] 2560 B)
 *   -> /head/fc/Add (b [10] 40 B) -> y[1,10]
 * Stored weights: 12264 bytes.
 */
function chooseNet(): { name: string; bytes: Uint8Array } {
  const graph = makeGraph({
    name: 'choose_net',
    nodes: [
      makeNode('Conv', ['x', 'conv1.w', 'conv1.b'], ['c1'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('kernel_shape', [3, 3])], {
        name: '/backbone/conv1/Conv',
      }),
      makeNode('Relu', ['c1'], ['r1'], [], { name: '/backbone/relu1/Relu' }),
      makeNode('Conv', ['r1', 'conv2.w', 'conv2.b'], ['c2'], [attr.ints('pads', [1, 1, 1, 1])], { name: '/backbone/conv2/Conv' }),
      makeNode('GlobalAveragePool', ['c2'], ['p'], [], { name: '/backbone/pool/GlobalAveragePool' }),
      makeNode('Flatten', ['p'], ['f'], [], { name: '/head/Flatten' }),
      makeNode('MatMul', ['f', 'proj.w'], ['h'], [], { name: '/head/proj/MatMul' }),
      makeNode('Relu', ['h'], ['hr'], [], { name: '/head/relu/Relu' }),
      makeNode('MatMul', ['hr', 'fc.w'], ['z'], [], { name: '/head/fc/MatMul' }),
      makeNode('Add', ['z', 'fc.b'], ['y'], [], { name: '/head/fc/Add' }),
    ],
    initializers: [
      makeTensor('conv1.w', DataType.FLOAT, [8, 3, 3, 3], CONV1_W),
      makeTensor('conv1.b', DataType.FLOAT, [8], values(8, 2)),
      makeTensor('conv2.w', DataType.FLOAT, [16, 8, 3, 3], values(16 * 8 * 9, 3)),
      makeTensor('conv2.b', DataType.FLOAT, [16], values(16, 4)),
      makeTensor('proj.w', DataType.FLOAT, [16, 64], values(16 * 64, 5)),
      makeTensor('fc.w', DataType.FLOAT, [64, 10], values(640, 6)),
      makeTensor('fc.b', DataType.FLOAT, [10], values(10, 7)),
    ],
    inputs: [makeValueInfo('x', DataType.FLOAT, [1, 3, 8, 8])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [1, 10])],
    valueInfo: [makeValueInfo('c1', DataType.FLOAT, [1, 8, 8, 8])],
  });
  const model = makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'e2e-choose', graph });
  return { name: 'choose-net.onnx', bytes: encodeModel(model) };
}

const BYTES = 12264;
/** the file: the weights plus the graph around them */
const FILE_BYTES = chooseNet().bytes.length;
// int4 per-channel (the default granularity), symmetric: 216 values / 2 + 8 scales x 4 = 140 B for 864 B
const AFTER_INT4 = BYTES - 864 + 140;
// magnitude 50% on /head/: stored size unchanged; zipped ≈ half the bytes + 1 bit a value for the zero positions
const ZIP_HEAD_HALF = AFTER_INT4 - 4096 - 2560 + (2048 + 1024 / 8) + (1280 + 640 / 8);
// channel 50% on /head/: proj keeps 32 of 64 columns (2048 B), fc 5 of 10 (1280 B)
const AFTER_HEAD_CHANNELS = AFTER_INT4 - 4096 - 2560 + 2048 + 1280;

test.beforeEach(async ({ page }) => {
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
});

/** Drops a file on the page the way a browser does: dragenter, dragover, drop with a DataTransfer. */
async function dropFile(page: Page, file: { name: string; bytes: Uint8Array }): Promise<void> {
  const payload = { name: file.name, b64: Buffer.from(file.bytes).toString('base64') };
  await page.evaluate((f) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
    const target = document.querySelector('main') ?? document.body;
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, payload);
}

const after = (page: Page) => page.getByTestId('summary-after');

test('choose int4 for a layer and prune a group, watching the projected size, then undo', async ({ page }) => {
  await dropFile(page, chooseNet());
  // the top bar means the file: the weights projected, the rest of the file (graph, names) as it is
  await expect(page.getByTestId('summary-before')).toHaveAttribute('data-weights', String(BYTES));
  await expect(page.getByTestId('summary-before')).toHaveAttribute('data-value', String(FILE_BYTES));
  await expect(after(page)).toHaveAttribute('data-weights', String(BYTES));
  await expect(after(page)).toHaveAttribute('data-value', String(FILE_BYTES));
  await expect(page.getByTestId('summary-ratio')).toHaveText('unchanged');
  await expect(page.getByTestId('undo')).toBeDisabled();

  // Select the first Conv in the graph.
  const node = page.locator('[data-testid="graph-node"][data-key="/backbone/conv1/Conv"]');
  await node.click();
  const inspector = page.getByTestId('node-inspector');
  await expect(inspector).toHaveAttribute('data-key', '/backbone/conv1/Conv');
  await expect(page.getByTestId('inspector-op')).toHaveText('Conv');
  await expect(inspector.locator('[data-testid="attribute"][data-name="pads"]')).toContainText('[1, 1, 1, 1]');
  await expect(inspector.locator('[data-testid="input"][data-name="x"] [data-testid="input-shape"]')).toHaveText('[1, 3, 8, 8]');
  await expect(inspector.locator('[data-testid="output"][data-name="c1"] [data-testid="output-shape"]')).toHaveText('[1, 8, 8, 8]');

  // Its weight: dtype, shape, bytes, statistics (checked against the values the spec wrote) and a histogram.
  const card = inspector.locator('[data-testid="weight-card"][data-name="conv1.w"]');
  await expect(card).toContainText('float32');
  await expect(card.getByTestId('weight-shape')).toHaveText('[8, 3, 3, 3]');
  await expect(card.getByTestId('weight-bytes')).toHaveAttribute('data-value', '864');
  const w = Array.from(CONV1_W);
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  await expect(card.getByTestId('stat-min')).toHaveAttribute('data-value', String(Math.min(...w)));
  await expect(card.getByTestId('stat-max')).toHaveAttribute('data-value', String(Math.max(...w)));
  expect(Math.abs(Number(await card.getByTestId('stat-mean').getAttribute('data-value')) - mean)).toBeLessThan(1e-9);
  // every 5th of 216 values is zero: 44 zeros
  await expect(card.getByTestId('stat-sparsity')).toHaveAttribute('data-value', String(44 / 216));
  await expect(card.getByTestId('stat-sparsity')).toContainText('20.4%');
  const histogram = card.getByTestId('histogram');
  await expect(histogram).toHaveAttribute('data-bins', '64');
  await expect(histogram.locator('.recharts-bar-rectangle').first()).toBeVisible();

  // int4 for this layer: the projected size drops by exactly 864 - 140 bytes.
  await inspector.getByTestId('layer-weights-int4').click();
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_INT4));
  await expect(page.getByTestId('layer-size')).toHaveAttribute('data-after', String(140 + 32));
  await expect(node.getByTestId('graph-node-bits')).toHaveText('int4');

  // Back to the overview: prune the /head/ group by 50% with a bulk edit.
  await page.getByTestId('inspector-back').click();
  await page.getByTestId('bulk-scope-group').click();
  await page.getByTestId('bulk-group').selectOption('/head/');
  await expect(page.getByTestId('bulk-count')).toHaveAttribute('data-value', '2');
  await page.getByTestId('bulk-prune-number').fill('50');
  // Before Apply, the preview says exactly what changes: pruning on both layers, nothing else.
  await expect(page.getByTestId('bulk-change')).toHaveCount(1);
  await expect(page.locator('[data-testid="bulk-change"][data-key="prune"]')).toHaveAttribute('data-layers', '2');
  await page.getByTestId('bulk-apply').click();
  // Magnitude pruning keeps the stored size and shows what a zip would make of the zeros.
  await expect(page.getByTestId('summary-zip')).toHaveAttribute('data-weights', String(ZIP_HEAD_HALF));
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_INT4));
  for (const key of ['/head/proj/MatMul', '/head/fc/MatMul']) {
    await expect(page.locator(`[data-testid="layer-list-row"][data-key="${key}"]`)).toContainText('prune 50%');
  }
  // Channel pruning really shrinks the tensors.
  await page.getByTestId('bulk-prune-method-channel').click();
  await page.getByTestId('bulk-apply').click();
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_HEAD_CHANNELS));
  await expect(after(page)).toHaveAttribute('data-value', String(AFTER_HEAD_CHANNELS + FILE_BYTES - BYTES));
  await expect(page.getByTestId('summary-ratio')).toHaveText(`${(FILE_BYTES / (AFTER_HEAD_CHANNELS + FILE_BYTES - BYTES)).toFixed(2)}× smaller`);
  // A new scope starts from nothing (issue #13: prune chosen for /head/ is not carried to the Convs).
  await page.getByTestId('bulk-scope-op').click();
  await page.getByTestId('bulk-op').selectOption('Conv');
  await expect(page.getByTestId('bulk-patch')).toHaveCount(0);
  await expect(page.getByTestId('bulk-apply')).toBeDisabled();
  await expect(page.getByTestId('bulk-prune-number')).toHaveValue('0');
  await page.getByTestId('bulk-weights-int8').click();
  await expect(page.getByTestId('bulk-change')).toHaveCount(1);
  await expect(page.locator('[data-testid="bulk-change"][data-key="weights"]')).toContainText('→ int8');

  // Undo, step by step (button and keyboard), and redo.
  await page.getByTestId('undo').click();
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_INT4));
  await expect(page.getByTestId('summary-zip')).toHaveAttribute('data-weights', String(ZIP_HEAD_HALF));
  await page.locator('body').click({ position: { x: 5, y: 880 } });
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('summary-zip')).toHaveCount(0);
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_INT4));
  await page.getByTestId('undo').click();
  await expect(after(page)).toHaveAttribute('data-weights', String(BYTES));
  await expect(page.getByTestId('undo')).toBeDisabled();
  await expect(node.getByTestId('graph-node-bits')).toHaveCount(0);
  await page.keyboard.press('Control+Shift+z');
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_INT4));
});

test('a recipe import names the bad key and changes nothing; a good one applies', async ({ page }) => {
  await dropFile(page, chooseNet());
  await expect(after(page)).toHaveAttribute('data-weights', String(BYTES));
  const recipe = (layers: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: {}, layers }));

  await page.getByTestId('recipe-file-input').setInputFiles({
    name: 'bad.recipe.json',
    mimeType: 'application/json',
    buffer: recipe({ '/backbone/conv1/Conv': { weights: 'int4' }, '/backbone/conv9/Conv': { weights: 'int8' } }),
  });
  await expect(page.getByTestId('recipe-import-error')).toContainText('layers["/backbone/conv9/Conv"]: names no layer of this model');
  await expect(after(page)).toHaveAttribute('data-weights', String(BYTES));
  await expect(page.getByTestId('undo')).toBeDisabled();

  await page.getByTestId('recipe-file-input').setInputFiles({
    name: 'good.recipe.json',
    mimeType: 'application/json',
    buffer: recipe({ '/backbone/conv1/Conv': { weights: 'int4' } }),
  });
  await expect(page.getByTestId('recipe-import-error')).toHaveCount(0);
  await expect(after(page)).toHaveAttribute('data-weights', String(AFTER_INT4));

  // Export gives the same recipe back, in the CLI's order.
  const download = page.waitForEvent('download');
  await page.getByTestId('recipe-export').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('choose-net.recipe.json');
  const text = await (await file.createReadStream()).toArray();
  expect(JSON.parse(Buffer.concat(text).toString('utf8'))).toEqual({
    format: 'onnx-compression-recipe',
    version: 1,
    target: 'portable',
    defaults: {},
    layers: { '/backbone/conv1/Conv': { weights: 'int4' } },
  });
});
