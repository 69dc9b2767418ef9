/**
 * The trade-off explorer on the built-in sample, in real Chromium with onnxruntime-web (wasm):
 * the per-layer sensitivity scan fills the bar chart, the heat overlay marks the graph, a sweep
 * fills the accuracy/size chart, and clicking a point loads its recipe: the graph's colours and
 * the projected size change, and the point is highlighted as the current recipe.
 */
import * as fs from 'node:fs';
import { expect, test } from './helpers';
import { largestPost, POST_PROBE, resetPosts } from './post-probe';

test('sensitivity, sweep, and a chart point loaded onto the graph', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto('/');
  await expect(page.locator('[data-testid="graph-node"][data-key="/features/conv1/Conv"]')).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('tab-explore').click();
  await expect(page.getByTestId('explore-panel')).toBeVisible();
  await expect(page.getByTestId('explore-data')).toContainText('322 evaluation samples');

  // Sensitivity: 4 layers x 5 probes, measured in workers.
  await page.getByTestId('run-sensitivity').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('sensitivity-chart')).toHaveAttribute('data-layers', '4');
  await expect(page.getByTestId('sensitivity-chart').locator('.recharts-bar-rectangle').first()).toBeVisible();
  await expect(page.getByTestId('explore-status')).toContainText(/labeled accuracy \(original \d+\.\d+%\)/);

  // Heat overlay on the graph (the Graph tab: Explore gives its charts the whole pane): every
  // layer gets a heat value, the most sensitive 1.00.
  await page.getByTestId('explore-heat').check();
  await page.getByTestId('tab-graph').click();
  const heated = page.locator('[data-testid="graph-node"][data-heat]');
  await expect(heated).toHaveCount(4);
  await expect(page.locator('[data-testid="graph-node"][data-heat="1.00"]')).toHaveCount(1);

  // The inspector shows the numbers of a selected layer.
  await page.locator('[data-testid="graph-node"][data-key="/features/conv1/Conv"]').click();
  await expect(page.getByTestId('layer-sensitivity').locator('tr[data-probe]')).toHaveCount(5);
  await page.getByTestId('tab-explore').click();

  // Sweep: uniform settings and mixed configurations; points appear as measured.
  const before = await page.getByTestId('summary-after').getAttribute('data-value');
  await page.getByTestId('tab-graph').click();
  const weightsBefore = await page.locator('[data-testid="graph-node"][data-key="/classifier/fc1/Gemm"]').getAttribute('data-weights');
  await page.getByTestId('tab-explore').click();
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  const chart = page.getByTestId('pareto-chart');
  expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(8);
  expect(Number(await chart.getAttribute('data-front'))).toBeGreaterThanOrEqual(1);
  await expect(chart.locator('[data-testid="pareto-point"][data-kind="uniform"]')).toHaveCount(6);
  await expect(chart.locator('[data-testid="pareto-point"][data-kind="original"]')).toHaveCount(1);
  // the original is the current recipe (nothing chosen yet)
  await expect(chart.locator('[data-testid="pareto-point"][data-kind="original"]')).toHaveAttribute('data-current', 'true');

  if (process.env.EXPLORE_SHOT) await page.screenshot({ path: process.env.EXPLORE_SHOT });

  // The same points against latency on wasm (measured with each candidate), with their own front;
  // the CSV carries each point's latency.
  const shown = await chart.locator('[data-testid="pareto-point"]').count();
  await page.getByTestId('pareto-axis-latency').click();
  await expect(chart).toHaveAttribute('data-axis', 'latency');
  await expect(chart.locator('[data-testid="pareto-point"]')).toHaveCount(shown);
  expect(Number(await chart.getAttribute('data-front'))).toBeGreaterThanOrEqual(1);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  const lines = fs.readFileSync((await csv.path())!, 'utf8').trim().split('\n');
  // CSV fields: quoted ones may hold commas
  const fields = (line: string) => Array.from(line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g), (m) => m[1]).slice(0, -1);
  const col = fields(lines[0]).indexOf('latency_ms_wasm_1_thread');
  expect(col).toBeGreaterThan(0);
  expect(lines.length - 1).toBe(Number(await chart.getAttribute('data-points')));
  for (const line of lines.slice(1)) expect(Number(fields(line)[col])).toBeGreaterThan(0);
  await page.getByTestId('pareto-axis-size').click();
  await expect(chart).toHaveAttribute('data-axis', 'size');

  // Click a mixed configuration: its recipe is loaded.
  const point = chart.locator('[data-testid="pareto-point"][data-kind="search"]').first();
  const id = await point.getAttribute('data-id');
  await point.dispatchEvent('click');
  await expect(chart.locator(`[data-testid="pareto-point"][data-id="${id}"]`)).toHaveAttribute('data-current', 'true');
  await expect(page.getByTestId('summary-after')).not.toHaveAttribute('data-value', before ?? '');
  await page.getByTestId('tab-graph').click();
  await expect(page.locator('[data-testid="graph-node"][data-key="/classifier/fc1/Gemm"]')).not.toHaveAttribute('data-weights', weightsBefore ?? 'fp32');
  await page.getByTestId('tab-explore').click();
  // undo brings the original recipe back
  await page.getByTestId('undo').click();
  await expect(page.getByTestId('summary-after')).toHaveAttribute('data-value', before ?? '');

  // A search can be cancelled: the measured points stay.
  const count = Number(await chart.getAttribute('data-points'));
  await page.getByTestId('search-goal').selectOption('floor');
  await page.getByTestId('search-floor').fill('0.98');
  await page.getByTestId('run-search').click();
  // the search may need few new points (the sweep measured many): cancel it while it runs; a
  // search that finished first is done, and either way the measured points stay
  const cancel = page.getByTestId('explore-cancel');
  const cancelled = await cancel.click({ timeout: 10_000 }).then(
    () => true,
    () => false,
  );
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', cancelled ? /^(cancelled|done)$/ : 'done');
  expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(count);
  // and the next search runs on fresh workers, finds a recipe and loads it: sizes mean the stored
  // file by default (as the file name and cli autotune --max-size)
  await expect(page.getByTestId('size-basis')).toHaveValue('stored');
  await page.getByTestId('search-goal').selectOption('size');
  await page.getByTestId('search-ratio').fill('20');
  await page.getByTestId('run-search').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('explore-found')).toBeVisible();
  const file = Number(await page.getByTestId('summary-after').getAttribute('data-value'));
  expect(file).toBeLessThanOrEqual(0.2 * Number(await page.getByTestId('summary-before').getAttribute('data-value')));
  // or the projected download (zip estimate), where magnitude pruning counts
  await page.getByTestId('size-basis').selectOption('transfer');
  await page.getByTestId('search-ratio').fill('12');
  await page.getByTestId('run-search').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('explore-found')).toBeVisible();
  // 12% is below uniform int4 (13.5%): only pruning fits, so the budget is the projected download (zip) size
  const found = Number(await page.getByTestId('summary-zip').getAttribute('data-value'));
  expect(found).toBeLessThanOrEqual(0.12 * Number(await page.getByTestId('summary-before').getAttribute('data-value')));
});

