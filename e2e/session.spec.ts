/**
 * One model session and workers that crash, on the built-in sample:
 * - opening, compressing, benchmarking, checking on the runtimes and comparing decode the model
 *   file once (the model worker's; the others get its snapshot or runnable bytes), counted by the
 *   workers' decode reports (`__studioDebug.decodes`, src/workers/kit/debug.ts);
 * - a compress or model worker that dies during a call ends it with a message naming what happened
 *   and what to try; the model and the recipe stay, and the next compression works.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';

interface Debug {
  decodes: { name: string; worker: string }[];
  crash(name: string): boolean;
}

/** The sample is the open model (its overview names it). */
async function sampleIsOpen(page: Page): Promise<void> {
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('digits-cnn.onnx');
  await page.getByTestId('tab-graph').click();
}

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await sampleIsOpen(page);
});

async function compressInt8(page: Page): Promise<void> {
  await page.getByTestId('target-portable').click();
  await page.getByTestId('preset-int8').click();
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
}

const decodes = (page: Page) => page.evaluate(() => (window as unknown as { __studioDebug: Debug }).__studioDebug.decodes.map((d) => `${d.worker}:${d.name}`));
const crash = (page: Page, name: string) => page.evaluate((n) => (window as unknown as { __studioDebug: Debug }).__studioDebug.crash(n), name);

test('the model file is decoded once: open, compress twice, runtime check, benchmark and compare', async ({ page }) => {
  test.setTimeout(240_000);
  await compressInt8(page);
  // a second compression with another recipe: the compress worker still holds the model
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });

  // the runtime check (wasm) runs the model worker's bytes
  await page.getByTestId('compress-verify-run').click();
  await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', /done|failed/, { timeout: 120_000 });
  await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', 'done');
  await page.getByTestId('compress-close').click();

  // the benchmark, on wasm with one thread, few runs
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-panel')).toBeVisible();
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  for (const b of ['wasm-1', 'wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (!(await box.isDisabled())) await box.setChecked(b === 'wasm-1');
  }
  await page.getByTestId('bench-max-runs').fill('5');
  await page.getByTestId('bench-max-seconds').fill('1');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expect(page.locator('[data-testid="bench-row"][data-backend="wasm-1"][data-model="compressed"]')).toHaveAttribute('data-ok', 'true');

  // the compare view
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-view')).toHaveAttribute('data-state', 'ready');

  // the sample was decoded once, by the model worker; the compressed result by the compare view
  // (and by the runtime check, which reads whether it computes in float16)
  const seen = await decodes(page);
  expect(seen.filter((d) => d.endsWith(':digits-cnn.onnx'))).toEqual(['model:digits-cnn.onnx']);
  expect(seen.every((d) => d === 'model:digits-cnn.onnx' || d.endsWith(':compressed.onnx'))).toBe(true);
});

test('a compress worker that crashes ends the compression with what happened and what to try; the model and recipe stay', async ({ page }) => {
  await compressInt8(page);
  const first = await page.getByTestId('compress-result').getAttribute('data-result-id');
  expect(await crash(page, 'compress')).toBe(true);
  await page.getByTestId('compress-button').click();
  const message = page.getByTestId('compress-panel').getByTestId('error-message');
  await expect(message).toHaveText(/^The compress worker stopped unexpectedly \(.*simulated crash.*\)\. The model and the recipe are kept: try again/);
  await expect(page.getByTestId('compress-result')).toHaveCount(0);
  // the model and the recipe are still there, and the next compression (a fresh worker) works
  await sampleIsOpen(page);
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  expect(await page.getByTestId('compress-result').getAttribute('data-result-id')).not.toBe(first);
  await expect(page.locator('[data-testid="compress-layer-row"][data-applied="int8-cast-mul"]')).toHaveCount(4);
});

