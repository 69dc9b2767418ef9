import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test } from './helpers';

test('try: Explore with recovery on PaddleOCR rec in the page', async ({ page }) => {
  test.setTimeout(3_000_000);
  const t0 = Date.now();
  const log = (...a: unknown[]) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s]`, ...a);
  await page.goto('/?empty');
  await page.getByTestId('file-input').setInputFiles('/work/ocr/package/assets/ch_PP-OCRv4_rec_infer.onnx');
  await expect(page.getByTestId('topbar-file')).toHaveText('ch_PP-OCRv4_rec_infer.onnx', { timeout: 60_000 });
  await page.getByTestId('tab-data').click();
  const dir = '/work/ocr/rec';
  await page.getByTestId('data-files-input').setInputFiles(fs.readdirSync(dir).sort().map((f) => path.join(dir, f)));
  await expect(page.getByTestId('data-error')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('data-image-width').fill('320');
  await page.getByTestId('data-image-resize').selectOption('pad');
  await page.getByTestId('data-image-channels').selectOption('bgr');
  await page.getByTestId('data-image-normalize').selectOption('minus1to1');
  await page.getByTestId('data-calibration').fill('64');
  await expect(page.getByTestId('data-split-line')).toContainText('64', { timeout: 60_000 });
  log('split:', await page.getByTestId('data-split-line').innerText());
  await page.getByTestId('tab-explore').click();
  await page.getByTestId('explore-recovery').check();
  await page.getByTestId('search-goal').selectOption('size');
  await page.getByTestId('search-ratio').fill('20');
  const ts = Date.now();
  await page.getByTestId('run-search').click();
  for (let i = 0; i < 600; i++) {
    const phase = await page.getByTestId('explore-status').getAttribute('data-phase');
    if (i % 12 === 0) log(phase, (await page.getByTestId('explore-status').innerText()).replace(/\s+/g, ' ').slice(0, 300));
    if (phase === 'done' || phase === 'error' || phase === 'cancelled') break;
    await page.waitForTimeout(5000);
  }
  log(`search ${(Date.now() - ts) / 1000} s`);
  log('status:', await page.getByTestId('explore-status').innerText());
  log('found:', await page.getByTestId('explore-found').innerText().catch(() => 'none'));
  await page.screenshot({ path: '/work/scratch/explore-rec.png', fullPage: true });
  const tc = Date.now();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 1_200_000 });
  log(`compress ${(Date.now() - tc) / 1000} s`);
  log('notes:', await page.getByTestId('compress-notes').innerText());
  const dl = page.waitForEvent('download');
  await page.getByTestId('compress-download').click();
  const d = await dl;
  await d.saveAs('/work/scratch/explore-rec.onnx');
  log('saved', fs.statSync('/work/scratch/explore-rec.onnx').size);
});
