/**
 * Screenshots at 1280x800 for docs/screenshots/: the top bar after a compression, Explore after a
 * sensitivity scan, and Benchmark after a run (wasm, 1 thread). Run with `npm run screenshots`
 * (like `npm run screenshot`, not part of `npm test`).
 */
import { expect, test } from '@playwright/test';

test.use({ viewport: { width: 1280, height: 800 } });

test('views at 1280x800', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await expect(page.getByTestId('graph-view')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'docs/screenshots/topbar-after-compression.png' });
  await page.getByTestId('compress-close').click();

  await page.getByTestId('tab-explore').click();
  await page.getByTestId('run-sensitivity').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  await page.waitForTimeout(800);
  await page.screenshot({ path: 'docs/screenshots/explore.png' });

  await page.getByTestId('tab-bench').click();
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  await page.getByTestId('bench-max-runs').fill('30');
  await page.getByTestId('bench-max-seconds').fill('1');
  for (const b of ['wasm-1', 'wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (!(await box.isDisabled())) await box.setChecked(b === 'wasm-1');
  }
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await page.getByTestId('bench-chart').scrollIntoViewIfNeeded();
  await page.waitForTimeout(800);
  await page.screenshot({ path: 'docs/screenshots/benchmark.png' });
});
