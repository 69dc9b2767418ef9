/**
 * Screenshots at 1280x800 for docs/screenshots/: the top bar after a compression, Explore after a
 * sensitivity scan, Benchmark after a run (wasm, 1 thread), and the Data tab with text lines
 * rendered by the browser for a recognizer-like model. Run with `npm run screenshots`
 * (like `npm run screenshot`, not part of `npm test`).
 */
import { expect, test } from '@playwright/test';
import { encodeModel } from '../src/onnx/codec';
import { recognizerModel } from '../src/testing/recognizer';

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
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
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

test('the Data tab at 1280x800', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/?empty');
  await page.getByTestId('file-input').setInputFiles({ name: 'recognizer.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeModel(recognizerModel(5, null))) });
  await expect(page.getByTestId('topbar-file')).toHaveText('recognizer.onnx', { timeout: 30_000 });
  const urls = await page.evaluate(() => {
    const words = ['invoice 2231', 'total 42.10 EUR', 'Main Street 7', 'receipt no. 3315', 'VAT 19%', 'thank you!', 'card **** 4411', 'date 05.12.2026'];
    return words.map((w, i) => {
      const c = document.createElement('canvas');
      c.width = 360 - i * 10;
      c.height = 52;
      const g = c.getContext('2d')!;
      g.fillStyle = `rgb(${240 - i * 4}, ${236 - i * 3}, 222)`;
      g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = '#1a1a2e';
      g.font = `${26 + (i % 3) * 3}px serif`;
      g.fillText(w, 10, 36);
      return c.toDataURL('image/png');
    });
  });
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-files-input').setInputFiles(urls.map((u, i) => ({ name: `line-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(u.split(',')[1], 'base64') })));
  await page.getByTestId('data-image-width').fill('320');
  await page.getByTestId('data-image-normalize').selectOption('minus1to1');
  await expect(page.getByTestId('data-summary')).toBeVisible({ timeout: 30_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'docs/screenshots/data.png', fullPage: true });
});
