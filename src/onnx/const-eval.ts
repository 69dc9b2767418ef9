/**
 * Evaluates the constant subgraph behind a tensor: what a layer's weight decodes to in a
 * compressed file (int8 codes → Cast → Sub → Mul, packed nibbles → Cast/Div/Floor/Concat →
 * Slice/Reshape, DequantizeLinear per tensor, per axis or blocked, float16 → Cast), so the compare
 * view can show the dequantized weights exactly as onnxruntime computes them at load.
 *
 * Values are float64 while computing; float32 results are rounded to float32 at every op that
 * writes float32 (as onnxruntime does). `overrides` replace stored tensors' values, so the same
 * chain can be run on the lowest and highest codes to find each element's representable range.
 *
 * Only the ops decode chains use (and the shape ops weights pass through); anything else throws
 * AppError('unsupported') naming the op. Depth is bounded (chains are short; a worker's stack is small).
 */
import { AppError } from '../core/errors';
import { float16ToFloat32, float32ToFloat16 } from '../core/float16';
import { attrInt, attrInts } from './attributes';
import { constantValue } from './layers';
import { graphPath, modelGraphs, type GraphRecord } from './names';
import { elementCount, tensorValues } from './tensor';
import { DataType, type ExternalDataResolver, type Model, type Node, type Tensor } from './types';

export interface EvalTensor {
  dims: number[];
  data: Float64Array;
  dataType: number;
}

type Def = { kind: 'tensor'; tensor: Tensor } | { kind: 'node'; node: Node };

interface Scope {
  defs: Map<string, Def>;
  outer?: Scope;
}

const MAX_DEPTH = 64;
const FLOATS = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

function unsupported(msg: string): never {
  throw new AppError('unsupported', msg);
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let k = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    s[d] = k;
    k *= dims[d];
  }
  return s;
}

function roundTo(dataType: number, v: number): number {
  switch (dataType) {
    case DataType.FLOAT:
      return Math.fround(v);
    case DataType.FLOAT16:
      return float16ToFloat32(float32ToFloat16(v));
    case DataType.DOUBLE:
      return v;
    default:
      return Math.trunc(v);
  }
}

/** numpy broadcasting of a binary op. */
function broadcast(a: EvalTensor, b: EvalTensor, f: (x: number, y: number) => number, outType: number): EvalTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const ad = [...new Array<number>(rank - a.dims.length).fill(1), ...a.dims];
  const bd = [...new Array<number>(rank - b.dims.length).fill(1), ...b.dims];
  const dims = ad.map((d, i) => {
    if (d === bd[i] || bd[i] === 1) return d;
    if (d === 1) return bd[i];
    return unsupported(`shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] do not broadcast`);
  });
  const n = elementCount(dims);
  const out = new Float64Array(n);
  const as = strides(ad).map((s, i) => (ad[i] === 1 ? 0 : s));
  const bs = strides(bd).map((s, i) => (bd[i] === 1 ? 0 : s));
  if (a.data.length === n && b.data.length === n) {
    for (let i = 0; i < n; i++) out[i] = roundTo(outType, f(a.data[i], b.data[i]));
  } else if (b.data.length === 1) {
    const y = b.data[0];
    for (let i = 0; i < n; i++) out[i] = roundTo(outType, f(a.data[i % a.data.length], y));
  } else {
    const idx = new Array<number>(rank).fill(0);
    let ai = 0;
    let bi = 0;
    for (let i = 0; i < n; i++) {
      out[i] = roundTo(outType, f(a.data[ai], b.data[bi]));
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]++;
        ai += as[d];
        bi += bs[d];
        if (idx[d] < dims[d]) break;
        ai -= as[d] * dims[d];
        bi -= bs[d] * dims[d];
        idx[d] = 0;
      }
    }
  }
  return { dims, data: out, dataType: outType };
}

export function transposeValues(data: Float64Array, dims: readonly number[], perm: readonly number[]): Float64Array {
  const rank = dims.length;
  const outDims = perm.map((p) => dims[p]);
  const inStr = strides(dims);
  const st = perm.map((p) => inStr[p]);
  const n = data.length;
  const out = new Float64Array(n);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < n; o++) {
    out[o] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += st[d];
      if (idx[d] < outDims[d]) break;
      src -= st[d] * outDims[d];
      idx[d] = 0;
    }
  }
  return out;
}

