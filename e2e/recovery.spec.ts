/**
 * Recovery in the page (issue #12): the sample at int4 per channel, round to nearest and then with
 * recovery "gptq" on the Data tab's calibration part (the sample's labeled set: 128 calibrate,
 * 322 evaluate). Every layer's output error on the calibration inputs drops, the runtime check on
 * the evaluation samples comes closer to the original, and accuracy on the evaluation part is
 * shown for both; then recovery "sequential" (four rounds aiming at the original outputs). At 50% channel pruning, recovery refits the layers that lost input channels:
 * 99/322 correct without it, 318/322 with it (the original 319/322).
 */
import type { Page } from '@playwright/test';
import { encodeNpy } from '../src/bench/npy';
import { bnNet } from '../src/compress/testing/bn-net';
import { encodeModel } from '../src/onnx/codec';
import { expect, test } from './helpers';
import { largestPost, POST_PROBE, resetPosts } from './post-probe';

async function compressAndMeasure(page: Page, compress = true): Promise<{ cosine: number; accuracy: string; verifyPost: number }> {
  if (compress) await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await resetPosts(page);
  await page.getByTestId('compress-verify-run').click();
  await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const verifyPost = (await largestPost(page)).bytes;
  const cosine = Number(await page.locator('[data-testid="compress-verify-row"][data-backend="wasm"]').getAttribute('data-cosine'));
  await page.getByTestId('compress-close').click();
  await page.getByTestId('tab-bench').click();
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  for (const b of ['wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    await expect(box).toBeVisible();
    if (!(await box.isDisabled())) await box.setChecked(false);
  }
  await page.getByTestId('bench-max-runs').fill('5');
  await page.getByTestId('bench-max-seconds').fill('0.5');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  const accuracy = await page.locator('[data-testid="bench-accuracy-row"][data-backend="wasm-1"] [data-testid="bench-accuracy-compressed"]').innerText();
  await page.getByTestId('tab-graph').click();
  return { cosine, accuracy, verifyPost };
}

/** The sample opened (posts to workers recorded), target portable, int4 per-channel weights. */
async function openSampleAtInt4PerChannel(page: Page): Promise<void> {
  await page.addInitScript(POST_PROBE);
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await page.getByTestId('target-portable').click();
  await page.getByTestId('defaults-weights-int4').click();
  await page.getByTestId('defaults-granularity-per-channel').click();
}

test('the sample at int4 with recovery gptq, then sequential: every layer closer to the original than round to nearest, on the evaluation samples too', async ({ page }) => {
  test.setTimeout(360_000);
  await openSampleAtInt4PerChannel(page);
  const rtn = await compressAndMeasure(page);

  // no memory line without recovery; with it, the estimate before Compress
  await expect(page.getByTestId('recipe-recovery-memory')).toHaveCount(0);
  await page.getByTestId('defaults-recovery-gptq').click();
  await expect(page.getByTestId('recipe-recovery-memory')).toContainText(/^Compressing this model needs about [\d.]+ MB of .*: the open model .* for recovery: the H of one pass of layers at a time [\d.]+ [KMG]?B \(the largest pass; each is freed once its layers are written\)/);
  await resetPosts(page);
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  // the samples go from the data worker to the compress worker: no message from the page's thread
  // carries them (the calibration part alone is 128 x 64 floats, 32 KB; the model is held already)
  const compressPost = await largestPost(page);
  expect(compressPost.count).toBeGreaterThan(0);
  expect(compressPost.bytes).toBeLessThan(1024);
  await expect(page.getByTestId('compress-notes')).toContainText('recovery gptq: layer inputs from 128 calibration samples');
  // the model-level check runs held-out samples (the Data tab's evaluation part), not the ones recovery fitted
  await expect(page.getByTestId('compress-notes')).toContainText("recovery gptq: the model's outputs on 16 evaluation samples (held out from recovery) are closer to the original");
  const rows = page.locator('[data-testid="compress-layer-row"]');
  await expect(rows).toHaveCount(4);
  for (const row of await rows.all()) {
    const before = Number(await row.getAttribute('data-recovery-before'));
    const after = Number(await row.getAttribute('data-recovery-after'));
    expect(after, (await row.getAttribute('data-key')) ?? '').toBeLessThan(before);
  }
  const gptq = await compressAndMeasure(page, false);
  // nor the runtime check's evaluation samples (322 x 64 floats)
  expect(gptq.verifyPost).toBeLessThan(1024);
  console.log(`sample int4 per-channel, runtime check on its evaluation samples: cosine RTN ${rtn.cosine} vs gptq ${gptq.cosine}; accuracy RTN ${rtn.accuracy} vs gptq ${gptq.accuracy}`);
  expect(1 - gptq.cosine).toBeLessThan(1 - rtn.cosine);
  expect(gptq.accuracy).toMatch(/^\d+\/322 = /);
  expect(rtn.accuracy).toMatch(/^\d+\/322 = /);

  // sequential: four rounds, each layer's inputs from the compressed prefix, aiming at the original outputs
  await page.getByTestId('defaults-recovery-sequential').click();
  // the statistics copies and the rounds' prefixes keep weights no node reads: onnxruntime's warning
  // for each ('Removing initializer …') is not logged to the console as an error
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 90_000 });
  expect(consoleErrors.filter((t) => t.includes('Removing initializer'))).toEqual([]);
  await expect(page.getByTestId('compress-notes')).toContainText('recovery sequential: layer inputs from 128 calibration samples');
  // the check's note names the recovery that ran (it said 'recovery gptq:' for sequential too)
  await expect(page.getByTestId('compress-notes')).toContainText("recovery sequential: the model's outputs on 16 evaluation samples (held out from recovery)");
  await expect(page.getByTestId('compress-notes')).toContainText("sequential in 4 rounds (1 + 1 + 1 + 1 layers): each round's layer inputs from the model with the earlier rounds' layers compressed, aiming at the original model's outputs");
  await expect(page.getByTestId('compress-result')).toContainText('sequential');
  const seq = await compressAndMeasure(page, false);
  console.log(`sample int4 per-channel, sequential: cosine ${seq.cosine}, accuracy ${seq.accuracy}`);
  expect(1 - seq.cosine).toBeLessThan(1 - rtn.cosine);
  expect(seq.accuracy).toMatch(/^\d+\/322 = /);
});

