/**
 * Groups over the view graph, so a big graph opens as a few collapsed boxes:
 * - name scopes: `/encoder/layer.3/attention/MatMul` and `encoder.layer.3.attention.query` give
 *   nested groups `encoder > layer.3 > attention`; a scope holding a single node is no group, and
 *   a scope holding a single group merges with it (`model/encoder`);
 * - structure, where names carry no scopes (empty or generated names) or a scope has too many
 *   members: the members, in topological order, are cut into consecutive blocks at the places
 *   where the fewest tensors cross (between the repeated blocks of a network, since only the
 *   residual stream crosses there), recursively, so no group holds more than MAX_CHILDREN items;
 * - control flow: an If/Loop/Scan node is a group holding the node and one group per body.
 *
 * Everything here is iterative (no recursion over the tree) and deterministic.
 */
import type { GroupKind } from './scene-types';
import type { ViewGraph } from './view-graph';

/** A child of a group: a node index (>= 0) or a group, encoded as ~groupIndex (< 0). */
export type Item = number;
export const groupItem = (g: number): Item => ~g;
export const isGroupItem = (item: Item) => item < 0;
export const itemGroup = (item: Item) => ~item;

export interface Group {
  id: string;
  kind: GroupKind | 'root';
  title: string;
  /** parent group index (-1 for the root) */
  parent: number;
  depth: number;
  children: Item[];
  /** control groups: the control-flow node they hold */
  control?: number;
  /** the view-graph graph its members belong to */
  graph: number;
  /** statistics over everything inside */
  nodeCount: number;
  params: number;
  opCounts: [string, number][];
  layerKeys: string[];
  rank: number;
}

export interface Hierarchy {
  view: ViewGraph;
  groups: Group[];
  /** the group directly holding each node */
  parentOf: Int32Array;
  byId: Map<string, number>;
}

/** Groups never hold more items than this directly; more are split into blocks. */
export const MAX_CHILDREN = 48;
/** Blocks made from one oversized group, at most. */
const MAX_BLOCKS = 24;
/** Target items per block when splitting. */
const BLOCK_SIZE = 36;
/** Scope segments taken from a name, at most (the rest stays in the last one). */
const MAX_SCOPE_DEPTH = 24;
/** Visible items the initial view aims to stay under. */
export const FIT_VISIBLE = 150;

const isNumeric = (s: string) => /^\d+$/.test(s);

/** The scope segments of a node name (without the node's own last segment). */
export function nameScopes(name: string): string[] {
  let parts: string[];
  if (name.includes('/')) {
    parts = name.split('/').filter((p) => p.length > 0);
  } else if (name.includes('.')) {
    // `encoder.layer.3.attention.query`: numbers stay with the segment before them.
    parts = [];
    for (const p of name.split('.')) {
      if (parts.length > 0 && (isNumeric(p) || p === '')) parts[parts.length - 1] += `.${p}`;
      else parts.push(p);
    }
  } else {
    return [];
  }
  const scopes = parts.slice(0, -1);
  if (scopes.length > MAX_SCOPE_DEPTH) {
    const head = scopes.slice(0, MAX_SCOPE_DEPTH - 1);
    head.push(scopes.slice(MAX_SCOPE_DEPTH - 1).join('/'));
    return head;
  }
  return scopes;
}

interface Trie {
  seg: string;
  path: string;
  children: Map<string, Trie>;
  items: (Trie | Item)[];
}

function newTrie(seg: string, path: string): Trie {
  return { seg, path, children: new Map(), items: [] };
}

