/**
 * From the hierarchy and the set of expanded groups to a drawn scene: which items show, their
 * sizes, one layout per expanded group (children first, each group laid out on its own with its
 * expanded children as boxes), absolute positions, and the edges between what shows (aggregated
 * where they enter or leave collapsed groups) with their routes.
 *
 * Layouts are cached per group and per expansion state of what is inside it, so opening a group
 * lays out only that group and the groups around it.
 */
import {
  isGroupItem,
  itemGroup,
  groupItem,
  preOrder,
  type Hierarchy,
  type Item,
} from './hierarchy';
import type { LayoutEdgeInput, LayoutNodeInput, LayoutResult, Point } from './layered';
import type { GraphScene, LayoutEngine, SceneEdge, SceneNode, WeightChip } from './scene-types';
import type { VNode } from './view-graph';

/** Node sizes: the page draws nodes at exactly these sizes. */
export const SIZES = {
  opWidth: 184,
  opBase: 46,
  chipRow: 17,
  maxChipRows: 3,
  subgraphRow: 22,
  ioWidth: 184,
  ioHeight: 44,
  groupWidth: 224,
  groupHeight: 72,
  padX: 16,
  header: 34,
  padBottom: 16,
};

/** Weight chips shown on a node, at most (the rest are counted in a "+N more" row). */
export function shownChips(weights: readonly WeightChip[]): { shown: WeightChip[]; more: number } {
  // Constants of one dtype and shape share a chip (BatchNormalization's four [C] vectors).
  const merged: WeightChip[] = [];
  const byShape = new Map<string, WeightChip>();
  for (const w of weights) {
    if (w.role !== 'const') {
      merged.push(w);
      continue;
    }
    const k = `${w.dtype}:${w.shape.join(',')}`;
    const same = byShape.get(k);
    if (same) same.count = (same.count ?? 1) + 1;
    else {
      const chip = { ...w };
      byShape.set(k, chip);
      merged.push(chip);
    }
  }
  const ordered = merged.sort((a, b) => chipOrder(a) - chipOrder(b) || a.inputIndex - b.inputIndex);
  if (ordered.length <= SIZES.maxChipRows) return { shown: ordered, more: 0 };
  return { shown: ordered.slice(0, SIZES.maxChipRows - 1), more: ordered.length - (SIZES.maxChipRows - 1) };
}
function chipOrder(w: WeightChip): number {
  return w.role === 'weight' ? 0 : w.role === 'bias' ? 1 : w.role === 'other' ? 2 : 3;
}

export function nodeSize(v: VNode): { width: number; height: number } {
  if (v.kind !== 'op') return { width: SIZES.ioWidth, height: SIZES.ioHeight };
  const { shown, more } = shownChips(v.weights);
  const rows = shown.length + (more > 0 ? 1 : 0);
  return {
    width: SIZES.opWidth,
    height: SIZES.opBase + rows * SIZES.chipRow + (rows > 0 ? 4 : 0) + (v.subgraphs.length > 0 ? SIZES.subgraphRow : 0),
  };
}

export type LayoutFn = (nodes: LayoutNodeInput[], edges: LayoutEdgeInput[]) => LayoutResult | Promise<LayoutResult>;

interface GroupLayout {
  /** layout node keys: `${item}` for members, `>${source}` entry points, `<${member}` exit points */
  keys: string[];
  index: Map<string, number>;
  x: number[];
  y: number[];
  w: number[];
  h: number[];
  width: number;
  height: number;
  /** route by "fromKey|toKey" */
  routes: Map<string, Point[]>;
  reversed: Set<string>;
}

/** A bounded cache of group layouts (least recently used goes first). */
export class LayoutCache {
  private map = new Map<string, GroupLayout>();
  constructor(private readonly limit = 400) {}
  get(key: string): GroupLayout | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: GroupLayout): void {
    this.map.set(key, v);
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!);
  }
  get size(): number {
    return this.map.size;
  }
}

