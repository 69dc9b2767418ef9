import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../onnx/codec';
import { loadModel } from '../onnx/load';
import type { Model } from '../onnx/types';
import {
  buildHierarchy,
  FIT_VISIBLE,
  fitExpansion,
  initialExpansion,
  isGroupItem,
  itemGroup,
  itemNodes,
  MAX_CHILDREN,
  nameScopes,
  type Hierarchy,
} from './hierarchy';
import { controlFlowModel, transformerModel, unnamedResNet } from './testing/synthetic';
import { buildViewGraph } from './view-graph';

const loaded = (m: Model) => loadModel(encodeModel(m), {}).model;
const hierarchyOf = (m: Model) => buildHierarchy(buildViewGraph(m));

/** Items shown with these groups open (members of open groups, the root's included). */
function visible(h: Hierarchy, open: string[]): number {
  const set = new Set(open);
  let count = 0;
  const stack = [0];
  while (stack.length > 0) {
    const gi = stack.pop()!;
    for (const c of h.groups[gi].children) {
      count++;
      if (isGroupItem(c) && set.has(h.groups[itemGroup(c)].id)) stack.push(itemGroup(c));
    }
  }
  return count;
}

/** Every node sits in exactly one group, and parent links agree with children lists. */
function checkTree(h: Hierarchy): void {
  const seen = new Uint8Array(h.view.nodes.length);
  h.groups.forEach((g, gi) => {
    for (const c of g.children) {
      if (isGroupItem(c)) expect(h.groups[itemGroup(c)].parent).toBe(gi);
      else {
        expect(seen[c]).toBe(0);
        seen[c] = 1;
        expect(h.parentOf[c]).toBe(gi);
      }
    }
  });
  expect(seen.every((s) => s === 1)).toBe(true);
}

describe('name scopes', () => {
  it('reads torch, TF and dotted names; numbers stay with their segment', () => {
    expect(nameScopes('/encoder/layer.3/attention/self/MatMul')).toEqual(['encoder', 'layer.3', 'attention', 'self']);
    expect(nameScopes('encoder.layer.3.attention.query')).toEqual(['encoder', 'layer.3', 'attention']);
    expect(nameScopes('model/dense_1/MatMul')).toEqual(['model', 'dense_1']);
    expect(nameScopes('/Shape')).toEqual([]);
    expect(nameScopes('Conv_12')).toEqual([]);
    expect(nameScopes('fc1.0')).toEqual([]);
    expect(nameScopes('a'.repeat(3) + '/x'.repeat(100)).length).toBeLessThanOrEqual(24);
  });
});

describe('hierarchy', () => {
  it('groups a scoped transformer by scope: encoder > layer.N > attention ...', () => {
    const h = hierarchyOf(loaded(transformerModel({ layers: 4 })));
    checkTree(h);
    const ids = h.groups.map((g) => g.id);
    expect(ids).toContain('g:encoder');
    expect(ids).toContain('g:encoder/layer.2');
    expect(ids).toContain('g:encoder/layer.2/attention');
    const layer = h.groups[h.byId.get('g:encoder/layer.2')!];
    expect(layer.kind).toBe('scope');
    expect(layer.nodeCount).toBe(35);
    expect(layer.layerKeys).toHaveLength(6);
    // a scope with a single node is no group: the pooler's ReduceMean sits at the top level
    expect(ids.some((id) => id.startsWith('g:pooler'))).toBe(false);
    // layers are in model order
    const enc = h.groups[h.byId.get('g:encoder')!];
    expect(enc.children.map((c) => h.groups[itemGroup(c)].title)).toEqual(['layer.0', 'layer.1', 'layer.2', 'layer.3']);
  });

  it('groups a network without names by structure, no group holding more than MAX_CHILDREN items', () => {
    const h = hierarchyOf(loaded(unnamedResNet(700)));
    checkTree(h);
    expect(h.view.nodes.filter((n) => n.kind === 'op').length).toBe(4904);
    for (const g of h.groups) expect(g.children.length).toBeLessThanOrEqual(MAX_CHILDREN);
    const blocks = h.groups.filter((g) => g.kind === 'block');
    expect(blocks.length).toBeGreaterThan(20);
    // blocks hold consecutive stretches of the network
    for (const b of blocks) {
      const ranks = itemNodes(h, ~h.groups.indexOf(b)).map((v) => h.view.nodes[v].rank).sort((x, y) => x - y);
      const top = new Set(itemNodes(h, ~h.groups.indexOf(b)));
      const between = h.view.nodes.filter((n, i) => n.rank > ranks[0] && n.rank < ranks[ranks.length - 1] && !top.has(i));
      expect(between).toEqual([]);
    }
  });

  it('cuts an unnamed transformer into its repeated layers, where only the residual stream crosses', () => {
    const h = hierarchyOf(loaded(transformerModel({ layers: 24, names: 'none' })));
    const top = h.groups[0].children.filter(isGroupItem).map((c) => c);
    expect(top).toHaveLength(24);
    const signature = (c: number) =>
      itemNodes(h, c)
        .map((v) => h.view.nodes[v])
        .sort((a, b) => a.rank - b.rank)
        .map((n) => n.op)
        .join(',');
    // every block but the first and last is one whole layer: the same 35 ops in the same order
    const middle = top.slice(1, -1).map(signature);
    expect(new Set(middle).size).toBe(1);
    expect(middle[0].split(',')).toHaveLength(35);
  });

  it('opens the deepest level that keeps the view within FIT_VISIBLE items', () => {
    for (const m of [transformerModel({ layers: 28 }), transformerModel({ layers: 28, names: 'none' }), unnamedResNet(700)]) {
      const h = hierarchyOf(loaded(m));
      const open = initialExpansion(h);
      expect(visible(h, open)).toBeLessThanOrEqual(FIT_VISIBLE);
      // one more level would not fit
      const deeper = new Set(open);
      const depth = Math.max(0, ...open.map((id) => h.groups[h.byId.get(id)!].depth));
      for (const g of h.groups) if (g.depth <= depth + 1 && g.kind !== 'control' && g.kind !== 'subgraph') deeper.add(g.id);
      expect(visible(h, [...deeper])).toBeGreaterThan(FIT_VISIBLE);
    }
    // a small model opens completely
    const sample = buildHierarchy(buildViewGraph(loadModel(new Uint8Array(readFileSync('public/sample/digits-cnn.onnx')), {}).model));
    expect(initialExpansion(sample)).toEqual(['g:features', 'g:classifier']);
  });

  it('keeps If/Loop bodies closed until asked, then opens them with their body', () => {
    const h = hierarchyOf(loaded(controlFlowModel()));
    checkTree(h);
    expect(initialExpansion(h)).toEqual([]);
    const c = h.groups[h.byId.get('c:branch')!];
    expect(c.kind).toBe('control');
    expect(c.children.slice(1).map((x) => h.groups[itemGroup(x)].id)).toEqual(['b:branch/then_branch', 'b:branch/else_branch']);
    expect(fitExpansion(h, h.byId.get('c:branch')!, 90)).toEqual(['c:branch', 'b:branch/then_branch', 'b:branch/else_branch']);
  });

  it('is deterministic', () => {
    const m = loaded(transformerModel({ layers: 6, names: 'dot' }));
    const a = hierarchyOf(m);
    const b = hierarchyOf(m);
    expect(b.groups.map((g) => [g.id, g.children])).toEqual(a.groups.map((g) => [g.id, g.children]));
  });
});
