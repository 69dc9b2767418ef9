/**
 * Takes docs/screenshot.png for the README: the studio with a real exported model open.
 * Run with `npm run screenshot` (STUDIO_SCREENSHOT_MODEL=path picks another model).
 * Not part of `npm test`: the `screenshot` project exists only when STUDIO_SCREENSHOT is set.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, test } from '@playwright/test';

const MODEL = process.env.STUDIO_SCREENSHOT_MODEL ?? 'src/testing/real/transformer-opset17.onnx';

test('README screenshot', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('file-input').setInputFiles({
    name: basename(MODEL),
    mimeType: 'application/octet-stream',
    buffer: readFileSync(MODEL),
  });
  await expect(page.getByTestId('summary')).toBeVisible();
  await page.getByTestId('runtime-check').click();
  await expect(page.getByTestId('runtime-wasm')).toHaveAttribute('data-available', 'true', { timeout: 60_000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: 'docs/screenshot.png' });
});
