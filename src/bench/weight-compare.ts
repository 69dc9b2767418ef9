/**
 * A layer's weights before and after compression: the original values and what the compressed
 * file decodes them to (evaluated from the file itself: src/onnx/const-eval.ts), in shared bins,
 * with the quantization grid and the representable (clipped) range of one channel or block, and
 * the error over the whole tensor. The Compare view's weight panel (the model worker answers it).
 */
import { AppError } from '../core/errors';
import type { LayerReport } from '../compress/compress';
import { runCleanup } from '../compress/cleanup/cleanup';
import { cloneModel, collectNames, constScope, graphRecordsByPath, NameAllocator } from '../compress/graph-edit';
import { effectiveWeight, weightAxes } from '../compress/weights';
import { attrInt } from '../onnx/attributes';
import { ConstEvaluator, transposeValues, type EvalTensor } from '../onnx/const-eval';
import { findLayers, type Layer, type LayerWeight } from '../onnx/layers';
import type { LoadedModel } from '../onnx/load';
import { modelGraphs, graphPath } from '../onnx/names';
import { DataType, type ExternalDataResolver, type Model, type Node, type Tensor } from '../onnx/types';
import { fidelityCosine } from './metrics';

export interface WeightGroup {
  index: number;
  /** 'channel 3', 'channel 3 · block 2', 'whole tensor' */
  label: string;
  /** range of the original values in it (of the decoded ones where the two do not align) */
  min: number;
  max: number;
  elements: number;
}

export interface WeightBin {
  x0: number;
  x1: number;
  original: number;
  decoded: number;
}

export interface WeightComparison {
  key: string;
  op: string;
  /** the stored weight's name in the original and the layer's view of its shape on both sides */
  weight: string;
  shape: number[];
  compressedShape: number[];
  /** how the compressed file stores it: 'int8 codes via Cast → Mul', 'float16', ... */
  storage: string;
  /** element i of one is element i of the other (false after channel pruning) */
  aligned: boolean;
  /** groups that share one scale (per-tensor: 1), the widest first (up to 64), and their count */
  groups: WeightGroup[];
  groupCount: number;
  /** the group the histograms, grid and range are drawn for */
  group: WeightGroup;
  bins: WeightBin[];
  /** the quantization grid of the group (undefined for float storage) */
  grid?: { levels: number; step: number; lo: number; hi: number; shown: number[]; every: number };
  /** original values of the group outside the representable range (clipped) */
  clipped: number;
  /** over the whole tensor (aligned only) */
  cosine?: number;
  maxAbsError?: number;
  rmse?: number;
  zeros: { original: number; decoded: number };
  note?: string;
}

/** The two models of a comparison and what the weight comparison caches between calls. */
export interface WeightSource {
  original: LoadedModel;
  compressed: LoadedModel;
  /** the BatchNormalizations the compressed layer `key` absorbed (the diff's finding) */
  absorbed(key: string): string[] | undefined;
  /** replacement members per original layer key (a dynamically quantized MatMul's nodes) */
  members: Record<string, string[]>;
  /** the compressor's report rows, by layer key */
  hints: Map<string, LayerReport>;
  layers?: Layer[];
  /** the original's layers after folding BatchNormalizations (see foldedOriginal) */
  folded?: { model: Model; layers: Layer[] };
  evaluator?: ConstEvaluator;
  weights: Map<string, WeightComparison>;
}

interface Decoded {
  values: Float64Array;
  dims: number[];
  /** per element: lowest and highest representable value (quantized storage only) */
  lo?: Float64Array;
  hi?: Float64Array;
  levels?: number;
  storage: string;
}

function codeRange(dataType: number, nibbles: boolean): [number, number, number] {
  switch (dataType) {
    case DataType.INT8:
      return [-128, 127, 256];
    case DataType.UINT8:
      return nibbles ? [0, 255, 16] : [0, 255, 256];
    case DataType.INT4:
      return [-8, 7, 16];
    case DataType.UINT4:
      return [0, 15, 16];
    default:
      return [0, 0, 0];
  }
}

const INT_CODES = new Set<number>([DataType.INT8, DataType.UINT8, DataType.INT4, DataType.UINT4]);

