/**
 * The same layout request answered by elkjs (layered, top to bottom), for comparison with our
 * own layered layout (src/graph/layered.ts) and for small levels: see docs/GRAPH.md for when
 * each is used. elkjs is loaded on first use, so the app bundle does not carry it otherwise.
 */
import type { ELK as ElkApi, ElkNode } from 'elkjs/lib/elk-api';
import { DEFAULT_LAYOUT, type LayoutEdgeInput, type LayoutNodeInput, type LayoutResult, type Point } from './layered';

let elk: Promise<ElkApi> | undefined;

async function getElk(): Promise<ElkApi> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default());
  return elk;
}

export async function elkLayout(nodes: readonly LayoutNodeInput[], edges: readonly LayoutEdgeInput[]): Promise<LayoutResult> {
  const api = await getElk();
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.spacing.nodeNode': String(DEFAULT_LAYOUT.nodeGap),
      'elk.layered.spacing.nodeNodeBetweenLayers': String(DEFAULT_LAYOUT.layerGap),
      'elk.layered.spacing.edgeNodeBetweenLayers': '12',
      'elk.edgeRouting': 'POLYLINE',
    },
    children: nodes.map((v, i) => ({
      id: `n${i}`,
      width: v.width,
      height: v.height,
      ...(v.pin ? { layoutOptions: { 'elk.layered.layering.layerConstraint': v.pin < 0 ? 'FIRST' : 'LAST' } } : {}),
    })),
    edges: edges
      .map((e, i) => ({ id: `e${i}`, sources: [`n${e.source}`], targets: [`n${e.target}`], s: e.source, t: e.target }))
      .filter((e) => e.s !== e.t)
      .map(({ id, sources, targets }) => ({ id, sources, targets })),
  };
  const out = await api.layout(graph);
  const x: number[] = [];
  const y: number[] = [];
  let width = 0;
  let height = 0;
  (out.children ?? []).forEach((c, i) => {
    x[i] = c.x ?? 0;
    y[i] = c.y ?? 0;
    width = Math.max(width, x[i] + nodes[i].width);
    height = Math.max(height, y[i] + nodes[i].height);
  });
  const routes: Point[][] = edges.map(() => []);
  for (const e of out.edges ?? []) {
    const i = Number(e.id.slice(1));
    const section = e.sections?.[0];
    routes[i] = (section?.bendPoints ?? []).map((p) => ({ x: p.x, y: p.y }));
  }
  return { x, y, width, height, routes, reversed: edges.map(() => false), layer: nodes.map(() => 0) };
}