test('a model worker that crashes fails the call in flight with what to try, and the open model is read again from its files', async ({ page }) => {
  await page.getByTestId('target-portable').click();
  await page.getByTestId('preset-int8').click();
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  // the projection of the int8 recipe has come back from the model worker
  await expect(page.getByTestId('summary-after')).toHaveAttribute('data-value', /^\d+$/);
  await page.waitForTimeout(300);
  expect(await crash(page, 'model')).toBe(true);
  // the first compression asks the model worker for the model: that call meets the crash
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-panel').getByTestId('error-message')).toHaveText(
    /^The model worker stopped unexpectedly \(.*simulated crash.*\)\. The open model is read again from its files/,
  );
  await sampleIsOpen(page);
  await expect(page.getByTestId('defaults-weights-int8')).toHaveAttribute('aria-checked', 'true');
  // the next one works: the model is opened again (from the files it was read from) in a fresh worker
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('[data-testid="compress-layer-row"][data-applied="int8-cast-mul"]')).toHaveCount(4);
  expect((await decodes(page)).filter((d) => d === 'model:digits-cnn.onnx')).toHaveLength(2);
});

test('a data worker that crashes while it hands the samples to Compress: the compression says so, the data is prepared again, and the next Compress recovers on it', async ({ page }) => {
  await page.getByTestId('target-portable').click();
  await page.getByTestId('defaults-weights-int4').click();
  await page.getByTestId('defaults-recovery-gptq').click();
  await page.getByTestId('tab-data').click();
  await expect(page.getByTestId('data-split-line')).toHaveText(/^128 calibrate/, { timeout: 30_000 });
  await page.getByTestId('tab-graph').click();
  // the data worker's next call is the port it opens for the compress worker
  expect(await crash(page, 'data')).toBe(true);
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-panel').getByTestId('error-message')).toHaveText(/^The data worker stopped unexpectedly \(.*simulated crash.*\)/);
  // a fresh data worker prepares the same files again (the crashed one held them)
  await page.getByTestId('tab-data').click();
  await expect(page.getByTestId('data-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('data-split-line')).toHaveText(/^128 calibrate/);
  await page.getByTestId('tab-graph').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('compress-notes')).toContainText('recovery gptq: layer inputs from 128 calibration samples');
});

test('a data worker that crashes while it hands the samples to Benchmark and Explore: each says so, the data is prepared again, and the next run measures on it', async ({ page }) => {
  test.setTimeout(240_000);
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('compress-close').click();
  const preparedAgain = async () => {
    await page.getByTestId('tab-data').click();
    await expect(page.getByTestId('data-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await expect(page.getByTestId('data-split-line')).toHaveText(/^128 calibrate/);
  };
  await preparedAgain();

  // Benchmark: the data worker's next call is the port it opens for the first bench worker
  await page.getByTestId('tab-bench').click();
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  for (const b of ['wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (!(await box.isDisabled())) await box.setChecked(false);
  }
  await page.getByTestId('bench-max-runs').fill('5');
  await page.getByTestId('bench-max-seconds').fill('1');
  expect(await crash(page, 'data')).toBe(true);
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-failed')).toHaveText(/^The data worker stopped unexpectedly \(.*simulated crash.*\)/, { timeout: 30_000 });
  await preparedAgain();
  await page.getByTestId('tab-bench').click();
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expect(page.locator('[data-testid="bench-accuracy-row"][data-backend="wasm-1"] [data-testid="bench-accuracy-compressed"]')).toHaveText(/^\d+\/322 = /);

  // Explore: the same, with the ports its workers ask on
  await page.getByTestId('tab-explore').click();
  await page.getByTestId('explore-prune').uncheck();
  expect(await crash(page, 'data')).toBe(true);
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('explore-error')).toHaveText(/^The data worker stopped unexpectedly \(.*simulated crash.*\)/, { timeout: 30_000 });
  await preparedAgain();
  await page.getByTestId('tab-explore').click();
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  await expect(page.getByTestId('explore-status')).toContainText('322');
});