export interface SceneOptions {
  layout: LayoutFn;
  engine: LayoutEngine;
  cache?: LayoutCache;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Builds the scene for a set of expanded group ids (unknown ids are ignored; the root is always
 * open), in named steps: which groups show open, each node's visible representative, the edges
 * between what shows (routed through the groups' frames), one layout per open group, absolute
 * positions and scene nodes, and the scene edges' points.
 */
export async function buildScene(h: Hierarchy, expandedIds: readonly string[], options: SceneOptions): Promise<GraphScene> {
  const t0 = now();
  const { groups, view } = h;
  const { shownOpen, isOpen } = openGroups(h, expandedIds);
  const repOf = representatives(h, shownOpen, isOpen);
  const { perGroup, sceneEdges } = routeEdges(h, repOf);
  const { layoutOf, sizeOfItem, computed, layoutMs } = await layoutGroups(h, shownOpen, isOpen, perGroup, options);
  const { sceneNodes, originOf } = placeNodes(h, shownOpen, isOpen, layoutOf, sizeOfItem);
  const sceneIdOf = (item: Item): string => {
    if (!isGroupItem(item)) return view.nodes[item].id;
    const g = groups[itemGroup(item)];
    if (!isOpen[itemGroup(item)] && g.control !== undefined) return view.nodes[g.control].id;
    return g.id;
  };
  const edgesOut = [...sceneEdges.values()].map((agg) => sceneEdge(h, agg, layoutOf, originOf, sceneIdOf));
  edgesOut.sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));

  const root = layoutOf.get(0)!;
  const expanded = shownOpen.filter((gi) => gi !== 0).map((gi) => groups[gi].id).sort();
  return {
    nodes: sceneNodes,
    edges: edgesOut,
    width: root.width,
    height: root.height,
    expanded,
    engine: options.engine,
    layoutMs,
    sceneMs: now() - t0,
    computed,
  };
}

/** The groups shown open (pre-order from the root): only groups whose parents are all open count as open. */
function openGroups(h: Hierarchy, expandedIds: readonly string[]): { shownOpen: number[]; isOpen: Uint8Array } {
  const { groups } = h;
  const open = new Uint8Array(groups.length);
  open[0] = 1;
  for (const id of expandedIds) {
    const gi = h.byId.get(id);
    if (gi !== undefined) open[gi] = 1;
  }
  const shownOpen: number[] = [];
  const stack = [0];
  while (stack.length > 0) {
    const gi = stack.pop()!;
    shownOpen.push(gi);
    for (const c of groups[gi].children) if (isGroupItem(c) && open[itemGroup(c)]) stack.push(itemGroup(c));
  }
  const isOpen = new Uint8Array(groups.length);
  for (const gi of shownOpen) isOpen[gi] = 1;
  return { shownOpen, isOpen };
}

/** The visible representative of every node: itself, or the collapsed group that holds it. */
function representatives(h: Hierarchy, shownOpen: readonly number[], isOpen: Uint8Array): Int32Array {
  const { groups } = h;
  const repOf = new Int32Array(h.view.nodes.length);
  for (const gi of shownOpen) {
    for (const c of groups[gi].children) {
      if (!isGroupItem(c)) repOf[c] = c;
      else if (!isOpen[itemGroup(c)]) {
        for (const g2 of preOrder(groups, itemGroup(c))) {
          for (const c2 of groups[g2].children) if (!isGroupItem(c2)) repOf[c2] = c;
        }
      }
    }
  }
  return repOf;
}

/** One open group's layout edges, and the entry and exit points on its frame. */
interface LayoutEdges {
  edges: Map<string, { from: string; to: string; w: number }>;
  entries: Set<string>;
  exits: Set<string>;
}
/** A step of an edge through a group's frame: the group, and its member the edge runs from or to. */
interface Hop {
  g: number;
  child: Item;
}
/** The view edges between two shown items, aggregated into one scene edge. */
interface Agg {
  a: Item;
  b: Item;
  lca: number;
  ca: Item;
  cb: Item;
  up: Hop[];
  down: Hop[];
  tensors: string[];
  count: number;
  control: boolean;
  firstTensor: string;
  graph: number;
}