function nodeByKey(loaded: LoadedModel, key: string): { node: Node; path: string } | undefined {
  for (const rec of modelGraphs(loaded.model)) {
    if (rec.kind !== 'main' && rec.kind !== 'subgraph') continue;
    const n = rec.nodes.find((x) => x.name === key);
    if (n) return { node: n, path: graphPath(rec) };
  }
  return undefined;
}

/** A chain of decode ops on stored integer codes, evaluated on the codes, the lowest and the highest codes. */
function decodeChain(ev: ConstEvaluator, path: string, input: string): Decoded {
  const value = ev.evaluate(path, input);
  const sources = ev.sources(path, input);
  const codes = sources.filter((t) => INT_CODES.has(t.dataType ?? 0) && t.name).sort((a, b) => elements(b.dims) - elements(a.dims))[0] as Tensor | undefined;
  const chainOps = new Set<string>();
  const stack = [input];
  const seen = new Set<string>();
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    const p = ev.producer(path, x);
    if (p) {
      chainOps.add(p.opType ?? '');
      stack.push(...p.inputs.filter(Boolean));
    }
  }
  const ops = [...chainOps].filter((o) => o !== 'Constant').reverse();
  if (!codes) {
    const stored = sources.sort((a, b) => elements(b.dims) - elements(a.dims))[0];
    const dt = stored?.dataType === DataType.FLOAT16 ? 'float16' : 'float32';
    return { values: value.data, dims: value.dims, storage: ops.length ? `${dt} via ${ops.join(' → ')}` : dt };
  }
  const nibbles = codes.dataType === DataType.UINT8 && chainOps.has('Floor');
  const [cmin, cmax, levels] = codeRange(codes.dataType ?? 0, nibbles);
  const n = elements(codes.dims);
  const lo = ev.evaluate(path, input, new Map([[codes.name!, new Float64Array(n).fill(cmin)]])).data;
  const hi = ev.evaluate(path, input, new Map([[codes.name!, new Float64Array(n).fill(cmax)]])).data;
  const bits = levels === 16 ? 'int4' : 'int8';
  const how = chainOps.has('DequantizeLinear') ? 'DequantizeLinear' : ops.join(' → ');
  return { values: value.data, dims: value.dims, lo, hi, levels, storage: `${bits} codes via ${how}` };
}

const elements = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/** MatMulNBits: B uint8 [N, blocks, bs/2] (low nibble first), scales [N, blocks], zero points packed [N, ceil(blocks/2)]. */
function decodeNBits(ev: ConstEvaluator, path: string, node: Node): Decoded {
  const k = attrInt(node, 'K', 0);
  const n = attrInt(node, 'N', 0);
  const bits = attrInt(node, 'bits', 4);
  const bs = attrInt(node, 'block_size', 32);
  if (bits !== 4) throw new AppError('unsupported', `MatMulNBits with ${bits} bits is not decoded here`);
  const b = ev.evaluate(path, node.inputs[1]).data;
  const scales = ev.evaluate(path, node.inputs[2]).data;
  const zpIn = node.inputs[3];
  const zp = zpIn ? ev.evaluate(path, zpIn) : undefined;
  if (zp && zp.dataType !== DataType.UINT8) throw new AppError('unsupported', 'MatMulNBits with float zero points is not decoded here');
  const nb = Math.ceil(k / bs);
  const zb = Math.ceil(nb / 2);
  const values = new Float64Array(k * n);
  const lo = new Float64Array(k * n);
  const hi = new Float64Array(k * n);
  for (let col = 0; col < n; col++) {
    for (let kb = 0; kb < nb; kb++) {
      const s = scales[col * nb + kb];
      const z = zp ? (zp.data[col * zb + (kb >> 1)] >> ((kb & 1) * 4)) & 15 : 8;
      for (let w = 0; w < bs; w++) {
        const row = kb * bs + w;
        if (row >= k) break;
        const byte = b[(col * nb + kb) * (bs / 2) + (w >> 1)];
        const u = w & 1 ? byte >> 4 : byte & 15;
        const i = row * n + col;
        values[i] = Math.fround((u - z) * s);
        lo[i] = Math.fround((0 - z) * s);
        hi[i] = Math.fround((15 - z) * s);
      }
    }
  }
  return { values, dims: [k, n], lo, hi, levels: 16, storage: `int4 codes in MatMulNBits (blocks of ${bs})` };
}

