/**
 * What compression changed, node by node, read from the two models themselves (an original and
 * its compressed file): pure and structural, so it works on any pair of files, with optional
 * per-layer hints (what the compressor reported) for what the structure cannot tell (magnitude
 * pruning keeps shapes; channel pruning of a layer versus its consumer's input channels).
 *
 * Nodes are matched by their unique names (keys), which compression keeps. Then:
 *
 * - **kept** nodes (in both) are classified by their constant inputs: a weight stored as int8 /
 *   uint8 / int4 / uint4 behind DequantizeLinear or Cast/Mul (`quantized`), as float16
 *   (`fp16`), a node whose op became MatMulNBits (`quantized`), a weight rewritten in place
 *   (`pruned` with a hint, else `changed`), constants whose shapes shrank (`channel-pruned` for a
 *   layer whose hint says so or whose bias shrank, `rewired` otherwise);
 * - **added** nodes (only in the compressed file) are folded back onto the node they serve, so the
 *   compressed graph reads like the original: a chain that writes a removed node's output (dynamic
 *   int8: DynamicQuantizeLinear → MatMulInteger → Cast → Mul) *replaces* that node and takes its
 *   key; a Quantize/DequantizeLinear pair on an activation goes to the layer that reads it, else
 *   to the layer (or node) that writes it (`activations`). Weight decode chains (Cast → Mul,
 *   DequantizeLinear of a weight) are constant and already folded by the view graph;
 * - **removed** nodes (only in the original): a BatchNormalization right after a kept
 *   Conv/ConvTranspose/Gemm/MatMul was `folded` into it; Identity and Dropout were dropped;
 *   anything else was dead code (`removed`).
 *
 * `foldCompressedView` then rewrites the compressed file's view graph accordingly: served added
 * nodes disappear (edges through them are bridged), replacement chains become one node under the
 * original key and op.
 */
import { modelGraphs, graphPath } from '../onnx/names';
import { findLayers } from '../onnx/layers';
import type { Model, Node } from '../onnx/types';
import type { GraphScene, SceneEdge, SceneNode, WeightChip } from './scene-types';
import { buildViewGraph, type VEdge, type VGraph, type VNode, type ViewGraph } from './view-graph';

export type ChangeKind =
  | 'quantized'
  | 'fp16'
  | 'pruned'
  | 'channel-pruned'
  | 'rewired'
  | 'changed'
  | 'activations'
  | 'replaced'
  | 'absorbed'
  | 'folded'
  | 'removed'
  | 'added';

export const CHANGE_KINDS: readonly ChangeKind[] = [
  'quantized',
  'fp16',
  'pruned',
  'channel-pruned',
  'rewired',
  'changed',
  'activations',
  'replaced',
  'absorbed',
  'folded',
  'removed',
  'added',
];

/** What happened to one node, on one side. */
export interface NodeChange {
  kinds: ChangeKind[];
  /** a short badge: 'int8', 'int4', 'fp16', 'BN folded', '+Q/DQ', 'removed' ... */
  badge: string;
  /** one line per fact, for the tooltip and the details */
  detail: string[];
  /** original side, folded/replaced: the key of the node it lives on in the compressed graph */
  into?: string;
  /** compressed side: original nodes folded into it (BatchNormalization) */
  absorbed?: string[];
  /** compressed side: op types of the added nodes folded onto it */
  addedOps?: string[];
}

/** What the compressor said about a layer (optional; CompressReport's rows fit). */
export interface LayerHint {
  key: string;
  /** comma-separated encodings ('int8-cast-mul', 'pruned', 'channel-pruned, int8-...', 'unchanged') */
  applied: string;
  notes?: string[];
  error?: string;
}

export interface CompareDiff {
  /** by node key, on each side (unchanged nodes are absent) */
  original: Record<string, NodeChange>;
  compressed: Record<string, NodeChange>;
  /** nodes per change kind (original side for removed/folded, compressed side otherwise) */
  counts: Partial<Record<ChangeKind, number>>;
  /** op nodes drawn on each side (the compressed side after folding) */
  nodes: { original: number; compressed: number; added: number; removed: number };
}