/** Builds the hierarchy of a view graph. */
export function buildHierarchy(view: ViewGraph): Hierarchy {
  const { nodes } = view;
  const groups: Group[] = [];
  const byId = new Map<string, number>();
  const parentOf = new Int32Array(nodes.length).fill(-1);

  const addGroup: AddGroup = (g) => {
    let id = g.id;
    for (let n = 2; byId.has(id); n++) id = `${g.id}~${n}`;
    const index = groups.length;
    groups.push({ ...g, id, depth: 0, nodeCount: 0, params: 0, opCounts: [], layerKeys: [], rank: 0 });
    byId.set(id, index);
    return index;
  };

  const root = addGroup({ id: 'root', kind: 'root', title: 'Model', parent: -1, children: [], graph: 0 });
  /** the control group of a control-flow node */
  const controlGroup = new Map<number, number>();

  view.graphs.forEach((vg, gi) => {
    let container = root;
    let idPrefix = 'g:';
    let strip = '';
    if (vg.owner >= 0) {
      const ownerKey = nodes[vg.owner].key ?? nodes[vg.owner].name;
      const cg = controlGroup.get(vg.owner)!;
      container = addGroup({ id: `b:${ownerKey}/${vg.attr}`, kind: 'subgraph', title: vg.attr, parent: cg, children: [], graph: gi });
      groups[cg].children.push(groupItem(container));
      idPrefix = `g:${vg.path}|`;
      strip = `${vg.path}/`;
    }

    // The scope trie of this graph's nodes.
    const top = newTrie('', '');
    for (const v of vg.nodes) {
      const node = nodes[v];
      let item: Item = v;
      if (node.subgraphs.length > 0) {
        const cg = addGroup({ id: `c:${node.key ?? node.name}`, kind: 'control', title: node.op, parent: -1, children: [v], graph: gi, control: v });
        controlGroup.set(v, cg);
        parentOf[v] = cg;
        item = groupItem(cg);
      }
      let name = node.kind === 'op' ? node.name : '';
      if (strip && name.startsWith(strip)) name = name.slice(strip.length);
      let t = top;
      for (const seg of nameScopes(name)) {
        let c = t.children.get(seg);
        if (!c) {
          c = newTrie(seg, t.path ? `${t.path}/${seg}` : seg);
          t.children.set(seg, c);
          t.items.push(c);
        }
        t = c;
      }
      t.items.push(item);
    }

    groups[container].children.push(...trieToItems(top, groups, addGroup, idPrefix, gi));
  });

  // Parents, then ranks (minimum node rank inside), computed bottom-up.
  const fixParents = (gi: number) => {
    for (const c of groups[gi].children) {
      if (isGroupItem(c)) groups[itemGroup(c)].parent = gi;
      else parentOf[c] = gi;
    }
  };
  groups.forEach((_, gi) => fixParents(gi));

  const rankOf = (item: Item) => (isGroupItem(item) ? groups[itemGroup(item)].rank : nodes[item].rank);
  const computeRanks = () => {
    for (const gi of postOrder(groups, root)) {
      let r = Number.MAX_SAFE_INTEGER;
      for (const c of groups[gi].children) r = Math.min(r, rankOf(c));
      groups[gi].rank = r;
      groups[gi].children.sort((a, b) => rankOf(a) - rankOf(b));
    }
  };
  computeRanks();

  // Structural blocks for groups with too many direct members.
  const work = groups.map((_, i) => i);
  while (work.length > 0) {
    const gi = work.pop()!;
    if (groups[gi].children.length <= MAX_CHILDREN) continue;
    for (const b of splitIntoBlocks(view, groups, gi, addGroup)) {
      fixParents(b);
      work.push(b);
    }
    fixParents(gi);
  }
  computeRanks();

  depthsAndStats(groups, nodes, root);
  return { view, groups, parentOf, byId };
}

type AddGroup = (g: Omit<Group, 'depth' | 'nodeCount' | 'params' | 'opCounts' | 'layerKeys' | 'rank'>) => number;

