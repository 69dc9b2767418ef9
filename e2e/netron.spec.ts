/**
 * What Netron users expect (issue #13): operator documentation on click, the graph exported as
 * SVG and PNG, and a weight's raw values on demand.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';

const graph = (page: Page) => page.getByTestId('graph-view');
const node = (page: Page, key: string) => page.locator(`[data-testid="graph-node"][data-key="${key}"]`);

async function openSample(page: Page): Promise<void> {
  await page.goto('/');
  await expect(graph(page)).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
}

test('clicking a Conv shows its ONNX schema at the model opset: summary, inputs, attributes, since version', async ({ page }) => {
  await openSample(page);
  await node(page, '/features/conv1/Conv').click();
  const inspector = page.getByTestId('node-inspector');
  await expect(inspector).toHaveAttribute('data-key', '/features/conv1/Conv');
  const doc = inspector.getByTestId('op-doc');
  await expect(doc).toHaveAttribute('data-op', 'Conv');
  // the sample imports ai.onnx opset 13: Conv's schema in force there is Conv-11
  await expect(doc).toHaveAttribute('data-since', '11');
  await expect(inspector.getByTestId('op-doc-since')).toHaveText('Conv · since version 11 (model opset 13)');
  await expect(doc).toContainText(/convolution operator/i);
  await expect(doc.getByTestId('op-doc-input')).toHaveText(['X T', 'W T', 'B T, optional']);
  const attrs = doc.getByTestId('op-doc-attribute');
  for (const name of ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']) {
    await expect(attrs.and(page.locator(`[data-name="${name}"]`))).toHaveCount(1);
  }
  await expect(attrs.and(page.locator('[data-name="group"]'))).toHaveText('group int, default 1');
  await expect(doc.getByTestId('op-doc-constraint')).toContainText(['tensor(float)']);
  // no link in the documentation: it is all offline
  await expect(doc.locator('a')).toHaveCount(0);
});
