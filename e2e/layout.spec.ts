/**
 * The views at 1280x800, measured in the page (issue #13, "What a new user hit"): the top bar
 * fits after a compression and names the open file; the compression panel stays on the Graph tab;
 * Explore's charts get the whole pane; the graph's toolbar never covers the input node, an opened
 * If/Loop body is brought into view, and a long layer name that is cut has a tooltip.
 */
import type { Locator, Page } from '@playwright/test';
import { dropFiles, expect, test } from './helpers';
import { controlFlowModel } from '../src/graph/testing/synthetic';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { makeTensor } from '../src/onnx/tensor';
import { DataType } from '../src/onnx/types';
import { encodeModel } from '../src/onnx/codec';

test.use({ viewport: { width: 1280, height: 800 } });

type Box = { x: number; y: number; width: number; height: number };
const intersects = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Box, b: Box) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.width <= b.x + b.width + 0.5 && a.y + a.height <= b.y + b.height + 0.5;

async function ready(page: Page): Promise<void> {
  await expect(page.getByTestId('graph-view')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
}

/** Every visible element in the top bar ends inside it, and the bar does not scroll or clip. */
async function topBarClipped(page: Page): Promise<string[]> {
  return page.getByTestId('topbar').evaluate((bar) => {
    const r = bar.getBoundingClientRect();
    const out: string[] = [];
    if (bar.scrollWidth > bar.clientWidth) out.push(`bar scrollWidth ${bar.scrollWidth} > clientWidth ${bar.clientWidth}`);
    // the bar's parts and theirs, in the flow (menus and the compression panel float on their own)
    const parts = Array.from(bar.querySelectorAll<HTMLElement>(':scope > *, :scope > * > *, .summary-bar *'));
    for (const el of parts) {
      const b = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (b.width === 0 || b.height === 0 || style.visibility === 'hidden' || style.position === 'fixed' || style.position === 'absolute') continue;
      if (el.closest('.compress-panel, .recent-menu__panel')) continue;
      if (b.right > r.right + 0.5 || b.left < r.left - 0.5 || b.bottom > r.bottom + 0.5) out.push(`${el.tagName}.${el.className} [${Math.round(b.left)}, ${Math.round(b.right)}]`);
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow === 'hidden' && !el.classList.contains('brand__file')) out.push(`${el.className} clips its content`);
    }
    return out;
  });
}

async function box(l: Locator): Promise<Box> {
  const b = await l.boundingBox();
  expect(b, 'element has a box').not.toBeNull();
  return b!;
}

test('the top bar fits at 1280 px after a compression and names the open file; the result panel stays on the Graph tab', async ({ page }) => {
  await page.goto('/');
  await ready(page);
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('summary-ratio')).toBeVisible();

  await expect(page.getByTestId('topbar-file')).toHaveText('digits-cnn.onnx');
  await expect(page.getByTestId('topbar-file')).toBeVisible();
  for (const id of ['undo', 'redo', 'summary-before', 'summary-after', 'open-sample', 'compress-button']) await expect(page.getByTestId(id)).toBeVisible();
  expect(await topBarClipped(page)).toEqual([]);
  // one line at 1280
  expect((await box(page.getByTestId('topbar'))).height).toBeLessThanOrEqual(60);

  // narrower, it wraps rather than clips
  await page.setViewportSize({ width: 900, height: 800 });
  expect(await topBarClipped(page)).toEqual([]);
  await expect(page.getByTestId('undo')).toBeVisible();
  await page.setViewportSize({ width: 1280, height: 800 });

  // the compression panel belongs to the Graph tab: not shown over the others
  await expect(page.getByTestId('compress-panel')).toBeVisible();
  for (const tab of ['explore', 'overview', 'bench', 'compare']) {
    await page.getByTestId(`tab-${tab}`).click();
    await expect(page.getByTestId(`tab-${tab}`)).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByTestId('compress-panel')).toHaveCount(0);
  }
  // asking for it from another tab brings the Graph tab back with it
  await page.getByTestId('compress-show').click();
  await expect(page.getByTestId('tab-graph')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('compress-panel')).toBeVisible();
});