/** Dynamic int8: DynamicQuantizeLinear → MatMulInteger(x_q, W_q [K, N], x_zp, w_zp) → Cast → Mul(x_scale * w_scale). */
function decodeDynamic(ev: ConstEvaluator, loaded: LoadedModel, members: string[]): Decoded {
  const nodes = members.map((m) => nodeByKey(loaded, m)).filter((x): x is { node: Node; path: string } => !!x);
  const mi = nodes.find((x) => x.node.opType === 'MatMulInteger');
  if (!mi) throw new AppError('unsupported', 'the replacement holds no MatMulInteger to decode');
  const { path } = mi;
  const q = ev.evaluate(path, mi.node.inputs[1]);
  const wz = mi.node.inputs[3] ? ev.evaluate(path, mi.node.inputs[3]).data[0] : 0;
  const dql = nodes.find((x) => x.node.opType === 'DynamicQuantizeLinear');
  const xScale = dql?.node.outputs[1];
  const mul = nodes.find((x) => x.node.opType === 'Mul' && xScale !== undefined && x.node.inputs.includes(xScale));
  const wsName = mul?.node.inputs.find((i) => i !== xScale);
  if (!wsName) throw new AppError('unsupported', 'the weight scale of the dynamic replacement was not found');
  const ws: EvalTensor = ev.evaluate(path, wsName);
  const [kk, nn] = q.dims;
  const values = new Float64Array(kk * nn);
  const lo = new Float64Array(kk * nn);
  const hi = new Float64Array(kk * nn);
  for (let i = 0; i < kk * nn; i++) {
    const s = ws.data.length === 1 ? ws.data[0] : ws.data[i % nn];
    values[i] = Math.fround((q.data[i] - wz) * s);
    lo[i] = Math.fround((-128 - wz) * s);
    hi[i] = Math.fround((127 - wz) * s);
  }
  return { values, dims: [kk, nn], lo, hi, levels: 256, storage: 'int8 codes in MatMulInteger (dynamic activations)' };
}

/**
 * The original model with its BatchNormalizations folded into the layers before them, as the
 * compressor does before choosing scales (once per comparison): a layer that absorbed one is
 * compared with these weights, the ones its codes were made from.
 */
function foldedOriginal(s: WeightSource): { model: Model; layers: Layer[] } {
  if (!s.folded) {
    const m = cloneModel(s.original.model);
    runCleanup(
      m,
      { constantsToInitializers: false, dropIdentity: false, foldBatchNorm: true, removeDead: false, shareInitializers: false },
      { names: new NameAllocator(collectNames(m)), external: s.original.external },
    );
    s.folded = { model: m, layers: findLayers(m) };
  }
  return s.folded;
}

function originalValues(model: Model, external: ExternalDataResolver | undefined, layer: Layer, inputIndex: number): { values: Float64Array; dims: number[] } {
  const w = layer.weights.find((x) => x.inputIndex === inputIndex)!;
  const rec = graphRecordsByPath(model).get(layer.graphPath);
  try {
    if (!rec) throw new Error('no graph');
    const eff = effectiveWeight(w, constScope(rec), true, external);
    return { values: Float64Array.from(eff.values!), dims: eff.shape };
  } catch {
    const ev = new ConstEvaluator(model, external);
    const t = ev.evaluate(layer.graphPath, layer.node.inputs[inputIndex]);
    return { values: t.data, dims: t.dims };
  }
}

/** Groups of elements sharing one representable range, labelled by the layer's channel (and block) axes. */
function groupsOf(d: Decoded, layer: Layer, inputIndex: number, blockSize: number | undefined): { of: Int32Array; count: number; first: number[] } {
  const n = d.values.length;
  const of = new Int32Array(n);
  const first: number[] = [];
  if (!d.lo || !d.hi) return { of, count: 1, first: [0] };
  const ids = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    let inner = ids.get(d.lo[i]);
    if (!inner) ids.set(d.lo[i], (inner = new Map()));
    let g = inner.get(d.hi[i]);
    if (g === undefined) {
      g = first.length;
      inner.set(d.hi[i], g);
      first.push(i);
    }
    of[i] = g;
  }
  void layer;
  void inputIndex;
  void blockSize;
  return { of, count: first.length, first };
}

