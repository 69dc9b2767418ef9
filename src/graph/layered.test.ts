import { describe, expect, it } from 'vitest';
import { mulberry } from './testing/random-dag';
import { layeredLayout, type LayoutEdgeInput, type LayoutNodeInput, type LayoutResult } from './layered';

function overlaps(r: LayoutResult, nodes: LayoutNodeInput[]): [number, number] | undefined {
  const order = nodes.map((_, i) => i).sort((a, b) => r.x[a] - r.x[b]);
  for (let i = 0; i < order.length; i++) {
    const a = order[i];
    for (let j = i + 1; j < order.length; j++) {
      const b = order[j];
      if (r.x[b] >= r.x[a] + nodes[a].width) break;
      const yOverlap = r.y[a] < r.y[b] + nodes[b].height && r.y[b] < r.y[a] + nodes[a].height;
      if (yOverlap) return [a, b];
    }
  }
  return undefined;
}

/** A network-like DAG: a chain with short branches and `extra` skip edges of up to `reach` nodes. */
function randomDag(n: number, extra: number, seed: number, reach = n): { nodes: LayoutNodeInput[]; edges: LayoutEdgeInput[] } {
  const rnd = mulberry(seed);
  const nodes = Array.from({ length: n }, () => ({ width: 120 + Math.floor(rnd() * 100), height: 40 + Math.floor(rnd() * 60) }));
  const edges: LayoutEdgeInput[] = [];
  for (let i = 1; i < n; i++) edges.push({ source: i - 1 - Math.floor(rnd() * Math.min(i, 3)), target: i });
  for (let k = 0; k < extra; k++) {
    const a = Math.floor(rnd() * n);
    const b = Math.min(n - 1, a + 1 + Math.floor(rnd() * reach));
    if (a !== b) edges.push({ source: a, target: b });
  }
  return { nodes, edges };
}

describe('layered layout', () => {
  it('places nodes without overlaps, every edge pointing down', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { nodes, edges } = randomDag(120, 80, seed);
      const r = layeredLayout(nodes, edges);
      expect(overlaps(r, nodes)).toBeUndefined();
      for (const e of edges) {
        expect(r.y[e.target]).toBeGreaterThan(r.y[e.source] + nodes[e.source].height - 1e-6);
        expect(r.layer[e.target]).toBeGreaterThan(r.layer[e.source]);
      }
      // routes of long edges run down through the layers between the ends
      edges.forEach((e, i) => {
        const pts = r.routes[i];
        expect(pts.length).toBe(r.layer[e.target] - r.layer[e.source] - 1);
        for (let k = 1; k < pts.length; k++) expect(pts[k].y).toBeGreaterThan(pts[k - 1].y);
      });
      for (let i = 0; i < nodes.length; i++) {
        expect(r.x[i]).toBeGreaterThanOrEqual(-1e-6);
        expect(r.x[i] + nodes[i].width).toBeLessThanOrEqual(r.width + 1e-6);
        expect(r.y[i] + nodes[i].height).toBeLessThanOrEqual(r.height + 1e-6);
      }
    }
  });

  it('is deterministic', () => {
    const { nodes, edges } = randomDag(200, 150, 9);
    const a = layeredLayout(nodes, edges);
    const b = layeredLayout(nodes.map((n) => ({ ...n })), edges.map((e) => ({ ...e })));
    expect(b).toEqual(a);
  });

  it('breaks cycles by reversing edges that point back in the given order', () => {
    const nodes = [0, 1, 2].map(() => ({ width: 100, height: 40 }));
    const edges = [
      { source: 0, target: 1 },
      { source: 1, target: 2 },
      { source: 2, target: 0 },
    ];
    const r = layeredLayout(nodes, edges);
    expect(r.reversed).toEqual([false, false, true]);
    expect(r.layer).toEqual([0, 1, 2]);
    expect(overlaps(r, nodes)).toBeUndefined();
  });

  it('keeps a chain in one straight column and a fan-out on one trunk', () => {
    const nodes = Array.from({ length: 6 }, () => ({ width: 100, height: 40 }));
    const chain = [0, 1, 2, 3, 4].map((i) => ({ source: i, target: i + 1 }));
    const r = layeredLayout(nodes, chain);
    expect(new Set(r.x.map((x) => Math.round(x))).size).toBe(1);
    // node 0 feeds every other node: its long edges share one dummy per layer
    const fan = [...chain, ...[2, 3, 4, 5].map((t) => ({ source: 0, target: t }))];
    const f = layeredLayout(nodes, fan);
    const trunk = new Set<string>();
    fan.forEach((_, i) => f.routes[i].forEach((p) => trunk.add(`${p.x},${p.y}`)));
    expect(trunk.size).toBe(4);
  });

  it('lays out 5,000 nodes without deep recursion, quickly', () => {
    const { nodes, edges } = randomDag(5000, 1500, 7, 40);
    const t0 = performance.now();
    const r = layeredLayout(nodes, edges);
    const ms = performance.now() - t0;
    expect(overlaps(r, nodes)).toBeUndefined();
    expect(ms).toBeLessThan(10_000);
  });
});
