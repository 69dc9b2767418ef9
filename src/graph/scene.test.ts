import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../onnx/codec';
import { loadModel } from '../onnx/load';
import type { Model } from '../onnx/types';
import { expansionFor, graphReveal, graphScene, graphSearch, openGraph } from './graph-model';
import { controlFlowModel, transformerModel, unnamedResNet } from './testing/synthetic';
import type { GraphScene, SceneNode } from './scene-types';

const fromFile = (path: string) => loadModel(new Uint8Array(readFileSync(path)), { fileName: path }).model;
const fromModel = (m: Model) => loadModel(encodeModel(m), {}).model;

const inside = (a: SceneNode, b: SceneNode) =>
  a.x >= b.x - 1e-6 && a.y >= b.y - 1e-6 && a.x + a.width <= b.x + b.width + 1e-6 && a.y + a.height <= b.y + b.height + 1e-6;
const overlap = (a: SceneNode, b: SceneNode) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Boxes hold their members; nodes at the same level never overlap; every edge joins shown nodes. */
function checkScene(s: GraphScene): void {
  const boxes = s.nodes.filter((n) => n.kind === 'box');
  const leaves = s.nodes.filter((n) => n.kind !== 'box');
  const ids = new Set(s.nodes.map((n) => n.id));
  expect(ids.size).toBe(s.nodes.length);
  // the innermost box around each leaf has depth = leaf depth - 1
  for (const leaf of leaves) {
    const around = boxes.filter((b) => inside(leaf, b));
    expect(around.length).toBe(leaf.depth);
  }
  for (let i = 0; i < leaves.length; i++) {
    for (let j = i + 1; j < leaves.length; j++) expect(overlap(leaves[i], leaves[j])).toBe(false);
  }
  for (const e of s.edges) {
    expect(ids.has(e.source)).toBe(true);
    expect(ids.has(e.target)).toBe(true);
  }
}