function toFloat64(t: Tensor, external?: ExternalDataResolver): Float64Array {
  const v = tensorValues(t, external);
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float64Array.from(v, Number);
  return Float64Array.from(v as ArrayLike<number>);
}

const ints = (t: EvalTensor) => Array.from(t.data, (x) => Math.trunc(x));

/** Evaluates constant tensors of one model. */
export class ConstEvaluator {
  private readonly scopes = new Map<string, Scope>();
  private readonly records: Map<string, GraphRecord>;
  private readonly model: Model;
  private readonly external?: ExternalDataResolver;

  constructor(model: Model, external?: ExternalDataResolver) {
    this.model = model;
    this.external = external;
    this.records = new Map();
    for (const rec of modelGraphs(model)) if (rec.kind === 'main' || rec.kind === 'subgraph') this.records.set(graphPath(rec), rec);
  }

  private scopeOf(rec: GraphRecord): Scope {
    const path = graphPath(rec);
    const hit = this.scopes.get(path);
    if (hit) return hit;
    const defs = new Map<string, Def>();
    for (const t of rec.graph?.initializers ?? []) if (t.name) defs.set(t.name, { kind: 'tensor', tensor: t });
    for (const n of rec.nodes) for (const o of n.outputs) if (o) defs.set(o, { kind: 'node', node: n });
    const scope: Scope = { defs, outer: rec.parent ? this.scopeOf(rec.parent) : undefined };
    this.scopes.set(path, scope);
    return scope;
  }

  private lookup(path: string, name: string): { def: Def; scope: Scope } | undefined {
    const rec = this.records.get(path) ?? unsupported(`graph ${path} not found`);
    for (let s: Scope | undefined = this.scopeOf(rec); s; s = s.outer) {
      const def = s.defs.get(name);
      if (def) return { def, scope: s };
    }
    return undefined;
  }

  /** The node writing `name` in graph `path` (undefined for initializers and inputs). */
  producer(path: string, name: string): Node | undefined {
    const d = this.lookup(path, name)?.def;
    return d?.kind === 'node' ? d.node : undefined;
  }

