import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { emptyFile, longChain, pngLike, tinyMlp, tinyMlpExternal, TINY_MLP, type FileSpec } from './fixtures';

test.beforeEach(async ({ page }) => {
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
});

/** Drops files on the page the way a browser does: dragenter/dragover/drop with a DataTransfer. */
async function dropFiles(page: Page, files: FileSpec[]): Promise<void> {
  const payload = files.map((f) => ({
    name: f.name,
    type: f.mimeType ?? '',
    b64: Buffer.from(f.bytes).toString('base64'),
  }));
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const target = document.querySelector('main') ?? document.body;
    for (const type of ['dragenter', 'dragover']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, payload);
  await expect(page.getByTestId('drop-zone')).toHaveClass(/drop-overlay--active/);
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const target = document.querySelector('main') ?? document.body;
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, payload);
  await expect(page.getByTestId('drop-zone')).not.toHaveClass(/drop-overlay--active/);
}

async function pickFiles(page: Page, files: FileSpec[]): Promise<void> {
  await page.getByTestId('file-input').setInputFiles(
    files.map((f) => ({ name: f.name, mimeType: f.mimeType ?? 'application/octet-stream', buffer: Buffer.from(f.bytes) })),
  );
}

async function expectTinyMlpSummary(page: Page, fileName: string, fileBytes: number): Promise<void> {
  // a model opens on the Graph tab; the summary is on the Overview tab
  await page.getByTestId('tab-overview').click();
  const summary = page.getByTestId('summary');
  await expect(summary).toBeVisible();
  await expect(page.getByTestId('summary-file-name')).toHaveText(fileName);
  await expect(page.getByTestId('summary-file-size')).toHaveAttribute('data-value', String(fileBytes));
  await expect(page.getByTestId('summary-ir-version')).toHaveAttribute('data-value', String(TINY_MLP.irVersion));
  await expect(page.getByTestId('summary-producer')).toHaveAttribute('data-value', TINY_MLP.producer);
  await expect(page.getByTestId('summary-opsets').locator('[data-domain=""]')).toContainText(String(TINY_MLP.opset));
  await expect(page.getByTestId('summary-node-count')).toHaveAttribute('data-value', String(TINY_MLP.nodeCount));
  await expect(page.getByTestId('summary-params')).toHaveAttribute('data-value', String(TINY_MLP.params));
  await expect(page.getByTestId('summary-weight-bytes')).toHaveAttribute('data-value', String(TINY_MLP.weightBytes));

  const x = page.locator('[data-testid="input-row"][data-name="x"]');
  await expect(x).toContainText('float32');
  await expect(x.getByTestId('input-shape')).toHaveText('[batch, 4]');
  await expect(page.locator('[data-testid="output-row"][data-name="y"]').getByTestId('output-shape')).toHaveText(
    '[batch, 3]',
  );

  for (const op of ['Gemm', 'Relu', 'MatMul']) {
    await expect(page.locator(`[data-testid="op-count"][data-op="${op}"]`)).toHaveAttribute('data-value', '1');
  }

  const layers = page.getByTestId('layer-row');
  await expect(layers).toHaveCount(2);
  const fc1 = page.locator('[data-testid="layer-row"][data-key="fc1"]');
  await expect(fc1).toContainText('Gemm');
  await expect(fc1.locator('td[data-value]')).toHaveAttribute('data-value', '40');
  await expect(fc1).toContainText('fc1.weight float32 [8, 4]');
  await expect(fc1).toContainText('fc1.bias float32 [8]');
  const head = page.locator('[data-testid="layer-row"][data-key="head"]');
  await expect(head).toContainText('MatMul');
  await expect(head).toContainText('head.weight float32 [8, 3]');
}

test('opens a model dropped anywhere on the page', async ({ page }) => {
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const model = tinyMlp();
  await dropFiles(page, [model]);
  await expectTinyMlpSummary(page, model.name, model.bytes.length);
  await expect(page.getByTestId('error')).toHaveCount(0);
});

test('opens a model and its external data through the file picker', async ({ page }) => {
  const { model, data } = tinyMlpExternal();
  // The model alone: the missing data file is named.
  await pickFiles(page, [model]);
  await expect(page.getByTestId('error-message')).toContainText(data.name);
  await expect(page.getByTestId('summary')).toHaveCount(0);

  // Data file first: the studio still finds the model among the files.
  await pickFiles(page, [data, model]);
  await expectTinyMlpSummary(page, model.name, model.bytes.length);
  await expect(page.getByTestId('summary-data-files')).toContainText(data.name);
  await expect(page.getByTestId('error')).toHaveCount(0);
});

test('names the problem with a file that is not a model, and keeps working', async ({ page }) => {
  await dropFiles(page, [pngLike()]);
  const error = page.getByTestId('error-message');
  await expect(error).toHaveText(/PNG image/);
  await expect(error).not.toContainText('Unexpected');

  await dropFiles(page, [emptyFile()]);
  await expect(error).toHaveText(/empty/i);
  await expect(error).not.toContainText('PNG');

  const model = tinyMlp('after-errors.onnx');
  await dropFiles(page, [model]);
  await expectTinyMlpSummary(page, model.name, model.bytes.length);
  await expect(page.getByTestId('error')).toHaveCount(0);

  // A bad file after a good one: the error shows and the open model stays.
  await pickFiles(page, [pngLike('second.png')]);
  await expect(error).toHaveText(/PNG image/);
  await expect(page.getByTestId('summary-file-name')).toHaveText(model.name);
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await expect(page.getByTestId('error')).toHaveCount(0);
});

test('shows progress while parsing, and Cancel stops it', async ({ page }) => {
  const big = longChain(600_000);
  await pickFiles(page, [big]);
  await expect(page.getByTestId('progress')).toBeVisible();
  await expect(page.getByTestId('progress-bar')).toBeVisible();
  const clicked = Date.now();
  await page.getByTestId('cancel-button').click();
  await expect(page.getByTestId('notice-message')).toHaveText(/cancelled/i);
  expect(Date.now() - clicked).toBeLessThan(3_000);
  await expect(page.getByTestId('progress')).toHaveCount(0);
  await expect(page.getByTestId('summary')).toHaveCount(0);

  // The worker still answers.
  const model = tinyMlp();
  await dropFiles(page, [model]);
  await expectTinyMlpSummary(page, model.name, model.bytes.length);
  await expect(page.getByTestId('notice')).toHaveCount(0);
});

test('runs onnxruntime-web (wasm, threaded) loaded from our own origin', async ({ page, baseURL, requests }) => {
  await page.getByTestId('runtime-check').click();
  const wasm = page.getByTestId('runtime-wasm');
  await expect(wasm).toHaveAttribute('data-available', 'true', { timeout: 60_000 });
  await expect(wasm).toContainText(/threads?/);
  await expect(page.getByTestId('runtime-webgpu')).toBeVisible();
  // The wasm binary was fetched, and from here: the request log does see the workers' traffic.
  const origin = new URL(baseURL!).origin;
  expect(requests.some((u) => u.startsWith(origin) && u.endsWith('.wasm'))).toBe(true);
});

test('a plain start opens the built-in sample model, and the sample button reopens it', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('digits-cnn.onnx');
  await expect(page.getByTestId('summary-node-count')).toHaveAttribute('data-value', '11');

  await dropFiles(page, [tinyMlp('other.onnx')]);
  await expect(page.getByTestId('summary-file-name')).toHaveText('other.onnx');
  await page.getByTestId('open-sample').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('digits-cnn.onnx');
});
