/**
 * The Compare tab on the built-in sample: compress it (int8 per channel, one layer int4 blocks),
 * open Compare, see both graphs with the changed nodes highlighted (quantized Convs/Gemms,
 * BatchNormalizations folded into their Convs), pan one side and watch the other follow, sort the
 * per-layer table, pick a layer and see the original and decoded histograms with the grid.
 */
import type { Locator, Page } from '@playwright/test';
import { expect, test } from './helpers';

const RECIPE = {
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: 'int8', granularity: 'per-channel', symmetric: true },
  layers: { '/classifier/fc1/Gemm': { weights: 'int4', granularity: 'block', blockSize: 32 } },
};

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('compress-button')).toBeVisible();
});

async function compress(page: Page): Promise<void> {
  await page.getByTestId('recipe-file-input').setInputFiles({
    name: 'recipe.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(RECIPE)),
  });
  await expect(page.getByTestId('recipe-import-error')).toHaveCount(0);
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible();
  await page.getByTestId('compress-close').click();
}

const transform = (pane: Locator) => pane.locator('.react-flow__viewport').evaluate((el) => (el as HTMLElement).style.transform);

test('compare: both graphs, changed nodes, synchronised pan and zoom, sizes, and overlaid weight histograms with the grid', async ({ page }) => {
  // disabled until there is a result
  await expect(page.getByTestId('tab-compare')).toBeDisabled();
  await compress(page);
  await page.getByTestId('tab-compare').click();
  const view = page.getByTestId('compare-view');
  await expect(view).toHaveAttribute('data-state', 'ready');

  // both graphs: the original's 11 nodes, the compressed file's 9 (two BatchNormalizations folded)
  const left = page.getByTestId('compare-pane-original');
  const right = page.getByTestId('compare-pane-compressed');
  await expect(left.getByTestId('compare-node')).toHaveCount(11);
  await expect(right.getByTestId('compare-node')).toHaveCount(9);
  await expect(right.locator('[data-testid="compare-node"][data-op="BatchNormalization"]')).toHaveCount(0);

  // changed nodes highlighted on both sides, with a legend
  const conv1 = right.locator('[data-testid="compare-node"][data-key="/features/conv1/Conv"]');
  await expect(conv1).toHaveAttribute('data-change', /quantized/);
  await expect(conv1).toHaveAttribute('data-change', /absorbed/);
  await expect(conv1.getByTestId('compare-badge')).toHaveText('int8');
  await expect(right.locator('[data-testid="compare-node"][data-key="/classifier/fc1/Gemm"]').getByTestId('compare-badge')).toHaveText('int4');
  const folded = left.locator('[data-testid="compare-node"][data-op="BatchNormalization"]');
  await expect(folded).toHaveCount(2);
  for (const bn of await folded.all()) await expect(bn).toHaveAttribute('data-change', 'folded');
  await expect(left.locator('[data-testid="compare-node"][data-op="Relu"]').first()).toHaveAttribute('data-change', 'unchanged');
  const legend = page.getByTestId('compare-legend');
  await expect(legend.locator('[data-kind="folded"]')).toHaveAttribute('data-count', '2');

  // pan one side: the other follows; zoom the other: the first follows
  const before = await transform(right);
  expect(await transform(left)).toBe(before);
  const box = (await left.boundingBox())!;
  await page.mouse.move(box.x + box.width - 30, box.y + box.height - 30);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width - 150, box.y + box.height - 90, { steps: 8 });
  await page.mouse.up();
  await expect.poll(() => transform(right)).not.toBe(before);
  expect(await transform(right)).toBe(await transform(left));
  const rbox = (await right.boundingBox())!;
  const panned = await transform(left);
  await page.mouse.move(rbox.x + rbox.width / 2, rbox.y + rbox.height / 2);
  await page.mouse.wheel(0, -300);
  await expect.poll(() => transform(left)).not.toBe(panned);
  await expect.poll(async () => (await transform(left)) === (await transform(right))).toBe(true);

  // per-layer sizes, sortable
  const rows = page.getByTestId('compare-layer-row');
  await expect(rows).toHaveCount(4);
  const afterBytes = async () => Promise.all((await rows.all()).map(async (r) => Number(await r.getAttribute('data-after'))));
  await page.getByTestId('compare-sort-after').click();
  const desc = await afterBytes();
  expect(desc).toEqual([...desc].sort((a, b) => b - a));
  await page.getByTestId('compare-sort-after').click();
  const asc = await afterBytes();
  expect(asc).toEqual([...asc].sort((a, b) => a - b));
  for (const r of await rows.all()) expect(Number(await r.getAttribute('data-after'))).toBeLessThan(Number(await r.getAttribute('data-before')));

  // a row selects the layer on both sides and shows its weights: int4 blocks, 16 levels
  await page.locator('[data-testid="compare-layer-row"][data-key="/classifier/fc1/Gemm"]').click();
  await expect(left.locator('[data-testid="compare-node"][data-key="/classifier/fc1/Gemm"]')).toHaveAttribute('data-selected', 'true');
  await expect(right.locator('[data-testid="compare-node"][data-key="/classifier/fc1/Gemm"]')).toHaveAttribute('data-selected', 'true');
  const weights = page.getByTestId('compare-weights');
  await expect(weights).toHaveAttribute('data-state', 'ready');
  await expect(weights).toHaveAttribute('data-key', '/classifier/fc1/Gemm');
  const chart = page.getByTestId('compare-chart');
  await expect(chart).toHaveAttribute('data-levels', '16');
  await expect(chart).toHaveAttribute('data-grid-lines', '16');
  await expect(chart.locator('.recharts-area')).toHaveCount(2);
  await expect(chart.locator('.recharts-reference-line')).toHaveCount(18);
  await expect(page.getByTestId('compare-grid')).toContainText('16 levels');
  await expect(page.getByTestId('compare-group')).toBeVisible();
  await expect(page.getByTestId('compare-group').locator('option').first()).toContainText('widest');

  // a node on the other side selects the same layer: conv2, int8 per channel, 256 levels
  await page.getByTestId('compare-fit').click();
  // the compressed side is drawn on the original's coordinates: the same node at the same place
  const at = async (pane: Locator, key: string) => {
    const p = (await pane.boundingBox())!;
    const b = (await pane.locator(`[data-testid="compare-node"][data-key="${key}"]`).boundingBox())!;
    return { x: Math.round(b.x + b.width / 2 - p.x), y: Math.round(b.y - p.y) };
  };
  for (const key of ['/features/conv1/Conv', '/classifier/fc2/Gemm']) expect(await at(right, key)).toEqual(await at(left, key));
  await right.locator('[data-testid="compare-node"][data-key="/features/conv2/Conv"]').click();
  await expect(weights).toHaveAttribute('data-key', '/features/conv2/Conv');
  await expect(left.locator('[data-testid="compare-node"][data-key="/features/conv2/Conv"]')).toHaveAttribute('data-selected', 'true');
  await expect(chart).toHaveAttribute('data-levels', '256');
  await expect(page.getByTestId('compare-storage')).toContainText('int8 codes via');
  // another channel on request
  const select = page.getByTestId('compare-group');
  const second = await select.locator('option').nth(1).getAttribute('value');
  await select.selectOption(second!);
  await expect(select).toHaveValue(second!);
  await expect(weights).toHaveAttribute('data-state', 'ready');
});