/**
 * Edges. Each edge a -> b between shown items runs through the lowest open group holding both
 * (between the two members of it that hold a and b); below that, it leaves each open group
 * around a through an exit point at the group's bottom, and enters each open group around b
 * through an entry point at its top. Each group's layout places its entry and exit points,
 * so edges run around the nodes inside a frame instead of through them.
 */
function routeEdges(h: Hierarchy, repOf: Int32Array): { perGroup: Map<number, LayoutEdges>; sceneEdges: Map<string, Agg> } {
  const { groups, view, parentOf } = h;
  const parentGroup = (item: Item) => (isGroupItem(item) ? groups[itemGroup(item)].parent : parentOf[item]);
  const perGroup = new Map<number, LayoutEdges>();
  const groupEdges = (gi: number): LayoutEdges => {
    let le = perGroup.get(gi);
    if (!le) perGroup.set(gi, (le = { edges: new Map(), entries: new Set(), exits: new Set() }));
    return le;
  };
  const addLayoutEdge = (gi: number, from: string, to: string) => {
    const le = groupEdges(gi);
    const k = `${from}|${to}`;
    const x = le.edges.get(k);
    if (x) x.w++;
    else le.edges.set(k, { from, to, w: 1 });
  };
  const sceneEdges = new Map<string, Agg>();
  for (const e of view.edges) {
    const a = repOf[e.from];
    const b = repOf[e.to];
    if (a === b) continue;
    const sk = `${a},${b}`;
    let agg = sceneEdges.get(sk);
    if (!agg) {
      agg = climbToCommonGroup(groups, parentGroup, a, b, e.tensor, view.nodes[e.from].graph);
      sceneEdges.set(sk, agg);
    }
    addLayoutEdge(agg.lca, `${agg.ca}`, `${agg.cb}`);
    for (const hop of agg.up) {
      groupEdges(hop.g).exits.add(`<${hop.child}`);
      addLayoutEdge(hop.g, `${hop.child}`, `<${hop.child}`);
    }
    for (const hop of agg.down) {
      groupEdges(hop.g).entries.add(`>${a}`);
      addLayoutEdge(hop.g, `>${a}`, `${hop.child}`);
    }
    if (!e.control) {
      if (agg.control) agg.firstTensor = e.tensor;
      agg.control = false;
      if (!agg.tensors.includes(e.tensor)) {
        agg.count++;
        if (agg.tensors.length < 4) agg.tensors.push(e.tensor);
      }
    }
  }
  return { perGroup, sceneEdges };
}

/** Climbs from a and b to the lowest common open group, noting the groups left and entered. */
function climbToCommonGroup(
  groups: Hierarchy['groups'],
  parentGroup: (item: Item) => number,
  a: Item,
  b: Item,
  firstTensor: string,
  graph: number,
): Agg {
  let ca = a;
  let cb = b;
  let pa = parentGroup(ca);
  let pb = parentGroup(cb);
  const up: Hop[] = [];
  const down: Hop[] = [];
  while (pa !== pb) {
    if (groups[pa].depth >= groups[pb].depth) {
      up.push({ g: pa, child: ca });
      ca = groupItem(pa);
      pa = groups[pa].parent;
    } else {
      down.push({ g: pb, child: cb });
      cb = groupItem(pb);
      pb = groups[pb].parent;
    }
  }
  return { a, b, lca: pa, ca, cb, up, down, tensors: [], count: 0, control: true, firstTensor, graph };
}

type SizeOf = (item: Item) => { width: number; height: number };