test('Explore gives its charts the whole pane at 1280 px', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/');
  await ready(page);
  await page.getByTestId('tab-explore').click();
  await expect(page.getByTestId('explore-panel')).toBeVisible();
  expect((await box(page.getByTestId('explore-panel'))).width).toBeGreaterThan(1200);
  await page.getByTestId('run-sensitivity').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  const sens = page.getByTestId('sensitivity-chart');
  await expect(sens.locator('.recharts-bar-rectangle').first()).toBeVisible();
  expect((await box(sens)).width).toBeGreaterThan(800);
  // the accuracy/size chart's place (empty until a sweep) is as wide
  expect((await box(page.locator('.explore-chart').first())).width).toBeGreaterThan(800);
  // the layer names are whole (the sample's are short) and carry their full name
  await expect(sens.getByTestId('sensitivity-name')).toHaveCount(4);
  await expect(sens.getByTestId('sensitivity-name').first().locator('title')).toHaveText(/^\/(features|classifier)\//);
  // the legend does not sit on the names
  const legend = await box(sens.locator('.recharts-legend-wrapper'));
  for (const name of await sens.getByTestId('sensitivity-name').all()) expect(intersects(legend, await box(name))).toBe(false);
});

/** A one-layer model: input, a MatMul named `name`, output. */
function oneLayer(name: string): Uint8Array {
  return encodeModel(
    makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [makeNode('MatMul', ['x', 'w'], ['y'], [], { name })],
        initializers: [makeTensor('w', DataType.FLOAT, [4, 4], Array.from({ length: 16 }, (_, i) => i))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 4])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [1, 4])],
      }),
    }),
  );
}

for (const [label, open] of [
  ['the sample', async (page: Page) => page.goto('/')],
  [
    'a small graph',
    async (page: Page) => {
      await page.goto('/?empty');
      await dropFiles(page, [{ name: 'small.onnx', bytes: oneLayer('mm') }]);
    },
  ],
] as const) {
  test(`the graph's toolbar leaves the input node clear, on opening and after Fit: ${label}`, async ({ page }) => {
    await open(page);
    await ready(page);
    const toolbar = page.locator('.gtoolbar');
    const input = page.locator('[data-testid="graph-io"][data-kind="input"]').first();
    await expect(toolbar).toBeVisible();
    expect(intersects(await box(toolbar), await box(input))).toBe(false);
    // F (the toolbar's Fit does the same)
    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('f');
    await page.waitForTimeout(600); // the fit's 250 ms animation
    const pane = await box(page.locator('.react-flow'));
    expect(intersects(await box(toolbar), await box(input))).toBe(false);
    expect(inside(await box(input), pane)).toBe(true);
  });
}

test('an opened If body is brought into view whole', async ({ page }) => {
  await page.goto('/?empty');
  await dropFiles(page, [{ name: 'control-flow.onnx', bytes: encodeModel(controlFlowModel()) }]);
  await ready(page);
  await page.locator('[data-testid="graph-node"][data-key="branch"]').getByTestId('graph-subgraph-toggle').click();
  await ready(page);
  const body = page.locator('[data-testid="graph-box"][data-id="c:branch"]');
  await expect(body).toBeVisible();
  const pane = await box(page.locator('.react-flow'));
  await expect.poll(async () => inside(await box(body), pane), { timeout: 5_000 }).toBe(true);
  await expect(page.locator('[data-testid="graph-node"][data-key="else_neg"]')).toBeInViewport();
});

test('a long layer name cut on its node has its full name as a tooltip', async ({ page }) => {
  const name = `/encoder/layers.11/attention/self/query_projection_with_a_very_long_name/MatMul`;
  await page.goto('/?empty');
  await dropFiles(page, [{ name: 'long-name.onnx', bytes: oneLayer(name) }]);
  await ready(page);
  const label = page.locator(`[data-testid="graph-node"][data-key="${name}"]`).locator('.gnode__name');
  await expect(label).toBeVisible();
  // it is cut (the node is narrower than the name) and says the whole name on hover
  expect(await label.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  await expect(label).toHaveAttribute('title', name);
});