test('the sample at 50% channel pruning: recovery refits the layers that lost input channels, accuracy back near the original', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  const recipe = (recovery: string) => ({
    format: 'onnx-compression-recipe',
    version: 1,
    target: 'portable',
    defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'channel', recovery },
    layers: {},
  });
  const load = async (r: object) => {
    await page.getByTestId('recipe-file-input').setInputFiles({ name: 'recipe.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(r)) });
    await expect(page.getByTestId('recipe-import-error')).toHaveCount(0);
  };
  const correct = (accuracy: string) => Number(/^(\d+)\/322/.exec(accuracy)?.[1]);
  await load(recipe('none'));
  const plain = await compressAndMeasure(page);
  await load(recipe('gptq'));
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('[data-testid="compress-layer-row"][data-key="/classifier/fc1/Gemm"]')).toContainText('input columns left refit');
  const refit = await compressAndMeasure(page, false);
  console.log(`sample 50% channel pruning: accuracy ${plain.accuracy} -> with recovery ${refit.accuracy}; runtime check cosine ${plain.cosine} -> ${refit.cosine}`);
  expect(correct(plain.accuracy)).toBeLessThan(250);
  expect(correct(refit.accuracy)).toBeGreaterThanOrEqual(310);
  expect(1 - refit.cosine).toBeLessThan((1 - plain.cosine) / 2);
});

/** Records every value the compression's progress bar shows and every stage, until the result. */
async function watchBar(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __bar: number[]; __stages: string[] };
    w.__bar = [];
    w.__stages = [];
    new MutationObserver(() => {
      const v = document.querySelector('[data-testid="compress-progress"] [data-testid="progress-bar"]')?.getAttribute('aria-valuenow');
      const stage = document.querySelector('[data-testid="compress-stage"]')?.getAttribute('data-stage');
      if (v !== null && v !== undefined && Number(v) !== w.__bar[w.__bar.length - 1]) w.__bar.push(Number(v));
      if (stage && stage !== w.__stages[w.__stages.length - 1]) w.__stages.push(stage);
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

test('recovery sequential: the "Order: by activation" control is there, and the progress says the round and the sample within it; the bar never goes back, and the check is its own stage', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await page.getByTestId('defaults-weights-int4').click();
  await page.getByTestId('defaults-recovery-gptq').click();
  await expect(page.getByTestId('defaults-actOrder')).toBeVisible();
  await page.getByTestId('defaults-recovery-sequential').click();
  // sequential runs GPTQ too: its column order is a choice there as well
  await expect(page.getByTestId('defaults-actOrder')).toBeVisible();
  await page.getByTestId('defaults-actOrder').check();
  await watchBar(page);
  await page.getByTestId('compress-button').click();
  // 128 calibration samples in 4 rounds: never "Sample 300 of 512"
  await expect(page.getByTestId('compress-layer-count')).toHaveText(/^Round [1-4] of 4 · sample \d+ of 128$/, { timeout: 30_000 });
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('compress-notes')).toContainText('sequential in 4 rounds');
  // (the stages' own fractions went from 45% after the rounds back to 5% for the last pass)
  const seen = await page.evaluate(() => {
    const w = window as unknown as { __bar: number[]; __stages: string[] };
    return { bar: w.__bar, stages: w.__stages };
  });
  expect(seen.bar.length).toBeGreaterThan(3);
  expect(seen.bar.every((v, i) => i === 0 || v >= seen.bar[i - 1]), seen.bar.join(' ')).toBe(true);
  expect(seen.stages).toContain('recover');
  expect(seen.stages[seen.stages.length - 1]).toBe('check');
});

