/**
 * The memory estimate before opening and compressing (issue #13): when the estimate passes what
 * the browser says the tab has, a warning names both and what to try, and the work goes on. The
 * browser's figure is replaced through the test hook `__studioDebug.memory` (a limit of a few
 * bytes), so a tiny model shows the warning.
 */
import type { Page } from '@playwright/test';
import { formatBytes } from '../src/core/bytes-and-counts';
import { estimateOpenMemory } from '../src/core/memory-estimate';
import { tinyMlp } from './fixtures';
import { dropFiles, expect, test } from './helpers';

async function setMemory(page: Page, memory: { jsHeapSizeLimit?: number; deviceMemoryGiB?: number } | undefined): Promise<void> {
  await page.waitForFunction(() => (globalThis as { __studioDebug?: unknown }).__studioDebug !== undefined);
  await page.evaluate((m) => {
    (globalThis as unknown as { __studioDebug: { memory?: unknown } }).__studioDebug.memory = m ?? undefined;
  }, memory ?? null);
}

test('opening past the tab limit warns with the estimate, the limit and what to try, and the model still opens', async ({ page }) => {
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await setMemory(page, { jsHeapSizeLimit: 100 });
  const file = tinyMlp('warned.onnx');
  await dropFiles(page, [file]);

  const warning = page.getByTestId('memory-warning');
  await expect(warning).toBeVisible();
  const estimate = formatBytes(estimateOpenMemory({ fileBytes: file.bytes.length }).bytes);
  await expect(warning).toHaveText(
    `!Opening this model needs about ${estimate} (1.026x the files), more than 100 B (the browser's heap limit for this tab): the tab may run out of memory. For models over 2 GB use the command line (npm run cli -- compress), which reads weights a tensor at a time; close other tabs to free memory. Going on anyway.×`,
  );
  // the open went on
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('warned.onnx');
  await expect(page.getByTestId('error')).toHaveCount(0);

  // the warning can be dismissed, and an open within the limit shows none
  await warning.getByRole('button', { name: 'Dismiss' }).click();
  await expect(warning).toHaveCount(0);
  await setMemory(page, { jsHeapSizeLimit: 1e12 });
  await dropFiles(page, [tinyMlp('fits.onnx')]);
  await expect(page.getByTestId('summary-file-name')).toHaveText('fits.onnx');
  await expect(warning).toHaveCount(0);
});

test('the browser own figures: no warning for the sample; compressing past a small limit warns and still gives the result', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  // headless Chromium's own performance.memory: the sample is far below it
  await expect(page.getByTestId('memory-warning')).toHaveCount(0);
  expect(await page.evaluate(() => (performance as unknown as { memory?: { jsHeapSizeLimit: number } }).memory?.jsHeapSizeLimit ?? 0)).toBeGreaterThan(1e9);

  await setMemory(page, { deviceMemoryGiB: 1e-6 });
  await page.getByTestId('target-portable').click();
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  const warning = page.getByTestId('compress-memory-warning');
  await expect(warning).toBeVisible();
  await expect(warning).toContainText(/^!Compressing this model needs about \d[\d.]* (KB|MB) \(the open model .+, a copy of its files .+ and 3x the .+ result\), more than 536 B \(half of the device's 0\.000001 GB\): the tab may run out of memory\. Try fewer layers in the recipe, close other tabs, or use the command line/);
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(warning).toBeVisible();
  await expect(page.getByTestId('compress-panel').getByTestId('error')).toHaveCount(0);
});