  /** Stored tensors the value of `name` is computed from (initializers and Constant values). */
  sources(path: string, name: string): Tensor[] {
    const out: Tensor[] = [];
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length) {
      const x = stack.pop()!;
      if (!x || seen.has(x)) continue;
      seen.add(x);
      const d = this.lookup(path, x)?.def;
      if (!d) continue;
      if (d.kind === 'tensor') out.push(d.tensor);
      else if (d.node.opType === 'Constant') {
        const c = constantValue(d.node);
        if (c?.tensor) out.push({ ...c.tensor, name: x });
      } else stack.push(...d.node.inputs);
    }
    return out;
  }

  /** The value of tensor `name` as graph `path` sees it. `overrides` replace stored tensors by name. */
  evaluate(path: string, name: string, overrides?: ReadonlyMap<string, Float64Array>): EvalTensor {
    const memo = new Map<string, EvalTensor>();
    return this.value(path, name, overrides, memo, 0);
  }

  private value(path: string, name: string, ov: ReadonlyMap<string, Float64Array> | undefined, memo: Map<string, EvalTensor>, depth: number): EvalTensor {
    const hit = memo.get(name);
    if (hit) return hit;
    if (depth > MAX_DEPTH) unsupported(`the chain behind ${name} is deeper than ${MAX_DEPTH} ops`);
    const found = this.lookup(path, name) ?? unsupported(`${name} is not a constant`);
    let r: EvalTensor;
    const fromTensor = (t: Tensor): EvalTensor => {
      const o = ov?.get(t.name ?? name) ?? ov?.get(name);
      return { dims: t.dims.slice(), data: o ?? toFloat64(t, this.external), dataType: t.dataType ?? 0 };
    };
    if (found.def.kind === 'tensor') r = fromTensor(found.def.tensor);
    else {
      const node = found.def.node;
      if (node.opType === 'Constant') {
        const c = constantValue(node);
        if (!c?.tensor) unsupported(`Constant ${node.name ?? ''} holds no dense tensor`);
        r = fromTensor({ ...c.tensor, name });
      } else {
        const input = (i: number): EvalTensor | undefined => {
          const n = node.inputs[i];
          return n ? this.value(path, n, ov, memo, depth + 1) : undefined;
        };
        r = this.apply(node, input, name);
      }
    }
    memo.set(name, r);
    return r;
  }

  private apply(node: Node, input: (i: number) => EvalTensor | undefined, outName: string): EvalTensor {
    const op = node.opType ?? '';
    const x = () => input(0) ?? unsupported(`${op} without input`);
    const opset = this.model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13;
    if (node.domain && node.domain !== 'ai.onnx') unsupported(`${node.domain}.${op} cannot be evaluated here`);
    if (node.outputs[0] !== outName) unsupported(`${op} output ${outName} cannot be evaluated here`);
    switch (op) {
      case 'Identity':
        return x();
      case 'Cast': {
        const to = attrInt(node, 'to', DataType.FLOAT);
        const a = x();
        return { dims: a.dims, data: a.data.map((v) => roundTo(to, v)), dataType: to };
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const a = x();
        const b = input(1) ?? unsupported(`${op} needs two inputs`);
        const f =
          op === 'Add' ? (p: number, q: number) => p + q : op === 'Sub' ? (p: number, q: number) => p - q : op === 'Mul' ? (p: number, q: number) => p * q : (p: number, q: number) => p / q;
        return broadcast(a, b, f, a.dataType);
      }
      case 'Floor': {
        const a = x();
        return { ...a, data: a.data.map(Math.floor) };
      }
      case 'Neg': {
        const a = x();
        return { ...a, data: a.data.map((v) => -v) };
      }
      case 'Concat':
        return evalConcat(node, input);
      case 'Slice':
        return evalSlice(node, x(), input, opset);
      case 'Reshape': {
        const a = x();
        const target = ints(input(1) ?? unsupported('Reshape without a shape'));
        const allowZero = attrInt(node, 'allowzero', 0) === 1;
        const dims = target.map((d, i) => (d === 0 && !allowZero ? a.dims[i] : d));
        const neg = dims.indexOf(-1);
        if (neg >= 0) {
          const known = dims.reduce((p, d, i) => (i === neg ? p : p * d), 1);
          dims[neg] = known === 0 ? 0 : a.data.length / known;
        }
        if (elementCount(dims) !== a.data.length) unsupported(`Reshape to [${target.join(', ')}] does not fit [${a.dims.join(', ')}]`);
        return { ...a, dims };
      }
      case 'Flatten': {
        const a = x();
        const r = a.dims.length;
        const ax0 = attrInt(node, 'axis', 1);
        const ax = ax0 < 0 ? ax0 + r : ax0;
        return { ...a, dims: [elementCount(a.dims.slice(0, ax)), elementCount(a.dims.slice(ax))] };
      }
      case 'Transpose': {
        const a = x();
        const perm = attrInts(node, 'perm') ?? a.dims.map((_, i) => a.dims.length - 1 - i);
        return { dims: perm.map((p) => a.dims[p]), data: transposeValues(a.data, a.dims, perm), dataType: a.dataType };
      }
      case 'Unsqueeze': {
        const a = x();
        const axes = attrInts(node, 'axes') ?? ints(input(1) ?? unsupported('Unsqueeze without axes'));
        const rank = a.dims.length + axes.length;
        const norm = axes.map((v) => (v < 0 ? v + rank : v));
        const dims: number[] = [];
        let k = 0;
        for (let d = 0; d < rank; d++) dims.push(norm.includes(d) ? 1 : a.dims[k++]);
        return { ...a, dims };
      }
      case 'Squeeze': {
        const a = x();
        const given = attrInts(node, 'axes') ?? (input(1) ? ints(input(1)!) : undefined);
        const drop = given ? given.map((v) => (v < 0 ? v + a.dims.length : v)) : a.dims.map((d, i) => (d === 1 ? i : -1));
        return { ...a, dims: a.dims.filter((_, i) => !drop.includes(i)) };
      }
      case 'DequantizeLinear':
        return dequantize(node, x(), input(1) ?? unsupported('DequantizeLinear without a scale'), input(2));
      default:
        return unsupported(`${op} is not a decode op this view evaluates`);
    }
  }
}