/** Post-order over a graph's scope trie: each scope becomes a group, a single item, or a merged chain; returns the top's items. */
function trieToItems(top: Trie, groups: Group[], addGroup: AddGroup, idPrefix: string, gi: number): Item[] {
  let topItems: Item[] = [];
  const result = new Map<Trie, Item | undefined>();
  const stack: { t: Trie; visited: boolean }[] = [{ t: top, visited: false }];
  while (stack.length > 0) {
    const top2 = stack[stack.length - 1];
    if (!top2.visited) {
      top2.visited = true;
      for (const c of top2.t.items) if (typeof c !== 'number') stack.push({ t: c, visited: false });
      continue;
    }
    stack.pop();
    const t = top2.t;
    const items: Item[] = [];
    for (const c of t.items) {
      if (typeof c === 'number') items.push(c);
      else {
        const r = result.get(c);
        if (r !== undefined) items.push(r);
      }
    }
    if (t === top) {
      topItems = items;
      continue;
    }
    if (items.length === 0) {
      result.set(t, undefined);
    } else if (items.length === 1) {
      const only = items[0];
      if (isGroupItem(only) && groups[itemGroup(only)].kind === 'scope') {
        const g = groups[itemGroup(only)];
        g.title = `${t.seg}/${g.title}`;
      }
      result.set(t, only);
    } else {
      const g = addGroup({ id: `${idPrefix}${t.path}`, kind: 'scope', title: t.seg, parent: -1, children: items, graph: gi });
      result.set(t, groupItem(g));
    }
  }
  return topItems;
}