/** Layouts of the open groups, children before parents, from the cache where the key matches. */
async function layoutGroups(
  h: Hierarchy,
  shownOpen: readonly number[],
  isOpen: Uint8Array,
  perGroup: Map<number, LayoutEdges>,
  options: SceneOptions,
): Promise<{ layoutOf: Map<number, GroupLayout>; sizeOfItem: SizeOf; computed: number; layoutMs: number }> {
  const { groups } = h;
  const { nodes } = h.view;
  const cache = options.cache;
  const layoutOf = new Map<number, GroupLayout>();
  const sizeOfItem: SizeOf = (item) => {
    if (!isGroupItem(item)) return nodeSize(nodes[item]);
    const gi = itemGroup(item);
    if (isOpen[gi]) {
      const l = layoutOf.get(gi)!;
      return { width: l.width + 2 * SIZES.padX, height: l.height + SIZES.header + SIZES.padBottom };
    }
    const g = groups[gi];
    if (g.control !== undefined) return nodeSize(nodes[g.control]);
    return { width: SIZES.groupWidth, height: SIZES.groupHeight };
  };
  /** the open groups inside each open group, for cache keys */
  const openInside = new Map<number, string[]>();
  let computed = 0;
  let layoutMs = 0;
  for (let i = shownOpen.length - 1; i >= 0; i--) {
    const gi = shownOpen[i];
    const g = groups[gi];
    const inside: string[] = [];
    for (const c of g.children) {
      if (isGroupItem(c) && isOpen[itemGroup(c)]) {
        inside.push(groups[itemGroup(c)].id, ...(openInside.get(itemGroup(c)) ?? []), '/');
      }
    }
    openInside.set(gi, inside);
    const le = perGroup.get(gi);
    const edgeList = [...(le?.edges.values() ?? [])];
    // What crosses the frame depends on the outside, so it is part of the key.
    const outside = le ? edgeList.filter((e) => e.from[0] === '>' || e.to[0] === '<').map((e) => `${e.from}|${e.to}`).sort().join(';') : '';
    const key = `${options.engine}|${g.id}|${inside.join(',')}|${outside}`;
    let gl = cache?.get(key);
    if (!gl) {
      const laid = await layoutGroup(g.children, le, edgeList, sizeOfItem, options.layout);
      gl = laid.layout;
      layoutMs += laid.ms;
      computed++;
      cache?.set(key, gl);
    }
    layoutOf.set(gi, gl);
  }
  return { layoutOf, sizeOfItem, computed, layoutMs };
}

/** Lays out one open group: its entry points, its members and its exit points. */
async function layoutGroup(
  children: readonly Item[],
  le: LayoutEdges | undefined,
  edgeList: { from: string; to: string; w: number }[],
  sizeOfItem: SizeOf,
  layout: LayoutFn,
): Promise<{ layout: GroupLayout; ms: number }> {
  const entries = [...(le?.entries ?? [])].sort();
  const exits = [...(le?.exits ?? [])].sort();
  const keys = [...entries, ...children.map((c) => `${c}`), ...exits];
  const index = new Map<string, number>();
  keys.forEach((k, i2) => index.set(k, i2));
  const lnodes: LayoutNodeInput[] = [
    ...entries.map((): LayoutNodeInput => ({ width: 8, height: 0, pin: -1 })),
    ...children.map(sizeOfItem),
    ...exits.map((): LayoutNodeInput => ({ width: 8, height: 0, pin: 1 })),
  ];
  const ledges: LayoutEdgeInput[] = edgeList.map((e) => ({ source: index.get(e.from)!, target: index.get(e.to)!, weight: e.w }));
  const t1 = now();
  const res = await layout(lnodes, ledges);
  const ms = now() - t1;
  const routes = new Map<string, Point[]>();
  const reversed = new Set<string>();
  edgeList.forEach((e, k) => {
    routes.set(`${e.from}|${e.to}`, res.routes[k] ?? []);
    if (res.reversed[k]) reversed.add(`${e.from}|${e.to}`);
  });
  const gl: GroupLayout = {
    keys,
    index,
    x: res.x,
    y: res.y,
    w: lnodes.map((v) => v.width),
    h: lnodes.map((v) => v.height),
    width: res.width,
    height: res.height,
    routes,
    reversed,
  };
  return { layout: gl, ms };
}

