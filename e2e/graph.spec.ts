import type { Page } from '@playwright/test';
import { dropFiles, expect, test } from './helpers';
import { controlFlowModel, transformerModel, unnamedResNet } from '../src/graph/testing/synthetic';
import { encodeModel } from '../src/onnx/codec';

/** Drops a model on the page the way a browser does. */
const dropModel = (page: Page, name: string, bytes: Uint8Array) => dropFiles(page, [{ name, bytes }]);

const graph = (page: Page) => page.getByTestId('graph-view');
const node = (page: Page, key: string) => page.locator(`[data-testid="graph-node"][data-key="${key}"]`);
const group = (page: Page, id: string) => page.locator(`[data-testid="graph-group"][data-id="${id}"]`);
const box = (page: Page, id: string) => page.locator(`[data-testid="graph-box"][data-id="${id}"]`);

async function ready(page: Page): Promise<void> {
  await expect(graph(page)).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
}

test('the sample opens with its graph: Conv and Gemm nodes with their weight shapes, edges with tensor shapes', async ({ page }) => {
  await page.goto('/');
  await ready(page);
  await expect(graph(page)).toHaveAttribute('data-total', '11');
  const conv = node(page, '/features/conv1/Conv');
  await expect(conv).toBeVisible();
  await expect(conv).toHaveAttribute('data-op', 'Conv');
  await expect(conv.getByTestId('graph-weight')).toHaveText(['W[16, 1, 3, 3]', 'B[16]']);
  const gemm = node(page, '/classifier/fc1/Gemm');
  await expect(gemm).toHaveAttribute('data-op', 'Gemm');
  await expect(gemm.getByTestId('graph-weight')).toHaveText(['W[64, 512]', 'B[64]']);
  // the scopes are open frames; the input and output are nodes; edges are labelled with shapes
  await expect(box(page, 'g:features')).toBeVisible();
  await expect(page.locator('[data-testid="graph-io"][data-name="input"]')).toContainText('[batch, 1, 8, 8]');
  await expect(page.locator('[data-testid="graph-edge"][data-shape="[batch, 16, 8, 8]"]').first()).toBeAttached();
  await expect(page.getByTestId('graph-legend')).toContainText('int4');

  // click selects (the inspector reads the same selection), shift-click adds
  await conv.click();
  await expect(conv).toHaveAttribute('data-selected', 'true');
  // the sample is tall: fit it in view (F) so the Gemm below is on screen too
  await page.keyboard.press('f');
  await expect(gemm).toBeInViewport();
  await gemm.click({ modifiers: ['Shift'] });
  await expect(gemm).toHaveAttribute('data-selected', 'true');
  await expect(conv).toHaveAttribute('data-selected', 'true');
  await node(page, '/features/relu1/Relu').click();
  await expect(gemm).toHaveAttribute('data-selected', 'false');
});

test('a 1,000-node model with scoped names opens collapsed; a group opens; Ctrl+K finds and selects a node', async ({ page }) => {
  await page.goto('/?empty');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await dropModel(page, 'transformer28.onnx', encodeModel(transformerModel({ layers: 28 })));
  await ready(page);
  await expect(graph(page)).toHaveAttribute('data-total', '986');
  const shown = Number(await graph(page).getAttribute('data-visible'));
  expect(shown).toBeLessThanOrEqual(160);
  await expect(page.getByTestId('graph-stats')).toContainText('986');
  const attention = group(page, 'g:encoder/layer.0/attention');
  await expect(attention).toBeVisible();
  await expect(attention).toHaveAttribute('data-count', '24');
  await expect(node(page, '/encoder/layer.0/attention/scores/Softmax')).toHaveCount(0);

  // double-click opens the group in place; its members show, its sub-scopes as frames
  await attention.dblclick();
  await ready(page);
  await expect(box(page, 'g:encoder/layer.0/attention')).toBeVisible();
  await expect(node(page, '/encoder/layer.0/attention/scores/Softmax')).toBeVisible();
  await expect(node(page, '/encoder/layer.0/attention/query/MatMul').getByTestId('graph-weight')).toHaveText(['W[16, 16]']);

  // closing the frame folds it back into one node
  await box(page, 'g:encoder/layer.0/attention').getByTestId('graph-box-toggle').click();
  await ready(page);
  await expect(group(page, 'g:encoder/layer.0/attention')).toBeVisible();
  await expect(node(page, '/encoder/layer.0/attention/scores/Softmax')).toHaveCount(0);

  // search: Ctrl+K, type, Enter: the node's groups open and it is selected and in view
  await page.keyboard.press('Control+k');
  const input = page.getByTestId('graph-search-input');
  await expect(input).toBeFocused();
  await input.fill('layer.17/attention/scores/softmax');
  await expect(page.getByTestId('graph-search-hit').first()).toHaveAttribute('data-id', 'n:/encoder/layer.17/attention/scores/Softmax');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('graph-search')).toHaveCount(0);
  await ready(page);
  const softmax = node(page, '/encoder/layer.17/attention/scores/Softmax');
  await expect(softmax).toHaveAttribute('data-selected', 'true');
  await expect(softmax).toBeInViewport();

  // by op type, with the arrow keys; Escape closes
  await page.keyboard.press('/');
  await input.fill('LayerNormalization');
  await expect(page.getByTestId('graph-search-hit')).not.toHaveCount(0);
  await page.keyboard.press('ArrowDown');
  await expect(page.getByTestId('graph-search-hit').nth(1)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('graph-search')).toHaveCount(0);
});