test('compare: the outputs on the evaluation data, measured on wasm from Compare, are the Benchmark figures', async ({ page }) => {
  test.setTimeout(180_000);
  await compress(page);
  await page.getByTestId('tab-compare').click();
  const box = page.getByTestId('compare-fidelity');
  await expect(box).toHaveAttribute('data-state', 'none');
  await box.locator('summary').click();
  await page.getByTestId('compare-fidelity-run').click();
  await expect(box).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  // the sample's 322 evaluation samples (its labeled set): logits judged by cosine and agreement
  const line = page.getByTestId('compare-fidelity-line');
  await expect(line).toContainText('450 labeled samples from digits-test.json, each input [1, 8, 8]; 128 calibrate, 322 evaluate');
  await expect(page.getByTestId('compare-fidelity-random')).toHaveCount(0);
  const out = page.getByTestId('compare-fidelity-output');
  await expect(out).toHaveCount(1);
  const cosine = Number(await out.getAttribute('data-cosine-worst'));
  expect(cosine).toBeGreaterThan(0.95);
  expect(cosine).toBeLessThan(1);
  await expect(box.getByTestId('bench-accuracy-row')).toHaveCount(1);
  // one measurement: the Benchmark tab shows the same figure for the same backend
  const backend = await box.getByTestId('bench-fidelity-row').first().getAttribute('data-backend');
  await page.getByTestId('tab-bench').click();
  const row = page.locator(`[data-testid="bench-fidelity-row"][data-backend="${backend}"]`);
  await expect(row).toHaveAttribute('data-cosine-worst', String(cosine));
});