/** Absolute positions and scene nodes: each open group's members, placed at its origin. */
function placeNodes(
  h: Hierarchy,
  shownOpen: readonly number[],
  isOpen: Uint8Array,
  layoutOf: Map<number, GroupLayout>,
  sizeOfItem: SizeOf,
): { sceneNodes: SceneNode[]; originOf: Map<number, Point> } {
  const { groups } = h;
  const { nodes } = h.view;
  const sceneNodes: SceneNode[] = [];
  const originOf = new Map<number, Point>();
  originOf.set(0, { x: 0, y: 0 });
  const groupPath = (gi: number): string => {
    const parts: string[] = [];
    for (let p = gi; p > 0; p = groups[p].parent) parts.push(groups[p].title);
    return parts.reverse().join(' / ');
  };
  for (const gi of shownOpen) {
    const gl = layoutOf.get(gi)!;
    const origin = originOf.get(gi)!;
    const depth = groups[gi].depth;
    groups[gi].children.forEach((item) => {
      const k = gl.index.get(`${item}`)!;
      const x = origin.x + gl.x[k];
      const y = origin.y + gl.y[k];
      const size = sizeOfItem(item);
      if (!isGroupItem(item)) {
        // The If/Loop node itself inside its open box: its expand id closes the box.
        const ctl = groups[gi].control === item ? groups[gi].id : undefined;
        sceneNodes.push(opOrIoNode(nodes[item], x, y, size, depth, ctl, ctl ? groups[gi].nodeCount - 1 : undefined));
        return;
      }
      const cg = itemGroup(item);
      const g = groups[cg];
      if (isOpen[cg]) originOf.set(cg, { x: x + SIZES.padX, y: y + SIZES.header });
      if (!isOpen[cg] && g.control !== undefined) {
        sceneNodes.push(opOrIoNode(nodes[g.control], x, y, size, depth, g.id, g.nodeCount - 1));
        return;
      }
      sceneNodes.push(groupNode(h, cg, isOpen[cg] === 1, x, y, size, depth, groupPath(cg)));
    });
  }
  return { sceneNodes, originOf };
}

/** An open group's box, or a collapsed group's card. */
function groupNode(
  h: Hierarchy,
  cg: number,
  open: boolean,
  x: number,
  y: number,
  size: { width: number; height: number },
  depth: number,
  sub: string,
): SceneNode {
  const g = h.groups[cg];
  const { nodes } = h.view;
  if (open) {
    return {
      id: g.id,
      kind: 'box',
      x,
      y,
      width: size.width,
      height: size.height,
      label: g.kind === 'control' ? `${nodes[g.control!].op} · ${nodes[g.control!].key ?? ''}` : g.title,
      sub,
      depth,
      params: g.params,
      nodeCount: g.nodeCount,
      layerKeys: g.layerKeys,
      groupKind: g.kind === 'root' ? 'scope' : g.kind,
    };
  }
  return {
    id: g.id,
    kind: 'group',
    x,
    y,
    width: size.width,
    height: size.height,
    label: g.title,
    sub,
    depth,
    params: g.params,
    nodeCount: g.nodeCount,
    opSummary: g.opCounts.slice(0, 4),
    layerKeys: g.layerKeys,
    groupKind: g.kind === 'root' ? 'scope' : g.kind,
  };
}

/**
 * A scene edge: out of the frames around the source, along the common group's route, into the
 * frames around the target.
 */