test('a model without node names opens in structural blocks that open on demand', async ({ page }) => {
  await page.goto('/?empty');
  await dropModel(page, 'resnet-unnamed.onnx', encodeModel(unnamedResNet(150)));
  await ready(page);
  const total = Number(await graph(page).getAttribute('data-total'));
  expect(total).toBeGreaterThan(1000);
  const blocks = page.locator('[data-testid="graph-group"][data-id^="root#"]');
  expect(await blocks.count()).toBeGreaterThan(10);
  const first = blocks.first();
  const id = (await first.getAttribute('data-id'))!;
  await first.dblclick();
  await ready(page);
  await expect(box(page, id)).toBeVisible();
  await expect(page.locator('[data-testid="graph-node"][data-op="Conv"]').first()).toBeVisible();
});

test('If and Loop bodies open on demand as nested frames', async ({ page }) => {
  await page.goto('/?empty');
  await dropModel(page, 'control-flow.onnx', encodeModel(controlFlowModel()));
  await ready(page);
  const ifNode = node(page, 'branch');
  await expect(ifNode).toHaveAttribute('data-op', 'If');
  await expect(ifNode.getByTestId('graph-subgraph-toggle')).toContainText('then_branch · else_branch');
  await expect(node(page, 'then_relu')).toHaveCount(0);

  await ifNode.getByTestId('graph-subgraph-toggle').click();
  await ready(page);
  await expect(box(page, 'c:branch')).toBeVisible();
  await expect(box(page, 'b:branch/then_branch')).toBeVisible();
  await expect(box(page, 'b:branch/else_branch')).toBeVisible();
  await expect(node(page, 'then_relu')).toBeVisible();
  await expect(node(page, 'else_neg')).toBeVisible();
  // the body's weight comes from the outer graph and shows on the node that uses it
  await expect(node(page, 'then_matmul').getByTestId('graph-weight')).toHaveText(['W[4, 4]']);

  // the Loop opens too; the If closes again. The open If pushes the Loop below the visible part of
  // the pane (which never scrolls), so its toggle is clicked by event, not at screen coordinates.
  await node(page, 'repeat').getByTestId('graph-subgraph-toggle').dispatchEvent('click');
  await ready(page);
  await expect(node(page, 'loop_add')).toBeAttached();
  await node(page, 'branch').getByTestId('graph-subgraph-toggle').dispatchEvent('click');
  await ready(page);
  await expect(node(page, 'then_relu')).toHaveCount(0);
  await expect(node(page, 'loop_add')).toBeAttached();
});

test('F fits the whole graph in view', async ({ page }) => {
  await page.goto('/?empty');
  await dropModel(page, 'transformer12.onnx', encodeModel(transformerModel({ layers: 12 })));
  await ready(page);
  const viewport = page.locator('.react-flow__viewport');
  const before = await viewport.getAttribute('style');
  await page.locator('.react-flow__pane').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('f');
  await expect.poll(async () => viewport.getAttribute('style')).not.toBe(before);
  // everything drawn fits in the pane once the fit's 250 ms animation has run
  const pane = (await page.locator('.react-flow').boundingBox())!;
  const lastBottom = async () => {
    const last = (await page.locator('[data-testid="graph-io"][data-name="logits"]').boundingBox())!;
    return last.y + last.height;
  };
  await expect.poll(lastBottom).toBeLessThanOrEqual(pane.y + pane.height + 1);
});
