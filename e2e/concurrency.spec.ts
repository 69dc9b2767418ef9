/**
 * Double clicks and concurrent runs (issue #13): a double click on Compress gives one result, the
 * same as one click; a compression while a benchmark runs ends that benchmark, so the Benchmark
 * tab never shows numbers of one compression next to another's, and a new run measures the new one.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await page.getByTestId('target-portable').click();
});

async function compressedSize(page: Page): Promise<string> {
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  return (await page.getByTestId('compress-compressed-size').getAttribute('data-value'))!;
}

test('a double click on Compress gives one result, the same as one click', async ({ page }) => {
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').dblclick();
  const twice = await compressedSize(page);
  // one result, no error, and no second progress panel left behind
  await expect(page.getByTestId('compress-panel').getByTestId('error')).toHaveCount(0);
  await expect(page.getByTestId('compress-progress')).toHaveCount(0);
  await expect(page.getByTestId('compress-result')).toHaveCount(1);
  await page.getByTestId('compress-close').click();
  await page.getByTestId('compress-button').click();
  expect(await compressedSize(page)).toBe(twice);
});

test('a compression while a benchmark runs ends the benchmark; a new run measures the new result', async ({ page }) => {
  test.setTimeout(180_000);
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  const int8 = await compressedSize(page);
  await page.getByTestId('compress-close').click();

  await page.getByTestId('tab-bench').click();
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  for (const b of ['wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (!(await box.isDisabled()) && (await box.isChecked())) await box.uncheck();
  }
  await page.getByTestId('bench-max-runs').fill('100000');
  await page.getByTestId('bench-max-seconds').fill('30');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'running');

  // another compression meanwhile (from the Graph tab, as a user would)
  await page.getByTestId('tab-graph').click();
  await page.getByTestId('preset-int4 b32').click();
  await page.getByTestId('compress-button').click();
  const int4 = await compressedSize(page);
  expect(Number(int4)).toBeLessThan(Number(int8));

  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-panel')).not.toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('bench-row')).toHaveCount(0);

  await page.getByTestId('bench-max-runs').fill('20');
  await page.getByTestId('bench-max-seconds').fill('1');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(page.locator('[data-testid="bench-row"][data-model="compressed"][data-ok="true"]')).toHaveCount(1);
});