/** DequantizeLinear: per tensor, per axis (1-D scale) or blocked (`block_size`), y = (x - zp) * scale. */
export function dequantize(node: Node, x: EvalTensor, scale: EvalTensor, zp: EvalTensor | undefined): EvalTensor {
  const rank = x.dims.length;
  const outType = scale.dataType || DataType.FLOAT;
  const n = x.data.length;
  const out = new Float64Array(n);
  const blockSize = attrInt(node, 'block_size', 0);
  if (scale.data.length === 1 && blockSize === 0) {
    const s = scale.data[0];
    const z = zp ? zp.data[0] : 0;
    for (let i = 0; i < n; i++) out[i] = roundTo(outType, (x.data[i] - z) * s);
    return { dims: x.dims, data: out, dataType: outType };
  }
  const ax0 = attrInt(node, 'axis', 1);
  const axis = ax0 < 0 ? ax0 + rank : ax0;
  const len = x.dims[axis];
  const inner = elementCount(x.dims.slice(axis + 1));
  if (blockSize === 0) {
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / inner) % len;
      out[i] = roundTo(outType, (x.data[i] - (zp ? zp.data[c] : 0)) * scale.data[c]);
    }
  } else {
    const blocks = Math.ceil(len / blockSize);
    for (let i = 0; i < n; i++) {
      const o = Math.floor(i / (inner * len));
      const l = Math.floor(i / inner) % len;
      const k = i % inner;
      const g = (o * blocks + Math.floor(l / blockSize)) * inner + k;
      out[i] = roundTo(outType, (x.data[i] - (zp ? zp.data[g] : 0)) * scale.data[g]);
    }
  }
  return { dims: x.dims, data: out, dataType: outType };
}

export const isFloatType = (t: number) => FLOATS.has(t);

/** Concat of the evaluated inputs along `axis`. */
function evalConcat(node: Node, input: (i: number) => EvalTensor | undefined): EvalTensor {
  const parts = node.inputs.map((_, i) => input(i)).filter((t): t is EvalTensor => !!t);
  if (parts.length === 0) unsupported('Concat without inputs');
  const rank = parts[0].dims.length;
  const axis = ((attrInt(node, 'axis', 0) % rank) + rank) % rank;
  const outer = elementCount(parts[0].dims.slice(0, axis));
  const dims = parts[0].dims.slice();
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
  const data = new Float64Array(elementCount(dims));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const p of parts) {
      const run = elementCount(p.dims.slice(axis));
      data.set(p.data.subarray(i * run, (i + 1) * run), o);
      o += run;
    }
  }
  return { dims, data, dataType: parts[0].dataType };
}

/** Slice with unit steps (attributes before opset 10, inputs since). */
function evalSlice(node: Node, a: EvalTensor, input: (i: number) => EvalTensor | undefined, opset: number): EvalTensor {
  const rank = a.dims.length;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (opset < 10) {
    starts = attrInts(node, 'starts') ?? [];
    ends = attrInts(node, 'ends') ?? [];
    axes = attrInts(node, 'axes');
  } else {
    starts = ints(input(1) ?? unsupported('Slice without starts'));
    ends = ints(input(2) ?? unsupported('Slice without ends'));
    const ax = input(3);
    const st = input(4);
    axes = ax ? ints(ax) : undefined;
    steps = st ? ints(st) : undefined;
  }
  axes ??= starts.map((_, i) => i);
  const lo = a.dims.map(() => 0);
  const hi = a.dims.slice();
  axes.forEach((ax0, i) => {
    const ax = ax0 < 0 ? ax0 + rank : ax0;
    if ((steps?.[i] ?? 1) !== 1) unsupported('Slice with steps');
    const d = a.dims[ax];
    const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
    lo[ax] = clamp(starts[i]);
    hi[ax] = Math.max(lo[ax], clamp(ends[i]));
  });
  const dims = hi.map((h, i) => h - lo[i]);
  const data = new Float64Array(elementCount(dims));
  const st = strides(a.dims);
  const idx = dims.map(() => 0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (idx[d] + lo[d]) * st[d];
    data[o] = a.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return { dims, data, dataType: a.dataType };
}