function groupLabel(index: number, firstElement: number, count: number, dims: number[], layer: Layer, inputIndex: number, blockSize: number | undefined): string {
  if (count === 1) return 'whole tensor';
  const axes = weightAxes(layer, inputIndex, dims.length);
  const coords: number[] = [];
  let r = firstElement;
  for (let d = dims.length - 1; d >= 0; d--) {
    coords[d] = r % dims[d];
    r = Math.floor(r / dims[d]);
  }
  if (axes.channelAxis === undefined) return `group ${index} at [${coords.join(', ')}]`;
  const ch = `channel ${coords[axes.channelAxis]}`;
  if (!blockSize || axes.blockAxis === undefined) return ch;
  const along = axes.flattenForBlock ? coords.slice(1).reduce((p, c, i) => p * dims[i + 1] + c, 0) : coords[axes.blockAxis];
  return `${ch} · block ${Math.floor(along / blockSize)}`;
}

const MAX_BINS = 320;
/** Decoding keeps a few float64 copies of a weight in the worker: above this many values it says so instead. */
export const MAX_COMPARE_ELEMENTS = 8_000_000;
const MAX_LINES = 64;

/** The compressed layer's weight, decoded as the runtime would see it, in the original's layout. */
function decodeCompressed(s: WeightSource, key: string, inputIndex: number, origDims: number[]): Decoded {
  s.evaluator ??= new ConstEvaluator(s.compressed.model, s.compressed.external);
  const ev = s.evaluator;
  const where = nodeByKey(s.compressed, key);
  let dec: Decoded;
  if (where?.node.opType === 'MatMulNBits') dec = decodeNBits(ev, where.path, where.node);
  else if (where) dec = decodeChain(ev, where.path, where.node.inputs[inputIndex]);
  else if (s.members[key]) dec = decodeDynamic(ev, s.compressed, s.members[key]);
  else throw new AppError('invalid-argument', `${key} is not in the compressed model`);
  // Gemm(transB) weights are written [K, N] for MatMulInteger: back to the original's [N, K]
  if (dec.dims.length === 2 && origDims.length === 2 && dec.dims[0] === origDims[1] && dec.dims[1] === origDims[0] && dec.dims[0] !== dec.dims[1]) {
    const perm = [1, 0];
    const t = (a: Float64Array) => transposeValues(a, dec.dims, perm);
    dec = { ...dec, values: t(dec.values), lo: dec.lo && t(dec.lo), hi: dec.hi && t(dec.hi), dims: [dec.dims[1], dec.dims[0]] };
  }
  return dec;
}

/** Each group's range and size over `src`, and the groups ordered widest range first. */
function groupRanges(src: Float64Array, g: ReturnType<typeof groupsOf>): { gmin: Float64Array; gmax: Float64Array; gcount: Int32Array; order: number[] } {
  const gmin = new Float64Array(g.count).fill(Infinity);
  const gmax = new Float64Array(g.count).fill(-Infinity);
  const gcount = new Int32Array(g.count);
  for (let i = 0; i < src.length; i++) {
    const k = g.of[i];
    const v = src[i];
    if (v < gmin[k]) gmin[k] = v;
    if (v > gmax[k]) gmax[k] = v;
    gcount[k]++;
  }
  const order = Array.from({ length: g.count }, (_, i) => i).sort((a, b) => gmax[b] - gmin[b] - (gmax[a] - gmin[a]) || a - b);
  return { gmin, gmax, gcount, order };
}

/** The chosen group's values on both sides (whole tensors when the shapes differ). */
function groupValues(aligned: boolean, g: ReturnType<typeof groupsOf>, chosen: number, n: number, orig: Float64Array, dec: Float64Array): { oVals: Float64Array; dVals: Float64Array } {
  if (!aligned) return { oVals: orig, dVals: dec };
  const oVals = new Float64Array(n);
  const dVals = new Float64Array(n);
  for (let i = 0, k = 0; i < dec.length; i++) {
    if (g.of[i] !== chosen) continue;
    dVals[k] = dec[i];
    oVals[k++] = orig[i];
  }
  return { oVals, dVals };
}