function sceneEdge(
  h: Hierarchy,
  agg: Agg,
  layoutOf: Map<number, GroupLayout>,
  originOf: Map<number, Point>,
  sceneIdOf: (item: Item) => string,
): SceneEdge {
  const abs = (gi: number, pts: readonly Point[] | undefined, out: Point[]) => {
    const o = originOf.get(gi)!;
    for (const p of pts ?? []) out.push({ x: p.x + o.x, y: p.y + o.y });
  };
  const pointOf = (gi: number, key: string): Point => {
    const gl = layoutOf.get(gi)!;
    const o = originOf.get(gi)!;
    const k = gl.index.get(key)!;
    return { x: o.x + gl.x[k] + gl.w[k] / 2, y: o.y + gl.y[k] };
  };
  const points: Point[] = [];
  for (const hop of agg.up) {
    const gl = layoutOf.get(hop.g)!;
    const rk = `${hop.child}|<${hop.child}`;
    abs(hop.g, gl.routes.get(rk), points);
    const exit = pointOf(hop.g, `<${hop.child}`);
    points.push({ x: exit.x, y: originOf.get(hop.g)!.y + gl.height + SIZES.padBottom });
  }
  const lk = `${agg.ca}|${agg.cb}`;
  const lcaLayout = layoutOf.get(agg.lca)!;
  abs(agg.lca, lcaLayout.routes.get(lk), points);
  const back = lcaLayout.reversed.has(lk);
  for (let i = agg.down.length - 1; i >= 0; i--) {
    const hop = agg.down[i];
    const gl = layoutOf.get(hop.g)!;
    const entry = pointOf(hop.g, `>${agg.a}`);
    points.push({ x: entry.x, y: originOf.get(hop.g)!.y - SIZES.header });
    abs(hop.g, gl.routes.get(`>${agg.a}|${hop.child}`), points);
  }
  const source = sceneIdOf(agg.a);
  const target = sceneIdOf(agg.b);
  const type = agg.control ? undefined : h.view.typeOf(agg.graph, agg.firstTensor);
  return {
    id: `e:${source}->${target}`,
    source,
    target,
    tensors: agg.tensors,
    count: agg.count,
    dtype: agg.count === 1 ? type?.dtype : undefined,
    shape: agg.count === 1 ? (type?.shape ?? undefined) : undefined,
    points,
    ...(agg.control ? { control: true } : {}),
    ...(back ? { back: true } : {}),
  };
}

function opOrIoNode(
  v: VNode,
  x: number,
  y: number,
  size: { width: number; height: number },
  depth: number,
  expandId: string | undefined,
  bodyCount?: number,
): SceneNode {
  if (v.kind !== 'op') {
    return {
      id: v.id,
      kind: v.kind,
      x,
      y,
      width: size.width,
      height: size.height,
      label: v.name,
      sub: v.kind === 'input' ? 'input' : 'output',
      depth,
      params: 0,
      dtype: v.type?.dtype,
      shape: v.type?.shape ?? null,
      ...(v.weights.length > 0 ? chipsOf(v) : {}),
    };
  }
  return {
    id: v.id,
    kind: 'op',
    x,
    y,
    width: size.width,
    height: size.height,
    key: v.key,
    label: v.op,
    sub: subtitle(v),
    depth,
    params: v.params,
    isLayer: v.isLayer,
    ...chipsOf(v),
    ...(v.subgraphs.length > 0 ? { subgraphs: v.subgraphs.map((s) => s.attr), expandId, nodeCount: bodyCount } : {}),
  };
}

function chipsOf(v: VNode): { weights: WeightChip[]; moreWeights: number } {
  const { shown, more } = shownChips(v.weights);
  return { weights: shown, moreWeights: more };
}

/** The node's short name, unless it says no more than the op type (`/Shape` for a Shape). */
function subtitle(v: VNode): string {
  const short = shortName(v.name);
  const domain = v.domain && v.domain !== 'ai.onnx' ? v.domain : '';
  if (short === v.op) return domain;
  return domain ? `${domain} · ${short}` : short;
}

/** The last two segments of a node name: `/encoder/layer.3/attention/MatMul` -> `attention/MatMul`. */
export function shortName(name: string): string {
  const parts = name.split('/').filter((p) => p.length > 0);
  if (parts.length <= 2) return parts.join('/') || name;
  return parts.slice(-2).join('/');
}
