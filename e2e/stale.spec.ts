/**
 * A result made with another recipe than the current one is marked stale wherever it shows
 * (result panel, Benchmark, Compare), after a reload too, and one click compresses again.
 */
import { expect, test } from './helpers';

test('a result from an older recipe is marked stale everywhere, and Compress again clears it', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await page.getByTestId('target-portable').click();
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('result-stale-result')).toHaveCount(0);

  // the recipe changes: the result no longer matches it
  await page.getByTestId('preset-fp16').click();
  await expect(page.getByTestId('result-stale-result')).toBeVisible();
  await page.getByTestId('compress-close').click();
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-stale-result')).toBeVisible();
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-stale-result')).toBeVisible();

  // still stale after a reload (the session keeps the recipe and the result)
  await page.reload();
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-stale-result')).toBeVisible({ timeout: 30_000 });

  // one click: compressed again with the current recipe, no longer stale
  const before = await page.getByTestId('bench-compressed').innerText();
  await page.getByTestId('bench-recompress').click();
  await expect(page.getByTestId('bench-stale-result')).toHaveCount(0, { timeout: 60_000 });
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-compressed')).not.toHaveText(before);
});