test('recovery gptq in both orders: the "Both orders" control, and a download named for it', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
  await page.getByTestId('defaults-weights-int4').click();
  await page.getByTestId('defaults-granularity-per-channel').click();
  await expect(page.getByTestId('defaults-orderSearch')).toHaveCount(0);
  await page.getByTestId('defaults-recovery-gptq').click();
  await page.getByTestId('defaults-orderSearch').check();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 90_000 });
  // each layer solved (its GPTQ error shown), and the file says how it was made
  await expect(page.locator('[data-testid="compress-layer-row"][data-key="/classifier/fc1/Gemm"]')).toContainText('→');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compress-download').click()]);
  expect(download.suggestedFilename()).toBe('digits-cnn.int4-per-channel-gptq-bothorders.portable.onnx');
});

test('recovery bias without data on a model with a BatchNorm before a Conv: corrected from its statistics (data-free), said in the notes', async ({ page }) => {
  // an empty page: the sample, still opening, would otherwise replace the model given here
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await page.getByTestId('file-input').setInputFiles({ name: 'bn-net.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeModel(bnNet('Relu'))) });
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('summary-file-name')).toHaveText('bn-net.onnx');
  await page.getByTestId('tab-graph').click();
  await page.getByTestId('target-portable').click();
  await page.getByTestId('defaults-weights-int4').click();
  await page.getByTestId('defaults-granularity-per-channel').click();
  await page.getByTestId('defaults-recovery-bias').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  // conv2 reads the BatchNorm's output through a Relu; conv1 reads the model input
  await expect(page.getByTestId('compress-notes')).toContainText(
    'recovery bias without samples: 1 of 2 layers corrected from the BatchNorm statistics before it (data-free); 1 reads no BatchNorm output',
  );
});

test('replacing the data: the next Compress, a changed recipe and the runtime check use the new samples, which reach the compress worker from the data worker', async ({ page }) => {
  test.setTimeout(180_000);
  await openSampleAtInt4PerChannel(page);
  await page.getByTestId('defaults-recovery-gptq').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('compress-notes')).toContainText('recovery gptq: layer inputs from 128 calibration samples');
  await page.getByTestId('compress-close').click();

  // ten samples of the sample model's input in one .npy: 5 calibrate, 5 evaluate
  const values = Float32Array.from({ length: 10 * 64 }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37));
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-files-input').setInputFiles({ name: 'ten.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy('float32', [10, 1, 8, 8], values)) });
  await expect(page.getByTestId('data-split-line')).toHaveText(/^5 calibrate .*, 5 evaluate/, { timeout: 30_000 });
  await page.getByTestId('tab-graph').click();
  for (const weights of ['int4', 'int8']) {
    await page.getByTestId(`defaults-weights-${weights}`).click();
    await resetPosts(page);
    await page.getByTestId('compress-button').click();
    await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('compress-notes')).toContainText('recovery gptq: layer inputs from 5 calibration samples of 10 input sets from 1 file');
    await expect(page.getByTestId('compress-notes')).toContainText(/recovery gptq: the model's outputs on 5 evaluation samples/);
    expect((await largestPost(page)).bytes, weights).toBeLessThan(1024);
    await page.getByTestId('compress-verify-run').click();
    await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
    await expect(page.getByTestId('compress-verify-inputs')).toContainText('5 evaluation samples of your data (input float32[1, 1, 8, 8])');
    await page.getByTestId('compress-close').click();
  }
});
