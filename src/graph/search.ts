/**
 * Finding nodes by name or op type: exact names first, then op types, prefixes, substrings, and
 * last a fuzzy match (the query's characters in order). Groups (scopes, blocks) are found by
 * their title too. Also: which groups to open so that a node shows.
 */
import { ancestors, groupItem, type Hierarchy, type Item } from './hierarchy';
import type { SearchHit } from './scene-types';

export interface SearchIndex {
  h: Hierarchy;
  names: string[];
  ops: string[];
  nodeById: Map<string, number>;
}

export function buildSearchIndex(h: Hierarchy): SearchIndex {
  const nodeById = new Map<string, number>();
  h.view.nodes.forEach((v, i) => nodeById.set(v.id, i));
  return {
    h,
    names: h.view.nodes.map((v) => v.name.toLowerCase()),
    ops: h.view.nodes.map((v) => v.op.toLowerCase()),
    nodeById,
  };
}

/** Subsequence match score (higher is tighter), or -1. */
function fuzzy(text: string, q: string): number {
  let i = 0;
  let first = -1;
  let last = -1;
  for (let k = 0; k < text.length && i < q.length; k++) {
    if (text[k] === q[i]) {
      if (first < 0) first = k;
      last = k;
      i++;
    }
  }
  if (i < q.length) return -1;
  const span = last - first + 1;
  return Math.max(0, 100 - (span - q.length) * 2);
}

function scoreText(name: string, op: string, q: string): number {
  if (name === q) return 1000;
  if (op === q) return 800;
  if (name.startsWith(q)) return 650;
  const lastSlash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('.'));
  if (lastSlash >= 0 && name.startsWith(q, lastSlash + 1)) return 600;
  const at = name.indexOf(q);
  if (at >= 0) return 500 - Math.min(99, at / 4);
  if (op.startsWith(q)) return 420;
  if (op.includes(q)) return 400;
  const f = fuzzy(name, q);
  return f >= 0 ? 100 + f : -1;
}

function pathOf(h: Hierarchy, item: Item): string {
  return ancestors(h, item)
    .filter((g) => g !== 0)
    .reverse()
    .map((g) => h.groups[g].title)
    .join(' / ');
}

/** The best matches for `query` (case-insensitive), at most `limit`. */
export function searchGraph(index: SearchIndex, query: string, limit = 30): SearchHit[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const { h } = index;
  const scored: { score: number; rank: number; hit: () => SearchHit }[] = [];
  h.view.nodes.forEach((v, i) => {
    const s = scoreText(index.names[i], index.ops[i], q);
    if (s < 0) return;
    scored.push({
      score: s,
      rank: v.rank,
      hit: () => ({ id: v.id, key: v.key, label: v.kind === 'op' ? v.name : v.name, op: v.op, path: pathOf(h, i), kind: v.kind }),
    });
  });
  h.groups.forEach((g, gi) => {
    if (gi === 0 || g.kind === 'control') return;
    // scopes match by their whole path (`h.3/attn`) as well as their title
    const scope = g.kind === 'scope' ? g.id.slice(g.id.indexOf('|') + 1).replace(/^g:/, '').toLowerCase() : '';
    const s = Math.max(scoreText(g.title.toLowerCase(), '', q), scope ? scoreText(scope, '', q) : -1);
    if (s < 0) return;
    scored.push({
      score: s - 1,
      rank: g.rank,
      hit: () => ({ id: g.id, label: g.title, op: `${g.nodeCount} nodes`, path: pathOf(h, groupItem(gi)), kind: 'group' }),
    });
  });
  scored.sort((a, b) => b.score - a.score || a.rank - b.rank);
  return scored.slice(0, limit).map((s) => s.hit());
}

/** Group ids to open so that the node or group with this scene id shows (outermost first). */
export function revealIds(index: SearchIndex, id: string): string[] {
  const { h } = index;
  const node = index.nodeById.get(id);
  let item: Item | undefined;
  if (node !== undefined) {
    // An If/Loop node shows (collapsed) in its box's place: do not open its own box.
    const pg = h.parentOf[node];
    item = pg >= 0 && h.groups[pg].control === node ? groupItem(pg) : node;
  } else {
    const gi = h.byId.get(id);
    if (gi !== undefined) item = groupItem(gi);
  }
  if (item === undefined) return [];
  return ancestors(h, item)
    .filter((g) => g !== 0)
    .reverse()
    .map((g) => h.groups[g].id);
}