describe('scene', () => {
  it('draws the sample with its scopes open, Conv and Gemm showing their weight shapes', async () => {
    const gm = openGraph(fromFile('public/sample/digits-cnn.onnx'));
    const s = await graphScene(gm, gm.info.initialExpanded);
    checkScene(s);
    expect(s.nodes.filter((n) => n.kind === 'box').map((n) => n.id)).toEqual(['g:features', 'g:classifier']);
    const conv = s.nodes.find((n) => n.key === '/features/conv2/Conv')!;
    expect(conv.weights!.map((w) => w.shape)).toEqual([[32, 16, 3, 3], [32]]);
    const flat = s.edges.find((e) => e.target === 'n:/classifier/fc1/Gemm')!;
    expect(flat.shape).toEqual(['batch', 512]);
    // top to bottom: the input above the first conv, the output below the last Gemm
    const y = (id: string) => s.nodes.find((n) => n.id === id)!.y;
    expect(y('i:main:input')).toBeLessThan(y('n:/features/conv1/Conv'));
    expect(y('o:main:logits')).toBeGreaterThan(y('n:/classifier/fc2/Gemm'));
  });

  it('opens a 1,000-node transformer collapsed, aggregates edges, and expands a layer', async () => {
    const gm = openGraph(fromModel(transformerModel({ layers: 28 })));
    expect(gm.info.nodeCount).toBe(986);
    const s = await graphScene(gm, gm.info.initialExpanded);
    checkScene(s);
    expect(s.nodes.length).toBeLessThanOrEqual(160);
    const collapsed = s.nodes.filter((n) => n.kind === 'group');
    expect(collapsed.length).toBeGreaterThan(20);
    // an edge into a collapsed group stands for the tensors it carries
    const into = s.edges.filter((e) => e.target === 'g:encoder/layer.5/attention');
    expect(into.reduce((n, e) => n + e.count, 0)).toBeGreaterThanOrEqual(2);

    const open = expansionFor(gm, 'g:encoder/layer.5/attention');
    expect(open[0]).toBe('g:encoder/layer.5/attention');
    const s2 = await graphScene(gm, [...s.expanded, ...open]);
    checkScene(s2);
    expect(s2.nodes.some((n) => n.key === '/encoder/layer.5/attention/scores/Softmax')).toBe(true);
    // only the opened group and the groups around it were laid out again
    expect(s2.computed).toBeLessThanOrEqual(open.length + 3);
  });

  it('gives the same scene for the same request', async () => {
    const m = fromModel(transformerModel({ layers: 6, names: 'none' }));
    const a = await graphScene(openGraph(m), ['root#2']);
    const b = await graphScene(openGraph(m), ['root#2']);
    expect({ ...b, layoutMs: 0, sceneMs: 0 }).toEqual({ ...a, layoutMs: 0, sceneMs: 0 });
  });

  it('opens an If on demand: a box with the If node and one box per branch', async () => {
    const gm = openGraph(fromModel(controlFlowModel()));
    const s = await graphScene(gm, gm.info.initialExpanded);
    checkScene(s);
    const ifNode = s.nodes.find((n) => n.key === 'branch')!;
    expect(ifNode.subgraphs).toEqual(['then_branch', 'else_branch']);
    expect(ifNode.expandId).toBe('c:branch');
    expect(s.nodes.some((n) => n.key === 'then_relu')).toBe(false);

    const s2 = await graphScene(gm, expansionFor(gm, 'c:branch'));
    checkScene(s2);
    expect(s2.nodes.filter((n) => n.kind === 'box').map((n) => n.id)).toEqual(['c:branch', 'b:branch/then_branch', 'b:branch/else_branch']);
    expect(s2.nodes.find((n) => n.key === 'then_matmul')!.weights![0].shape).toEqual([4, 4]);
    // the If's result leaves its box through the bottom of the frame
    const box = s2.nodes.find((n) => n.id === 'c:branch')!;
    const out = s2.edges.find((e) => e.source === 'n:branch' && e.target === 'n:repeat')!;
    expect(out.points.some((p) => Math.abs(p.y - (box.y + box.height)) < 1e-6)).toBe(true);
    expect(s2.edges.some((e) => e.source === 'n:proj' && e.target === 'n:then_relu')).toBe(true);
  });

  it('lays out 5,000 nodes collapsed, and the real exports', async () => {
    const gm = openGraph(fromModel(unnamedResNet(700)));
    const s = await graphScene(gm, gm.info.initialExpanded);
    checkScene(s);
    expect(s.nodes.length).toBeLessThanOrEqual(150);
    const s2 = await graphScene(gm, [...s.expanded, ...expansionFor(gm, 'root#3')]);
    checkScene(s2);
    for (const f of ['cnn-opset9', 'transformer-opset17', 'lstm-opset11', 'helper-opset13']) {
      const g = openGraph(fromFile(`src/testing/real/${f}.onnx`));
      checkScene(await graphScene(g, g.info.initialExpanded));
    }
  });
});

describe('search', () => {
  it('finds by exact name, op type, substring and fuzzy match, and says what to open', async () => {
    const gm = openGraph(fromModel(transformerModel({ layers: 4 })));
    const exact = graphSearch(gm, '/encoder/layer.2/attention/scores/Softmax');
    expect(exact[0].key).toBe('/encoder/layer.2/attention/scores/Softmax');
    const byOp = graphSearch(gm, 'softmax');
    expect(byOp.slice(0, 4).map((h) => h.op)).toEqual(['Softmax', 'Softmax', 'Softmax', 'Softmax']);
    expect(byOp[0].path).toBe('encoder / layer.0 / attention / scores');
    expect(graphSearch(gm, 'layer.3')[0]).toMatchObject({ kind: 'group', id: 'g:encoder/layer.3' });
    expect(graphSearch(gm, 'encoder/layer.2/attention')[0]).toMatchObject({ kind: 'group', id: 'g:encoder/layer.2/attention' });
    expect(graphSearch(gm, 'lyr3attn').length).toBeGreaterThan(0);
    expect(graphSearch(gm, 'zzzz')).toEqual([]);
    expect(graphReveal(gm, 'n:/encoder/layer.2/attention/scores/Softmax')).toEqual([
      'g:encoder',
      'g:encoder/layer.2',
      'g:encoder/layer.2/attention',
      'g:encoder/layer.2/attention/scores',
    ]);
    const cf = openGraph(fromModel(controlFlowModel()));
    expect(graphReveal(cf, 'n:then_matmul')).toEqual(['c:branch', 'b:branch/then_branch']);
    expect(graphReveal(cf, 'n:branch')).toEqual([]);
  });
});
