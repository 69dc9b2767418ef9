/**
 * Takes docs/screenshot.png for the README: the studio on its built-in sample, the graph with a
 * Conv layer selected and set to int8 in the inspector.
 * Run with `npm run screenshot`. Not part of `npm test`: the `screenshot` project exists only
 * when STUDIO_SCREENSHOT is set.
 */
import { expect, test } from '@playwright/test';

test('README screenshot', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('graph-view')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  const conv = page.locator('[data-testid="graph-node"][data-key="/features/conv2/Conv"]');
  await conv.click();
  await expect(conv).toHaveAttribute('data-selected', 'true');
  await page.getByTestId('inspector').getByTestId('layer-weights-int8').click();
  await expect(page.getByTestId('inspector').getByTestId('histogram').first()).toBeVisible();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: 'docs/screenshot.png' });
});