interface NodeInfo {
  node: Node;
  path: string;
}

function nodesByKey(model: Model): Map<string, NodeInfo> {
  const out = new Map<string, NodeInfo>();
  for (const rec of modelGraphs(model)) {
    if (rec.kind !== 'main' && rec.kind !== 'subgraph') continue;
    const path = graphPath(rec);
    for (const n of rec.nodes) if (n.name && !out.has(n.name)) out.set(n.name, { node: n, path });
  }
  return out;
}

/** Producer key of each tensor, per graph path ('<path>\u0000<tensor>'). */
function producers(model: Model): Map<string, string> {
  const out = new Map<string, string>();
  for (const rec of modelGraphs(model)) {
    if (rec.kind !== 'main' && rec.kind !== 'subgraph') continue;
    const path = graphPath(rec);
    for (const n of rec.nodes) for (const o of n.outputs) if (o && n.name) out.set(`${path}\u0000${o}`, n.name);
  }
  return out;
}

const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear']);
const INT_TYPES = new Set(['int8', 'uint8', 'int4', 'uint4']);
const FOLDS_BN = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function bitsOf(chip: WeightChip, original: WeightChip, applied: string): 8 | 4 | undefined {
  if (chip.dtype === 'int4' || chip.dtype === 'uint4') return 4;
  if (chip.dtype === 'int8') return 8;
  if (chip.dtype !== 'uint8') return undefined;
  // packed nibbles (portable int4): uint8 codes, two per byte, unpacked by the chain
  if (/int4/.test(applied)) return 4;
  if (/int8/.test(applied)) return 8;
  return chip.elements < original.elements && chip.elements * 2 >= original.elements ? 4 : 8;
}

const elementsOf = (c: WeightChip | undefined) => c?.elements ?? 0;

/** A stored weight of 4-bit codes packed two per byte: portable int4 (uint8 unpacked through Cast … Concat) or MatMulNBits' B. */
function packedNibbles(w: WeightChip, op: string): boolean {
  return w.dtype === 'uint8' && ((op === 'MatMulNBits' && w.inputIndex === 1) || w.via.includes('Concat'));
}

/**
 * The parameters of a compressed layer, counted as the original's are (elements, not bytes): a
 * layer with 4-bit codes packed two per byte counts two a byte of its weight, plus its bias; the
 * scales and zero points of that encoding are counted in bytes, not as parameters. Other nodes
 * keep `params` as the view counted them.
 */