test('with recovery: candidates are taught on the calibration part, and a loaded point compresses with recovery', async ({ page }) => {
  test.setTimeout(240_000);
  await page.addInitScript(POST_PROBE);
  await page.goto('/');
  await expect(page.locator('[data-testid="graph-node"][data-key="/features/conv1/Conv"]')).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('tab-explore').click();
  // a sweep without recovery first: its front stays in the chart, dashed, once recovery is on
  await page.getByTestId('explore-prune').uncheck();
  await resetPosts(page);
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  // the explore workers get the evaluation part from the data worker: no message from the page's
  // thread copies the samples (322 x 64 floats; the model's snapshot is copied to each worker beside)
  const sweepPosts = await largestPost(page);
  expect(sweepPosts.count).toBeGreaterThan(0);
  expect(sweepPosts.fromData).toBe(0);
  await page.getByTestId('explore-recovery').check();
  await page.getByTestId('search-goal').selectOption('size');
  await page.getByTestId('search-ratio').fill('20');
  await resetPosts(page);
  await page.getByTestId('run-search').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  // nor, with recovery, the calibration part (128 x 64 floats) the first worker collects H on
  const searchPosts = await largestPost(page);
  expect(searchPosts.count).toBeGreaterThan(0);
  expect(searchPosts.fromData).toBe(0);
  // H from the 128 calibration samples, scored on the 322 evaluation samples
  await expect(page.getByTestId('explore-status')).toContainText('recovery gptq on 128 calibration samples');
  await expect(page.getByTestId('explore-found')).toBeVisible();
  // the sweep shows what recovery buys: the uniform int8 and int4 points without it, beside
  await page.getByTestId('run-sweep').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
  await expect(page.getByTestId('pareto-chart').locator('[data-testid="pareto-point"][data-kind="uniform-rtn"]')).toHaveCount(2);
  expect(Number(await page.getByTestId('pareto-chart').getAttribute('data-other-front'))).toBeGreaterThan(0);
  await expect(page.getByTestId('pareto-chart')).toContainText('front without recovery (earlier run)');
  await expect(page.getByTestId('pareto-chart')).toContainText('Pareto front, with recovery');
  // the found recipe (loaded) asks for recovery: Compress runs it, on the same calibration part
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('compress-notes')).toContainText('recovery gptq: layer inputs from 128 calibration samples');
});