/** The finite range both value sets span (0..0 when empty). */
function valueRange(sets: readonly Float64Array[]): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of sets) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === -Infinity || hi === Infinity) {
    lo = Number.isFinite(lo) ? lo : -Number.MAX_VALUE;
    hi = Number.isFinite(hi) ? hi : Number.MAX_VALUE;
  }
  if (!Number.isFinite(lo)) lo = hi = 0;
  return { lo, hi };
}

/** The quantization grid of the chosen group (when the encoding has one), the original values outside it, and the bin edges. */
function gridAndEdges(dec: Decoded, first: number, aligned: boolean, oVals: Float64Array, lo: number, hi: number): { grid?: WeightComparison['grid']; clipped: number; edges: number[] } {
  if (!(dec.lo && dec.hi && dec.levels)) {
    const span = hi - lo || Math.abs(hi) || 1;
    return { clipped: 0, edges: Array.from({ length: 65 }, (_, i) => lo + (span * i) / 64) };
  }
  // (a symmetric block scale can be negative: the lowest code then decodes to the highest value)
  const L = Math.min(dec.lo[first], dec.hi[first]);
  const H = Math.max(dec.lo[first], dec.hi[first]);
  const step = (H - L) / (dec.levels - 1);
  let clipped = 0;
  if (aligned) for (let i = 0; i < oVals.length; i++) if (oVals[i] < L - step / 2 || oVals[i] > H + step / 2) clipped++;
  const every = Math.max(1, Math.ceil(dec.levels / MAX_LINES));
  const shown: number[] = [];
  for (let k = 0; k < dec.levels; k += every) shown.push(L + k * step);
  const grid = { levels: dec.levels, step, lo: L, hi: H, shown, every };
  // bins centred on the levels, covering the values and the range
  const from = Math.min(lo, L);
  const to = Math.max(hi, H);
  if (!(step > 0)) return { grid, clipped, edges: [from - 0.5, to + 0.5] };
  const k0 = Math.floor((from - L) / step + 0.5);
  const k1 = Math.ceil((to - L) / step - 0.5);
  const count = k1 - k0 + 1;
  const merge = Math.max(1, Math.ceil(count / MAX_BINS));
  const edges: number[] = [];
  for (let k = k0; k <= k1 + 1; k += merge) edges.push(L + (k - 0.5) * step);
  if (edges[edges.length - 1] < L + (k1 + 0.5) * step) edges.push(L + (k1 + 0.5) * step);
  return { grid, clipped, edges };
}

/** Both value sets counted into the bins between `edges` (values beyond the ends go to the end bins). */
function histogram(edges: number[], oVals: Float64Array, dVals: Float64Array): WeightBin[] {
  const bins: WeightBin[] = [];
  for (let i = 0; i + 1 < edges.length; i++) bins.push({ x0: edges[i], x1: edges[i + 1], original: 0, decoded: 0 });
  const put = (v: number, field: 'original' | 'decoded') => {
    if (!Number.isFinite(v)) return;
    // binary search for the bin
    let a = 0;
    let b = bins.length - 1;
    if (v <= bins[0].x0) return void bins[0][field]++;
    if (v >= bins[b].x1) return void bins[b][field]++;
    while (a < b) {
      const m = (a + b) >> 1;
      if (v < bins[m].x1) b = m;
      else a = m + 1;
    }
    bins[a][field]++;
  };
  for (let i = 0; i < oVals.length; i++) put(oVals[i], 'original');
  for (let i = 0; i < dVals.length; i++) put(dVals[i], 'decoded');
  return bins;
}

