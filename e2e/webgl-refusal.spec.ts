/**
 * WebGL's refusals in the studio's words (issue #13): a model with an If node, benchmarked on
 * WebGL in headless Chromium (WebGL 2 through SwiftShader here), fails with one sentence naming
 * the node and what to do, and onnxruntime's own text below it.
 */
import { encodeModel } from '../src/onnx/codec';
import { ifModel } from '../src/testing/webgl-refusals';
import { dropFiles, expect, test } from './helpers';

test('benchmarking a model with an If node on WebGL says which node WebGL cannot run, and why', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await dropFiles(page, [{ name: 'gate.onnx', bytes: encodeModel(ifModel()) }]);
  await expect(page.getByTestId('compress-button')).toBeVisible();

  // the benchmark compares with a compressed result: compress with the defaults (nothing to change)
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('compress-close').click();

  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-panel')).toBeVisible();
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  const webgl = page.locator('[data-testid="bench-backend"][data-backend="webgl"]');
  await expect(webgl, 'WebGL 2 (SwiftShader) is available to workers in this headless Chromium').toHaveAttribute('data-available', 'true');

  for (const b of ['wasm-1', 'wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (await box.isDisabled()) continue;
    await box.setChecked(b === 'webgl');
  }
  await page.getByTestId('bench-max-runs').fill('3');
  await page.getByTestId('bench-max-seconds').fill('1');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });

  for (const model of ['original', 'compressed']) {
    const row = page.locator(`[data-testid="bench-row"][data-backend="webgl"][data-model="${model}"]`);
    await expect(row).toHaveAttribute('data-ok', 'false');
    await expect(row.getByTestId('bench-error-summary')).toHaveText(
      'WebGL: cannot run node gate (If): subgraphs (the bodies of If, Loop and Scan) are not supported on WebGL; use wasm or WebGPU',
    );
    await expect(row.getByTestId('bench-error-raw')).toContainText('onnxruntime: Failed to load model as ONNX format: Error: graph attribute is not supported yet');
  }
});