export function layerParams(weights: readonly WeightChip[], op: string, params: number): number {
  if (!weights.some((w) => w.role === 'weight' && packedNibbles(w, op))) return params;
  let n = 0;
  for (const w of weights) {
    if (w.role === 'weight') n += packedNibbles(w, op) ? 2 * w.elements : w.elements;
    else if (w.role === 'bias') n += w.elements;
  }
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Which kind's badge a node shows when several apply. */
const BADGE_ORDER: readonly ChangeKind[] = ['quantized', 'replaced', 'fp16', 'channel-pruned', 'pruned', 'absorbed', 'activations', 'rewired', 'changed', 'folded', 'removed', 'added'];
const badges = new WeakMap<NodeChange, Partial<Record<ChangeKind, string>>>();

function push(map: Record<string, NodeChange>, key: string, kind: ChangeKind, line?: string, badge?: string): NodeChange {
  const c = (map[key] ??= { kinds: [], badge: '', detail: [] });
  if (!c.kinds.includes(kind)) c.kinds.push(kind);
  if (line && !c.detail.includes(line)) c.detail.push(line);
  let b = badges.get(c);
  if (!b) badges.set(c, (b = {}));
  if (badge && !b[kind]) b[kind] = badge;
  const top = BADGE_ORDER.find((k) => c.kinds.includes(k) && b[k]);
  c.badge = top ? b[top]! : c.kinds[0];
  return c;
}

function attrIntOf(node: Node, name: string): number | undefined {
  const a = node.attributes.find((x) => x.name === name);
  return a?.i === undefined ? undefined : Number(a.i);
}

export interface DiffResult {
  diff: CompareDiff;
  originalView: ViewGraph;
  /** the compressed file's view, folded to read like the original */
  compressedView: ViewGraph;
  /** replaced nodes: original key -> the compressed file's nodes standing for it (the last one first) */
  members: Record<string, string[]>;
}

/** What diffModels' steps share: both views, their op indices by key, and the matching so far. */
interface DiffCtx {
  original: Model;
  vo: ViewGraph;
  vc: ViewGraph;
  oIdx: Map<string, number>;
  cIdx: Map<string, number>;
  removed: string[];
  addedSet: Set<string>;
  /** compressed view index -> original key it stands for */
  standsFor: Map<number, string>;
  /** compressed view index of an added node -> the original key (or kept key) it is folded onto */
  servedBy: Map<number, string>;
  diff: CompareDiff;
}

/** Compares an original model with its compressed file (both with unique node names, as loading gives them). */
export function diffModels(original: Model, compressed: Model, hints: readonly LayerHint[] = []): DiffResult {
  const vo = buildViewGraph(original, findLayers(original));
  const vc = buildViewGraph(compressed, findLayers(compressed));
  const hintOf = new Map(hints.map((h) => [h.key, h]));
  const diff: CompareDiff = { original: {}, compressed: {}, counts: {}, nodes: { original: 0, compressed: 0, added: 0, removed: 0 } };

  const oIdx = new Map<string, number>();
  const cIdx = new Map<string, number>();
  vo.nodes.forEach((n, i) => n.kind === 'op' && n.key && oIdx.set(n.key, i));
  vc.nodes.forEach((n, i) => n.kind === 'op' && n.key && cIdx.set(n.key, i));
  const oNodes = nodesByKey(original);
  const cNodes = nodesByKey(compressed);

  const removed = [...oIdx.keys()].filter((k) => !cIdx.has(k));
  const addedSet = new Set([...cIdx.keys()].filter((k) => !oIdx.has(k)));
  const ctx: DiffCtx = { original, vo, vc, oIdx, cIdx, removed, addedSet, standsFor: new Map(), servedBy: new Map(), diff };

  findReplacements(ctx, oNodes, producers(compressed));
  foldAddedGroups(ctx);
  const chainOf = recordReplacements(ctx);
  recordServed(ctx);
  for (const key of addedSet) {
    const ci = cIdx.get(key)!;
    if (ctx.standsFor.has(ci) || ctx.servedBy.has(ci)) continue;
    push(diff.compressed, key, 'added', `${vc.nodes[ci].op} added`, 'added');
  }
  recordRemoved(ctx, oNodes);
  for (const [key, oi] of oIdx) {
    const ci = cIdx.get(key);
    if (ci === undefined) continue;
    classifyKept(diff, key, vo.nodes[oi], vc.nodes[ci], cNodes.get(key)?.node, hintOf.get(key));
  }

  // 4. The folded view and the counts.
  const compressedView = foldCompressedView(vc, ctx.standsFor, ctx.servedBy, (key) => {
    const oi = oIdx.get(key);
    return oi === undefined ? undefined : vo.nodes[oi];
  });
  countKinds(diff);
  diff.nodes = {
    original: oIdx.size,
    compressed: compressedView.nodes.filter((n) => n.kind === 'op').length,
    added: addedSet.size,
    removed: removed.length,
  };
  const members: Record<string, string[]> = {};
  for (const [ci, key] of ctx.standsFor) {
    members[key] = [vc.nodes[ci].key!, ...(chainOf.get(key) ?? []).map((v) => vc.nodes[v].key!)];
  }
  return { diff, originalView: vo, compressedView, members };
}

/**
 * 1. Replacements: an added node writing a removed node's output takes its place; the added
 * nodes feeding it (not Q/DQ) are folded onto it.
 */
function findReplacements(ctx: DiffCtx, oNodes: ReturnType<typeof nodesByKey>, cProd: Map<string, string>): void {
  const { vc, cIdx, addedSet, standsFor, servedBy } = ctx;
  for (const key of ctx.removed) {
    const info = oNodes.get(key);
    if (!info) continue;
    for (const out of info.node.outputs) {
      const p = out ? cProd.get(`${info.path}\u0000${out}`) : undefined;
      if (!p || !addedSet.has(p)) continue;
      const ci = cIdx.get(p);
      if (ci === undefined || standsFor.has(ci)) continue;
      standsFor.set(ci, key);
      break;
    }
  }
  for (const [anchor, key] of standsFor) {
    const queue = [anchor];
    const seen = new Set(queue);
    for (let q = 0; q < queue.length; q++) {
      for (const e of vc.inEdges[queue[q]]) {
        const from = vc.edges[e].from;
        const fn = vc.nodes[from];
        if (seen.has(from) || fn.kind !== 'op' || !addedSet.has(fn.key!) || standsFor.has(from) || servedBy.has(from) || QDQ.has(fn.op)) continue;
        seen.add(from);
        servedBy.set(from, key);
        queue.push(from);
      }
    }
  }
}

/** An added node not yet placed: neither a replacement nor folded onto one. */
function isFree(ctx: DiffCtx, ci: number): boolean {
  const n = ctx.vc.nodes[ci];
  return n.kind === 'op' && ctx.addedSet.has(n.key!) && !ctx.standsFor.has(ci) && !ctx.servedBy.has(ci);
}

/** 2. Other added nodes: connected groups, each folded onto the layer it serves. */
function foldAddedGroups(ctx: DiffCtx): void {
  const { vo, vc, oIdx, addedSet, standsFor, servedBy } = ctx;
  /** the original key a compressed view node shows as (kept: itself; replacement: the original) */
  const showsAs = (ci: number): string | undefined => {
    const n = vc.nodes[ci];
    if (n.kind !== 'op') return undefined;
    if (standsFor.has(ci)) return standsFor.get(ci);
    return addedSet.has(n.key!) ? undefined : n.key;
  };
  const isLayerKey = (key: string) => {
    const oi = oIdx.get(key);
    return oi !== undefined && vo.nodes[oi].isLayer;
  };
  const free = (ci: number) => isFree(ctx, ci);
  const visited = new Set<number>();
  for (let start = 0; start < vc.nodes.length; start++) {
    if (visited.has(start) || !free(start)) continue;
    const comp = [start];
    visited.add(start);
    const consumers: string[] = [];
    const producersOf: string[] = [];
    const reach = (other: number, outside: string[]) => {
      if (free(other)) {
        if (!visited.has(other)) {
          visited.add(other);
          comp.push(other);
        }
      } else {
        const k = showsAs(other);
        if (k) outside.push(k);
      }
    };
    for (let q = 0; q < comp.length; q++) {
      const v = comp[q];
      for (const e of vc.outEdges[v]) reach(vc.edges[e].to, consumers);
      for (const e of vc.inEdges[v]) reach(vc.edges[e].from, producersOf);
    }
    const target =
      consumers.find(isLayerKey) ?? producersOf.find(isLayerKey) ?? producersOf[0] ?? consumers[0];
    if (target === undefined) continue; // stays as an added node of its own
    for (const v of comp) servedBy.set(v, target);
  }
}

/** 3a. Record the replacements (both sides); returns each replaced key's chain of added nodes. */
function recordReplacements(ctx: DiffCtx): Map<string, number[]> {
  const { vo, vc, oIdx, standsFor, servedBy, diff } = ctx;
  const replacedKeys = new Set(standsFor.values());
  const chainOf = new Map<string, number[]>();
  for (const [v, k] of servedBy) if (replacedKeys.has(k) && !QDQ.has(vc.nodes[v].op)) chainOf.set(k, [...(chainOf.get(k) ?? []), v]);
  for (const [ci, key] of standsFor) {
    const chain = [ci, ...(chainOf.get(key) ?? [])];
    const ops = chain.map((v) => vc.nodes[v].op);
    const oop = vo.nodes[oIdx.get(key)!].op;
    const line = `${oop} replaced by ${[...new Set(ops)].join(' + ')}`;
    const hasInteger = ops.some((o) => o === 'MatMulInteger' || o === 'ConvInteger' || o === 'DynamicQuantizeLinear');
    push(diff.original, key, 'replaced', line, hasInteger ? 'int8 dynamic' : 'replaced');
    const c = push(diff.compressed, key, 'replaced', line, hasInteger ? 'int8 dynamic' : 'replaced');
    if (hasInteger) push(diff.compressed, key, 'quantized', 'weights stored as int8 codes (MatMulInteger)');
    if (hasInteger) push(diff.compressed, key, 'activations', 'activations quantized at run time (DynamicQuantizeLinear)');
    c.addedOps = ops.filter((_, i) => i > 0);
    diff.original[key].into = key;
  }
  return chainOf;
}

/** 3b. Record the added nodes folded onto a node (Q/DQ pairs and others), not part of a replacement chain. */
function recordServed(ctx: DiffCtx): void {
  const { vc, oIdx, standsFor, servedBy, diff } = ctx;
  const replacedKeys = new Set(standsFor.values());
  const servedActs = new Map<string, { ops: string[]; tensors: string[] }>();
  for (const [ci, key] of servedBy) {
    if (replacedKeys.has(key) && !QDQ.has(vc.nodes[ci].op)) continue; // part of a replacement chain
    const s = servedActs.get(key) ?? { ops: [], tensors: [] };
    s.ops.push(vc.nodes[ci].op);
    for (const e of vc.outEdges[ci]) if (!isFree(ctx, vc.edges[e].to)) s.tensors.push(vc.edges[e].tensor);
    servedActs.set(key, s);
  }
  for (const [key, s] of servedActs) {
    const q = s.ops.filter((o) => o === 'QuantizeLinear').length;
    const tensors = [...new Set(s.tensors)].filter(Boolean);
    const line =
      q > 0
        ? `${q} Quantize/DequantizeLinear pair${q === 1 ? '' : 's'} folded in (activations as uint8${tensors.length ? `: ${tensors.join(', ')}` : ''})`
        : `added ${s.ops.join(', ')} folded in`;
    const c = push(diff.compressed, key, 'activations', line, q > 0 ? '+Q/DQ' : `+${s.ops.length}`);
    c.addedOps = [...(c.addedOps ?? []), ...s.ops];
    if (oIdx.has(key)) push(diff.original, key, 'activations', line, q > 0 ? '+Q/DQ' : undefined);
  }
}

/** 3c. Record the removed nodes: BatchNormalization folded into its producer, Identity/Dropout dropped, dead code. */
function recordRemoved(ctx: DiffCtx, oNodes: ReturnType<typeof nodesByKey>): void {
  const { vo, oIdx, cIdx, diff } = ctx;
  let oProd_: Map<string, string> | undefined;
  for (const key of ctx.removed) {
    if (diff.original[key]?.kinds.includes('replaced')) continue;
    const info = oNodes.get(key);
    const op = vo.nodes[oIdx.get(key)!].op;
    if (op === 'BatchNormalization' && info) {
      const input = info.node.inputs[0];
      const oProd = input ? (oProd_ ??= producers(ctx.original)).get(`${info.path}\u0000${input}`) : undefined;
      if (oProd && cIdx.has(oProd) && FOLDS_BN.has(vo.nodes[oIdx.get(oProd)!].op)) {
        const c = push(diff.original, key, 'folded', `folded into ${oProd}`, 'folded');
        c.into = oProd;
        const t = push(diff.compressed, oProd, 'absorbed', `${key} (BatchNormalization) folded into its weights and bias`, 'BN folded');
        t.absorbed = [...(t.absorbed ?? []), key];
        continue;
      }
    }
    if (op === 'Identity' || op === 'Dropout') push(diff.original, key, 'removed', `${op} dropped (its output is its input)`, 'removed');
    else push(diff.original, key, 'removed', 'removed: nothing reads its result (dead code)', 'removed');
  }
}

/** 4. The counts per kind: removed and folded on the original's side, the rest on the compressed file's. */
function countKinds(diff: CompareDiff): void {
  for (const side of [diff.original, diff.compressed] as const) {
    for (const c of Object.values(side)) {
      for (const k of c.kinds) {
        const originalSide = k === 'removed' || k === 'folded';
        if (originalSide !== (side === diff.original)) continue;
        diff.counts[k] = (diff.counts[k] ?? 0) + 1;
      }
    }
  }
}

function classifyKept(diff: CompareDiff, key: string, o: VNode, c: VNode, node: Node | undefined, hint: LayerHint | undefined): void {
  const applied = hint?.applied ?? '';
  if (o.op !== c.op && c.op === 'MatMulNBits') {
    const bits = (node && attrIntOf(node, 'bits')) ?? 4;
    const bs = node && attrIntOf(node, 'block_size');
    const line = `${o.op} became MatMulNBits: int${bits} weights in blocks of ${bs ?? '?'}`;
    push(diff.original, key, 'quantized', line, `int${bits}`);
    push(diff.compressed, key, 'quantized', line, `int${bits}`);
  } else if (o.op !== c.op) {
    push(diff.compressed, key, 'changed', `op ${o.op} became ${c.op}`);
  }
  for (const cw of c.weights) {
    const ow = o.weights.find((w) => w.inputIndex === cw.inputIndex);
    if (!ow) continue;
    const bits = bitsOf(cw, ow, applied);
    if (bits === 8 && cw.dtype === 'int8' && cw.elements < ow.elements && ow.role === 'weight' && !applied.includes('channel-pruned')) {
      push(diff.original, key, 'rewired', `input ${cw.inputIndex}: ${ow.elements} → ${cw.elements} elements`, 'rewired');
      push(diff.compressed, key, 'rewired', `input ${cw.inputIndex}: ${ow.elements} → ${cw.elements} elements`, 'rewired');
    }
    if (bits && INT_TYPES.has(cw.dtype) && !INT_TYPES.has(ow.dtype) && (cw.via.length > 0 || c.op !== o.op)) {
      const how = cw.via.includes('DequantizeLinear') ? 'DequantizeLinear' : cw.via.length ? cw.via.join(' → ') : c.op;
      const line = `${ow.role === 'const' ? 'input' : ow.role} ${cw.inputIndex} stored as ${bits === 4 ? 'int4' : cw.dtype} (${how})`;
      const role = cw.role === 'bias' || ow.role === 'bias' ? 'bias' : 'weight';
      if (role === 'weight') {
        push(diff.original, key, 'quantized', line, `int${bits}`);
        push(diff.compressed, key, 'quantized', line, `int${bits}`);
      } else push(diff.compressed, key, 'quantized', line);
      continue;
    }
    if (cw.dtype === 'float16' && ow.dtype !== 'float16') {
      const line = `input ${cw.inputIndex} stored as float16`;
      push(diff.original, key, 'fp16', line, 'fp16');
      push(diff.compressed, key, 'fp16', line, 'fp16');
      continue;
    }
    if (!sameShape(cw.shape, ow.shape) && cw.dtype === ow.dtype && elementsOf(cw) < elementsOf(ow)) {
      const line = `input ${cw.inputIndex} [${ow.shape.join(', ')}] → [${cw.shape.join(', ')}]`;
      const own = applied.includes('channel-pruned') || (cw.role === 'bias' && o.isLayer && !applied);
      const kind: ChangeKind = own ? 'channel-pruned' : 'rewired';
      push(diff.original, key, kind, line, own ? 'channels' : 'rewired');
      push(diff.compressed, key, kind, line, own ? 'channels' : 'rewired');
      continue;
    }
    if (cw.name !== ow.name && cw.dtype === ow.dtype && sameShape(cw.shape, ow.shape) && cw.role === 'weight') {
      const pruned = /(^|, )pruned/.test(applied);
      const line = pruned ? 'smallest weights set to zero (magnitude pruning)' : `input ${cw.inputIndex} rewritten (${ow.name} → ${cw.name})`;
      push(diff.original, key, pruned ? 'pruned' : 'changed', line, pruned ? 'pruned' : undefined);
      push(diff.compressed, key, pruned ? 'pruned' : 'changed', line, pruned ? 'pruned' : undefined);
    }
  }
  if (/(^|, )pruned/.test(applied) && !diff.compressed[key]?.kinds.includes('pruned')) {
    push(diff.original, key, 'pruned', 'smallest weights set to zero (magnitude pruning)');
    push(diff.compressed, key, 'pruned', 'smallest weights set to zero (magnitude pruning)');
  }
  if (applied.includes('channel-pruned') && !diff.compressed[key]?.kinds.includes('channel-pruned')) {
    push(diff.original, key, 'channel-pruned', 'output channels removed', 'channels');
    push(diff.compressed, key, 'channel-pruned', 'output channels removed', 'channels');
  }
  for (const note of hint?.notes ?? []) {
    if (!note.startsWith('input channels')) continue;
    push(diff.original, key, 'rewired', note, 'rewired');
    push(diff.compressed, key, 'rewired', note, 'rewired');
  }
  if (hint?.error) push(diff.compressed, key, 'changed', `not compressed: ${hint.error}`);
}

/**
 * The compressed view with the served added nodes taken out (edges through them bridged) and
 * each replacement chain's last node standing for the original node, under its key and op.
 */
export function foldCompressedView(
  vc: ViewGraph,
  standsFor: ReadonlyMap<number, string>,
  servedBy: ReadonlyMap<number, string>,
  originalNode: (key: string) => VNode | undefined,
): ViewGraph {
  const keep = vc.nodes.map((_, i) => !servedBy.has(i));
  const newIndex = new Int32Array(vc.nodes.length).fill(-1);
  const nodes: VNode[] = [];
  vc.nodes.forEach((n, i) => {
    if (!keep[i]) return;
    newIndex[i] = nodes.length;
    const key = standsFor.get(i);
    if (key === undefined) {
      // a layer keeps its weight/bias chips' roles, though its decode chain hides them from findLayers
      const orig = n.kind === 'op' && n.key ? originalNode(n.key) : undefined;
      const weights = orig
        ? n.weights.map((w) => {
            const role = orig.weights.find((o) => o.inputIndex === w.inputIndex)?.role;
            return w.role === 'const' && role && role !== 'const' ? { ...w, role } : w;
          })
        : n.weights;
      nodes.push({ ...n, rank: nodes.length, weights, params: layerParams(weights, n.op, n.params), isLayer: n.isLayer || (orig?.isLayer ?? false) });
      return;
    }
    const orig = originalNode(key);
    // the chain's constants (codes, scales) become the node's chips, the largest one the weight
    const chips: WeightChip[] = [...n.weights];
    for (const [v, k] of servedBy) if (k === key) chips.push(...vc.nodes[v].weights);
    let big = -1;
    chips.forEach((w, j) => {
      if (big < 0 || w.elements > chips[big].elements) big = j;
    });
    const weights = chips.map((w, j) => ({ ...w, role: j === big ? ('weight' as const) : w.role === 'bias' ? ('bias' as const) : ('const' as const) }));
    nodes.push({
      ...n,
      id: `n:${key}`,
      key,
      name: key,
      op: orig?.op ?? n.op,
      domain: orig?.domain ?? n.domain,
      rank: nodes.length,
      weights,
      params: layerParams(weights, n.op, weights.reduce((p, w) => p + w.elements, 0)),
      isLayer: orig?.isLayer ?? true,
    });
  });
  // Each removed node's kept predecessors (through removed ones), in rank order (inputs come first).
  const preds = new Map<number, { from: number; tensor: string }[]>();
  const predsOf = (v: number): { from: number; tensor: string }[] => {
    const hit = preds.get(v);
    if (hit) return hit;
    // iterative: walk back through removed nodes
    const out: { from: number; tensor: string }[] = [];
    const stack = [v];
    const seen = new Set<number>([v]);
    while (stack.length) {
      const x = stack.pop()!;
      for (const e of vc.inEdges[x]) {
        const { from, tensor, control } = vc.edges[e];
        if (control) continue;
        if (keep[from]) out.push({ from, tensor });
        else if (!seen.has(from)) {
          seen.add(from);
          stack.push(from);
        }
      }
    }
    preds.set(v, out);
    return out;
  };
  const edges: VEdge[] = [];
  const seenEdge = new Set<string>();
  const add = (from: number, to: number, tensor: string, control?: boolean) => {
    const f = newIndex[from];
    const t = newIndex[to];
    if (f < 0 || t < 0 || f === t) return;
    const id = `${f}>${t}>${tensor}`;
    if (seenEdge.has(id)) return;
    seenEdge.add(id);
    edges.push(control ? { from: f, to: t, tensor, control } : { from: f, to: t, tensor });
  };
  for (const e of vc.edges) {
    if (!keep[e.to]) continue;
    if (keep[e.from]) add(e.from, e.to, e.tensor, e.control);
    // the tensor reaching the kept node keeps its name (a DequantizeLinear writes the original one)
    else for (const p of predsOf(e.from)) add(p.from, e.to, e.tensor);
  }
  const graphs: VGraph[] = vc.graphs.map((g) => ({
    ...g,
    owner: g.owner < 0 ? -1 : newIndex[g.owner],
    nodes: g.nodes.filter((v) => keep[v]).map((v) => newIndex[v]),
  }));
  const outEdges: number[][] = nodes.map(() => []);
  const inEdges: number[][] = nodes.map(() => []);
  edges.forEach((e, i) => {
    outEdges[e.from].push(i);
    inEdges[e.to].push(i);
  });
  return { nodes, edges, graphs, outEdges, inEdges, folded: vc.folded + servedBy.size, typeOf: vc.typeOf };
}

/**
 * The compressed side's scene drawn on the original's coordinates, so that one shared viewport
 * shows the same node at the same place on both sides: every node (and open group frame) that
 * the original scene also shows takes its position; edges the original also has take its route,
 * others (across a folded or removed node) run straight; what the original does not show keeps
 * its own place, moved to the right of the original's drawing. Frames the original does not have
 * are dropped (their members are placed by the original).
 */
export function alignScene(target: GraphScene, reference: GraphScene): GraphScene {
  const ref = new Map<string, SceneNode>();
  for (const n of reference.nodes) ref.set(n.id, n);
  const nodes: SceneNode[] = [];
  let width = reference.width;
  let height = reference.height;
  const shift = reference.width + 80;
  for (const n of target.nodes) {
    const r = ref.get(n.id);
    if (r) {
      const placed = n.kind === 'box' ? { ...n, x: r.x, y: r.y, width: r.width, height: r.height } : { ...n, x: r.x + (r.width - n.width) / 2, y: r.y };
      nodes.push(placed);
    } else if (n.kind === 'box') {
      continue;
    } else {
      const placed = { ...n, x: n.x + shift };
      nodes.push(placed);
      width = Math.max(width, placed.x + placed.width);
    }
    const last = nodes[nodes.length - 1];
    height = Math.max(height, last.y + last.height);
  }
  const refEdges = new Map<string, SceneEdge>();
  for (const e of reference.edges) refEdges.set(`${e.source}>${e.target}`, e);
  const moved = new Set(nodes.filter((n) => ref.has(n.id)).map((n) => n.id));
  const edges = target.edges.map((e) => {
    const r = refEdges.get(`${e.source}>${e.target}`);
    if (r && moved.has(e.source) && moved.has(e.target)) return { ...e, points: r.points };
    return { ...e, points: moved.has(e.source) || moved.has(e.target) ? [] : e.points.map((p) => ({ x: p.x + shift, y: p.y })) };
  });
  return { ...target, nodes, edges, width, height };
}