/** The layer's weight and its original values (with a BatchNormalization it absorbed folded in). */
function originalWeight(s: WeightSource, key: string): { layer: Layer; w: LayerWeight; orig: { dims: number[]; values: Float64Array }; foldedNote?: string } {
  s.layers ??= findLayers(s.original.model);
  const layer = s.layers.find((l) => l.key === key);
  if (!layer) throw new AppError('invalid-argument', `${key} is not a layer with weights in the original model`);
  const w = layer.weights.find((x) => x.role === 'weight');
  if (!w) throw new AppError('invalid-argument', `${key} has no weight input`);
  if (w.elements > MAX_COMPARE_ELEMENTS) {
    throw new AppError('unsupported', `${w.name} holds ${w.elements.toLocaleString('en-US')} values; weights above ${MAX_COMPARE_ELEMENTS.toLocaleString('en-US')} are not decoded for the histogram yet`);
  }
  // a layer that absorbed a BatchNormalization is compared with its folded weights
  const absorbed = s.absorbed(key);
  const folded = absorbed?.length ? foldedOriginal(s) : undefined;
  const source = folded?.layers.find((l) => l.key === key);
  const orig =
    folded && source ? originalValues(folded.model, s.original.external, source, w.inputIndex) : originalValues(s.original.model, s.original.external, layer, w.inputIndex);
  return { layer, w, orig, ...(source ? { foldedNote: `original weights shown with ${absorbed!.join(', ')} folded in, as the compressor quantized them` } : {}) };
}

/** The weight comparison of layer `key`, for group `group` (default: the widest range). */
export function compareLayerWeights(s: WeightSource, key: string, group?: number): WeightComparison {
  const cacheKey = `${key}\u0000${group ?? ''}`;
  const hit = s.weights.get(cacheKey);
  if (hit) return hit;
  const { layer, w, orig, foldedNote } = originalWeight(s, key);
  const dec = decodeCompressed(s, key, w.inputIndex, orig.dims);
  const aligned = dec.values.length === orig.values.length;
  let note = foldedNote;
  if (!aligned) note = `shapes differ ([${orig.dims.join(', ')}] → [${dec.dims.join(', ')}], channel pruning): the histograms show whole tensors, the grid one group of the compressed tensor`;
  const hint = s.hints.get(key);
  const blockSize = hint?.requested.granularity === 'block' ? hint.requested.blockSize : undefined;
  const g = groupsOf(dec, layer, w.inputIndex, blockSize);
  // group ranges (original values where aligned)
  const { gmin, gmax, gcount, order } = groupRanges(aligned ? orig.values : dec.values, g);
  const label = (i: number) => groupLabel(i, g.first[i], g.count, dec.dims, layer, w.inputIndex, blockSize);
  const view = (i: number): WeightGroup => ({ index: i, label: label(i), min: gmin[i], max: gmax[i], elements: gcount[i] });
  const chosen = group !== undefined && group >= 0 && group < g.count ? group : order[0];
  const groups = order.slice(0, 64).map(view);
  if (!groups.some((x) => x.index === chosen)) groups.push(view(chosen));
  const { oVals, dVals } = groupValues(aligned, g, chosen, gcount[chosen], orig.values, dec.values);
  const { lo, hi } = valueRange([oVals, dVals]);
  const { grid, clipped, edges } = gridAndEdges(dec, g.first[chosen], aligned, oVals, lo, hi);
  const out: WeightComparison = {
    key,
    op: layer.op,
    weight: w.name,
    shape: orig.dims,
    compressedShape: dec.dims,
    storage: dec.storage,
    aligned,
    groups,
    groupCount: g.count,
    group: view(chosen),
    bins: histogram(edges, oVals, dVals),
    ...(grid ? { grid } : {}),
    clipped,
    zeros: { original: count0(orig.values), decoded: count0(dec.values) },
    ...(note ? { note } : {}),
  };
  if (aligned) Object.assign(out, errorStats(orig.values, dec.values));
  s.weights.set(cacheKey, out);
  return out;
}

/** Max and RMS error and cosine of the decoded weight against the original. */
function errorStats(orig: Float64Array, dec: Float64Array): Pick<WeightComparison, 'maxAbsError' | 'rmse' | 'cosine'> {
  let max = 0;
  let se = 0;
  for (let i = 0; i < dec.length; i++) {
    const e = Math.abs(dec[i] - orig[i]);
    if (e > max) max = e;
    se += e * e;
  }
  // no cosine when both are ~0 (src/bench/metrics.ts): the abs error and RMSE say it
  const c = fidelityCosine(orig, dec);
  return { maxAbsError: max, rmse: Math.sqrt(se / Math.max(1, dec.length)), ...(c !== undefined ? { cosine: c } : {}) };
}

function count0(a: Float64Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === 0) n++;
  return n;
}
