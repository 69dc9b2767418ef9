/**
 * Folds BatchNormalization (inference form) into the Conv, ConvTranspose or Gemm that produces
 * its input, when nothing else reads that layer's output:
 *
 *   s = scale / sqrt(var + epsilon)
 *   W'[o, ...] = W[o, ...] * s[o]          (o: the layer's output channel)
 *   b'[o] = (b[o] - mean[o]) * s[o] + B[o]  (b = 0 when the layer has no bias)
 *
 * Conv output channel o is W axis 0; ConvTranspose W is [C, M/group, ...] and channel
 * o = floor(c / (C/group)) * (M/group) + j; Gemm's output columns are B's rows (transB) or
 * columns, and the bias becomes beta * C folded into a [N] vector with beta = 1. Computed in
 * float64, stored float32. The layer then writes the BatchNormalization's output name and the
 * BatchNormalization and its parameters go (the parameters only when nothing else reads them).
 *
 * Left as it was, with the reason: float16/double layers, weights not held as constants
 * (e.g. behind shape ops, or graph inputs), a layer output read elsewhere, BatchNormalization in
 * training mode or with spatial=0, a Gemm whose bias is a full [M, N] matrix.
 */
import { AppError } from '../../core/errors';
import { modelGraphs, type GraphRecord } from '../../onnx/names';
import { elementCount, tensorFloats } from '../../onnx/tensor';
import { DataType, type ExternalDataResolver, type Int64, type Model, type Node } from '../../onnx/types';
import { bytesOf } from '../emit';
import type { NameAllocator } from '../graph-edit';
import { ConstEditor, dropValueInfo, isOp, type ConstRef } from './graph-scope';
import { plural, type PassResult } from './pass';

const FOLD_INTO = new Set(['Conv', 'ConvTranspose', 'Gemm']);

function attrNum(n: Node, name: string): number | undefined {
  const a = n.attributes.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.i !== undefined) return Number(a.i as Int64);
  if (a.f !== undefined) return a.f;
  return undefined;
}

function refuse(msg: string): never {
  throw new AppError('unsupported', msg);
}

function floatConst(ed: ConstEditor, rec: GraphRecord, name: string, what: string, external?: ExternalDataResolver): { ref: ConstRef; values: Float32Array } {
  const ref = ed.consts.lookup(rec, name);
  if (!ref) refuse(`its ${what} ${name} is not a constant`);
  if (ref.tensor.dataType !== DataType.FLOAT) refuse(`its ${what} ${name} is not float32`);
  return { ref, values: tensorFloats(ref.tensor, external) };
}

interface Fold {
  weight: Float32Array;
  dims: number[];
  bias: Float32Array;
}

/** The folded weight and bias (no model change). */
function computeFold(layer: Node, w: Float32Array, dims: number[], b: Float32Array | undefined, beta: number, s: Float64Array, shift: Float64Array): Fold {
  const C = s.length;
  const out = new Float32Array(w.length);
  const op = layer.opType;
  const scaleOf = new Int32Array(w.length);
  if (op === 'Conv') {
    if (dims[0] !== C) refuse(`its weight has ${dims[0]} output channels and the BatchNormalization ${C}`);
    const inner = w.length / C;
    for (let i = 0; i < w.length; i++) scaleOf[i] = Math.floor(i / inner);
  } else if (op === 'ConvTranspose') {
    const group = attrNum(layer, 'group') ?? 1;
    const perGroup = dims[1];
    if (perGroup * group !== C) refuse(`its weight has ${perGroup * group} output channels and the BatchNormalization ${C}`);
    const cPerGroup = dims[0] / group;
    const inner = elementCount(dims.slice(2));
    for (let i = 0; i < w.length; i++) {
      const c = Math.floor(i / (perGroup * inner));
      const j = Math.floor(i / inner) % perGroup;
      scaleOf[i] = Math.floor(c / cPerGroup) * perGroup + j;
    }
  } else {
    const transB = (attrNum(layer, 'transB') ?? 0) !== 0;
    const n = transB ? dims[0] : dims[1];
    if (n !== C) refuse(`its weight has ${n} output columns and the BatchNormalization ${C}`);
    for (let i = 0; i < w.length; i++) scaleOf[i] = transB ? Math.floor(i / dims[1]) : i % dims[1];
  }
  for (let i = 0; i < w.length; i++) out[i] = w[i] * s[scaleOf[i]];
  const bias = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const b0 = b ? beta * (b.length === 1 ? b[0] : b[c]) : 0;
    bias[c] = (b0 - shift[c]) * s[c] + shift[C + c];
  }
  return { weight: out, dims, bias };
}

export interface FoldOptions {
  names: NameAllocator;
  external?: ExternalDataResolver;
}

