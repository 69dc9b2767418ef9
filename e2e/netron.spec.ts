/**
 * What Netron users expect (issue #13): operator documentation on click, the graph exported as
 * SVG and PNG, and a weight's raw values on demand.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { decodeModel } from '../src/onnx/codec';
import { tensorValues } from '../src/onnx/tensor';

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

test('the graph downloads as SVG (one text per node label, edges as paths) and as PNG', async ({ page }) => {
  await openSample(page);
  const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('graph-export-svg').click()]);
  expect(svgDownload.suggestedFilename()).toBe('digits-cnn-graph.svg');
  const svg = readFileSync(await svgDownload.path());
  const text = svg.toString('utf8');
  // self-contained: no reference outside the document (only #arrow, the marker inside it)
  expect(text).not.toMatch(/(href|src)=|url\((?!#arrow\))|@import|<image|<foreignObject/);
  const parsed = await page.evaluate((source) => {
    const doc = new DOMParser().parseFromString(source, 'image/svg+xml');
    const svgEl = doc.documentElement;
    const labels = [...doc.querySelectorAll('text.node-label')];
    const rendered = [...document.querySelectorAll<HTMLElement>('.react-flow__node:not(.react-flow__node-edgeLayer)')];
    return {
      error: doc.querySelector('parsererror')?.textContent ?? null,
      root: svgEl.localName,
      ns: svgEl.namespaceURI,
      width: Number(svgEl.getAttribute('width')),
      height: Number(svgEl.getAttribute('height')),
      labelIds: labels.map((t) => t.getAttribute('data-id')).sort(),
      renderedIds: rendered.map((n) => n.dataset.id ?? '').sort(),
      firstLines: Object.fromEntries(labels.map((t) => [t.getAttribute('data-id'), t.querySelector('tspan')?.textContent ?? ''])),
      ops: [...document.querySelectorAll<HTMLElement>('[data-testid="graph-node"]')].map((n) => ({
        id: n.closest<HTMLElement>('.react-flow__node')!.dataset.id!,
        op: n.dataset.op!,
      })),
      rects: doc.querySelectorAll('g.node > rect').length,
      paths: doc.querySelectorAll('path.edge').length,
      domEdges: document.querySelectorAll('[data-testid="graph-edge"]').length,
      edgeLabels: [...doc.querySelectorAll('text.edge-label')].map((t) => t.textContent),
    };
  }, text);
  expect(parsed.error).toBeNull();
  expect(parsed.root).toBe('svg');
  expect(parsed.ns).toBe('http://www.w3.org/2000/svg');
  // one <text> per rendered node (11 ops, the input and output, the scope frames), none missing, none twice
  expect(parsed.labelIds.length).toBeGreaterThanOrEqual(13);
  expect(parsed.labelIds).toEqual(parsed.renderedIds);
  expect(parsed.ops).toHaveLength(11);
  for (const { id, op } of parsed.ops) expect(parsed.firstLines[id]).toBe(op);
  expect(parsed.rects).toBeGreaterThanOrEqual(parsed.labelIds.length);
  expect(parsed.paths).toBe(parsed.domEdges);
  expect(parsed.paths).toBeGreaterThanOrEqual(12);
  expect(parsed.edgeLabels).toContain('[batch, 16, 8, 8]');

  const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('graph-export-png').click()]);
  expect(pngDownload.suggestedFilename()).toBe('digits-cnn-graph.png');
  const png = readFileSync(await pngDownload.path());
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  // drawn at twice the SVG's size (the sample is small enough for the full scale)
  expect(png.readUInt32BE(16)).toBe(parsed.width * 2);
  expect(png.readUInt32BE(20)).toBe(parsed.height * 2);
  expect(png.length).toBeGreaterThan(5_000);
  await expect(page.getByTestId('graph-export-error')).toHaveCount(0);
});

/** The sample's weights as Node reads them from public/sample/digits-cnn.onnx. */
function sampleWeight(name: string): { dims: number[]; values: number[] } {
  const model = decodeModel(new Uint8Array(readFileSync(new URL('../public/sample/digits-cnn.onnx', import.meta.url))));
  const t = model.graph!.initializers.find((x) => x.name === name)!;
  return { dims: t.dims, values: Array.from(tensorValues(t) as Float32Array) };
}

function indexOf(flat: number, dims: number[]): string {
  const index: number[] = [];
  for (let d = dims.length - 1; d >= 0; d--) {
    index.unshift(flat % dims[d]);
    flat = Math.floor(flat / dims[d]);
  }
  return `[${index.join(', ')}]`;
}

test('a weight card shows its raw values on demand, a page at a time, with indices, as stored in the file', async ({ page }) => {
  await openSample(page);
  await node(page, '/features/conv2/Conv').click();
  const card = page.locator('[data-testid="weight-card"][data-name="features.conv2.weight"]');
  const panel = card.getByTestId('tensor-values');
  await expect(panel.getByTestId('tensor-value')).toHaveCount(0);
  await panel.getByTestId('tensor-values-more').click();
  const rows = panel.getByTestId('tensor-value');
  await expect(rows).toHaveCount(256);
  const expected = sampleWeight('features.conv2.weight');
  expect(expected.dims).toEqual([32, 16, 3, 3]);
  const read = () =>
    rows.evaluateAll((trs) => trs.map((tr) => ({ flat: Number(tr.dataset.flat), value: Number(tr.dataset.value), index: tr.firstElementChild!.textContent })));
  let shown = await read();
  expect(shown.map((r) => r.value)).toEqual(expected.values.slice(0, 256));
  expect(shown[0].index).toBe('[0, 0, 0, 0]');
  expect(shown[200].index).toBe(indexOf(200, expected.dims));
  await expect(panel.getByTestId('tensor-values-count')).toHaveText('256 of 4,608 values');
  // the next page
  await expect(panel.getByTestId('tensor-values-more')).toHaveText('Next 256 values');
  await panel.getByTestId('tensor-values-more').click();
  await expect(rows).toHaveCount(512);
  shown = await read();
  expect(shown.map((r) => r.flat)).toEqual(Array.from({ length: 512 }, (_, i) => i));
  expect(shown.map((r) => r.value)).toEqual(expected.values.slice(0, 512));
  expect(shown[300].index).toBe(indexOf(300, expected.dims));
  await expect(panel.getByTestId('tensor-values-count')).toHaveText('512 of 4,608 values');

  // the first conv's 144 weights: one page, and no "next"
  await node(page, '/features/conv1/Conv').click();
  const first = page.locator('[data-testid="weight-card"][data-name="features.conv1.weight"]').getByTestId('tensor-values');
  await first.getByTestId('tensor-values-more').click();
  await expect(first.getByTestId('tensor-value')).toHaveCount(144);
  const values = await first.getByTestId('tensor-value').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.value)));
  expect(values).toEqual(sampleWeight('features.conv1.weight').values);
  await expect(first.getByTestId('tensor-values-more')).toHaveCount(0);
});