/** Depths (top-down) and statistics (bottom-up): node counts, params, op counts, layer keys. */
function depthsAndStats(groups: Group[], nodes: ViewGraph['nodes'], root: number): void {
  for (const gi of preOrder(groups, root)) {
    const g = groups[gi];
    g.depth = g.parent < 0 ? 0 : groups[g.parent].depth + 1;
  }
  for (const gi of postOrder(groups, root)) {
    const g = groups[gi];
    const ops = new Map<string, number>();
    let count = 0;
    let params = 0;
    const layerKeys: string[] = [];
    for (const c of g.children) {
      if (isGroupItem(c)) {
        const cg = groups[itemGroup(c)];
        count += cg.nodeCount;
        params += cg.params;
        for (const [op, n] of cg.opCounts) ops.set(op, (ops.get(op) ?? 0) + n);
        for (const k of cg.layerKeys) layerKeys.push(k);
      } else {
        const n = nodes[c];
        if (n.kind !== 'op') continue;
        count++;
        params += n.params;
        ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
        if (n.isLayer && n.key) layerKeys.push(n.key);
      }
    }
    g.nodeCount = count;
    g.params = Math.min(params, Number.MAX_SAFE_INTEGER);
    g.opCounts = [...ops.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    g.layerKeys = layerKeys;
  }
}

/** Group indexes, parents before children. */
export function preOrder(groups: readonly Group[], start: number): number[] {
  const out: number[] = [];
  const stack = [start];
  while (stack.length > 0) {
    const gi = stack.pop()!;
    out.push(gi);
    const ch = groups[gi].children;
    for (let i = ch.length - 1; i >= 0; i--) if (isGroupItem(ch[i])) stack.push(itemGroup(ch[i]));
  }
  return out;
}

/** Group indexes, children before parents. */
export function postOrder(groups: readonly Group[], start: number): number[] {
  return preOrder(groups, start).reverse();
}

/** Node indexes inside an item (the node itself, or everything below a group). */
export function itemNodes(h: { groups: readonly Group[] }, item: Item, out: number[] = []): number[] {
  if (!isGroupItem(item)) {
    out.push(item);
    return out;
  }
  for (const gi of preOrder(h.groups, itemGroup(item))) {
    for (const c of h.groups[gi].children) if (!isGroupItem(c)) out.push(c);
  }
  return out;
}

/**
 * Cuts an oversized group's members (in rank order) into consecutive blocks, at the cuts that
 * the fewest edges cross near the ideal positions. Returns the new block groups.
 */
function splitIntoBlocks(
  view: ViewGraph,
  groups: Group[],
  gi: number,
  addGroup: (g: Omit<Group, 'depth' | 'nodeCount' | 'params' | 'opCounts' | 'layerKeys' | 'rank'>) => number,
): number[] {
  const g = groups[gi];
  const items = g.children;
  const n = items.length;
  // Position of every node below this group.
  const pos = new Map<number, number>();
  items.forEach((item, p) => {
    for (const v of itemNodes({ groups }, item)) pos.set(v, p);
  });
  // width[c]: edges crossing the cut before item c.
  const diff = new Int32Array(n + 1);
  for (const [v, pv] of pos) {
    for (const e of view.outEdges[v]) {
      const pw = pos.get(view.edges[e].to);
      if (pw === undefined || pw <= pv) continue;
      diff[pv + 1]++;
      diff[pw + 1]--;
    }
  }
  const width = new Int32Array(n + 1);
  let run = 0;
  for (let c = 0; c <= n; c++) {
    run += diff[c];
    width[c] = run;
  }
  const k = Math.max(2, Math.min(MAX_BLOCKS, Math.ceil(n / BLOCK_SIZE)));
  const size = n / k;
  const cuts: number[] = [];
  let prev = 0;
  for (let i = 1; i < k; i++) {
    const ideal = Math.round(i * size);
    const lo = Math.max(prev + 1, Math.round(ideal - size / 3));
    const hi = Math.min(n - 1, Math.round(ideal + size / 3));
    let best = -1;
    for (let c = lo; c <= hi; c++) {
      if (best < 0 || width[c] < width[best] || (width[c] === width[best] && Math.abs(c - ideal) < Math.abs(best - ideal))) best = c;
    }
    if (best < 0) continue;
    cuts.push(best);
    prev = best;
  }
  cuts.push(n);
  const blocks: number[] = [];
  const next: Item[] = [];
  let start = 0;
  cuts.forEach((end, b) => {
    const members = items.slice(start, end);
    start = end;
    if (members.length === 0) return;
    if (members.length === 1) {
      next.push(members[0]);
      return;
    }
    const bi = addGroup({ id: `${g.id}#${b + 1}`, kind: 'block', title: `Block ${b + 1}`, parent: gi, children: members, graph: g.graph });
    blocks.push(bi);
    next.push(groupItem(bi));
  });
  g.children = next;
  return blocks;
}

/** The groups holding a node or group, innermost first (the root last). */
export function ancestors(h: Hierarchy, item: Item): number[] {
  const out: number[] = [];
  let gi = isGroupItem(item) ? h.groups[itemGroup(item)].parent : h.parentOf[item];
  while (gi >= 0) {
    out.push(gi);
    gi = h.groups[gi].parent;
  }
  return out;
}

/** Visible items (members of expanded groups) when `expanded` groups are open, counted from `start`. */
function visibleCount(h: Hierarchy, start: number, expanded: (gi: number) => boolean): number {
  let count = 0;
  const stack = [start];
  while (stack.length > 0) {
    const gi = stack.pop()!;
    for (const c of h.groups[gi].children) {
      count++;
      if (isGroupItem(c) && expanded(itemGroup(c))) stack.push(itemGroup(c));
    }
  }
  return count;
}

/**
 * Groups to open below `start` (itself included) so that what shows stays within `budget` items:
 * level by level, the deepest level that fits. Control-flow bodies stay closed (they open on
 * demand), except for the bodies of a control group that is itself being opened.
 */
export function fitExpansion(h: Hierarchy, start: number, budget: number): string[] {
  const { groups } = h;
  const base = groups[start].depth;
  // control groups never open by themselves; the bodies of one open only with it
  const openable = (gi: number) =>
    gi === start || (groups[gi].kind !== 'control' && !(groups[gi].kind === 'subgraph' && groups[gi].parent !== start));
  let maxDepth = 0;
  const order = preOrder(groups, start).filter((gi) => {
    // Only groups reachable through openable groups.
    for (let p = gi; p !== start; p = groups[p].parent) if (!openable(p)) return false;
    return true;
  });
  for (const gi of order) maxDepth = Math.max(maxDepth, groups[gi].depth - base);
  let chosen = 0;
  for (let d = 1; d <= maxDepth; d++) {
    if (visibleCount(h, start, (gi) => openable(gi) && groups[gi].depth - base <= d) > budget) break;
    chosen = d;
  }
  const result: string[] = [];
  for (const gi of order) {
    if (gi === start || groups[gi].depth - base <= chosen) result.push(groups[gi].id);
  }
  return result.filter((id) => id !== 'root');
}

/** The groups open at start: the deepest level at which the whole model shows within FIT_VISIBLE items. */
export function initialExpansion(h: Hierarchy): string[] {
  return fitExpansion(h, 0, FIT_VISIBLE);
}