export function foldBatchNorm(model: Model, options: FoldOptions): PassResult {
  const ed = new ConstEditor(model, options.names);
  const details: string[] = [];
  const refused: string[] = [];
  let folded = 0;
  for (const rec of modelGraphs(model)) {
    const g = rec.graph;
    if (!g || rec.kind === 'training') continue;
    const producer = new Map<string, Node>();
    for (const n of rec.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
    const gone = new Set<Node>();
    for (const bn of rec.nodes) {
      if (!isOp(bn, 'BatchNormalization')) continue;
      const x = bn.inputs[0] ?? '';
      const layer = producer.get(x);
      if (!layer || !FOLD_INTO.has(layer.opType ?? '') || !isOp(layer, layer.opType ?? '') || layer.outputs[0] !== x) continue;
      const bnName = bn.name || bn.outputs[0] || 'BatchNormalization';
      const layerName = layer.name || x;
      try {
        if ((ed.uses.get(x) ?? 0) !== 1) refuse(`${x} is read by other nodes too (or is a graph output)`);
        if ((attrNum(bn, 'training_mode') ?? 0) !== 0) refuse('it is in training mode');
        if ((attrNum(bn, 'spatial') ?? 1) !== 1) refuse('it has spatial=0');
        if (bn.outputs.slice(1).some((o) => o && (ed.uses.get(o) ?? 0) > 0)) refuse('its running statistics outputs are read');
        const eps = attrNum(bn, 'epsilon') ?? 1e-5;
        const [scale, shiftB, mean, variance] = [1, 2, 3, 4].map((i, k) => floatConst(ed, rec, bn.inputs[i] ?? '', ['scale', 'bias', 'mean', 'variance'][k], options.external).values);
        const C = scale.length;
        if ([shiftB, mean, variance].some((v) => v.length !== C)) refuse('its parameters differ in length');
        const s = new Float64Array(C);
        const shift = new Float64Array(2 * C); // mean, then B
        for (let c = 0; c < C; c++) {
          s[c] = scale[c] / Math.sqrt(variance[c] + eps);
          shift[c] = mean[c];
          shift[C + c] = shiftB[c];
        }
        const wName = layer.inputs[1] ?? '';
        const w = floatConst(ed, rec, wName, 'weight', options.external);
        const dims = w.ref.tensor.dims;
        const biasIndex = 2;
        const biasName = layer.inputs[biasIndex] ?? '';
        let bias: Float32Array | undefined;
        let beta = 1;
        let bdims = [C];
        if (biasName) {
          const b = floatConst(ed, rec, biasName, 'bias', options.external);
          const bd = b.ref.tensor.dims;
          const gemm = layer.opType === 'Gemm';
          const okShape = gemm
            ? elementCount(bd) === 1 || (bd[bd.length - 1] === C && bd.slice(0, -1).every((d) => d === 1))
            : b.values.length === C;
          if (!okShape) refuse(`its bias ${biasName} has shape [${bd.join(', ')}]`);
          bias = b.values;
          if (gemm) {
            beta = attrNum(layer, 'beta') ?? 1;
            if (bd.length === 2) bdims = [1, C];
          }
        }
        if (layer.opType === 'Gemm' && dims.length !== 2) refuse('its weight is not a matrix');
        const f = computeFold(layer, w.values, dims, bias, beta, s, shift);
        // commit: nothing above changed the model
        ed.replaceInput(rec, layer, 1, { dataType: DataType.FLOAT, dims: [...dims], raw: bytesOf(f.weight) }, `${wName}_bnfold`);
        ed.replaceInput(rec, layer, biasIndex, { dataType: DataType.FLOAT, dims: bdims, raw: bytesOf(f.bias) }, biasName ? `${biasName}_bnfold` : `${layerName}.bias`);
        // beta is folded into the new bias (default 1)
        if (layer.opType === 'Gemm') layer.attributes = layer.attributes.filter((a) => a.name !== 'beta');
        // the layer writes the BatchNormalization's output
        const y = bn.outputs[0];
        layer.outputs[0] = y;
        producer.delete(x);
        producer.set(y, layer);
        dropValueInfo(g, x);
        for (let i = 1; i < bn.inputs.length; i++) if (bn.inputs[i]) ed.released(rec, bn.inputs[i]);
        ed.uses.delete(x);
        gone.add(bn);
        folded++;
        details.push(`${bnName} folded into ${layerName} (${layer.opType}, ${C} channels)`);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        refused.push(`${bnName} not folded into ${layerName}: ${e.message}`);
      }
    }
    if (gone.size > 0) rec.nodes.splice(0, rec.nodes.length, ...rec.nodes.filter((n) => !gone.has(n)));
  }
  ed.finish();
  const summary = `${plural(folded, 'BatchNormalization')} folded${refused.length ? `; ${refused.length} left as ${refused.length === 1 ? 'it was' : 'they were'}` : ''}`;
  return { count: folded, summary, details: [...details, ...refused] };
}
