/**
 * Micro models for `npm run bench:web-speed`: one layer per shape class, written in every
 * quantized form onnxruntime-web's wasm build may run (see scripts/bench-web-speed.ts). Built with
 * the project's model builders and encoder; weights seeded N(0, sqrt(2 / fan-in)).
 */
import { activationParams, quantizeBias } from '../../src/compress/activations/activations';
import type { TensorRange } from '../../src/compress/activations/calibrate';
import type { FeedTensor } from './page';
import type { Calibration, Sample } from '../../src/compress/activations/calibrate';
import { gaussian } from '../../src/compress/testing/fixtures';
import { seeded } from '../../src/testing/random';
import { compressModel } from '../../src/compress/compress';
import { quantizeTensor } from '../../src/compress/quantize/quantize';
import { makeRecipe } from '../../src/compress/recipe';
import { encodeModel } from '../../src/onnx/codec';
import { attr, makeNode } from '../../src/onnx/build';
import { makeTensor } from '../../src/onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../../src/onnx/types';
import { convAttrs, floatModel, inputDims, layerModel, layerWeights, outputDims, type LayerSpec } from '../../src/testing/layer-models';

export { conv, floatModel, inputDims, macs, matmul, outputDims, type LayerSpec } from '../../src/testing/layer-models';

/** Activation quantization parameters: uint8 as onnxruntime's quantizer writes them, or int8 (qmin -128). */
function actParams(range: TensorRange, signed: boolean): { scale: number; zp: number } {
  const { scale, zeroPoint } = activationParams(range);
  return { scale, zp: signed ? zeroPoint - 128 : zeroPoint };
}

export type FormId = 'qdq-u8' | 'qdq-s8' | 'qlinear-u8' | 'qlinear-s8' | 'integer' | 'q-in' | 'q-out';

export const FORM_LABELS: Record<FormId, string> = {
  'qdq-u8': 'QDQ, uint8 act',
  'qdq-s8': 'QDQ, int8 act',
  'qlinear-u8': 'QLinear op, uint8 act',
  'qlinear-s8': 'QLinear op, int8 act',
  integer: 'Integer op + DynamicQuantizeLinear',
  'q-in': 'float32 + Q->DQ on its input',
  'q-out': 'float32 + Q->DQ on its output',
};

/**
 * One hand-written quantized form of the layer, its float input and output at the edges
 * (so every form pays its quantize / dequantize steps). `ranges`: calibrated x and y ranges.
 */
export function formModel(s: LayerSpec, form: FormId, ranges: { x: TensorRange; y: TensorRange }): Model {
  const { w, wDims, b } = layerWeights(s);
  const signed = form.endsWith('s8');
  const actType = signed ? DataType.INT8 : DataType.UINT8;
  const px = actParams(ranges.x, signed);
  const py = actParams(ranges.y, signed);
  const inits: Tensor[] = [
    makeTensor('x_scale', DataType.FLOAT, [], [px.scale]),
    makeTensor('x_zp', actType, [], [px.zp]),
    makeTensor('y_scale', DataType.FLOAT, [], [py.scale]),
    makeTensor('y_zp', actType, [], [py.zp]),
  ];
  const io: [[string, number[]][], [string, number[]][]] = [[['x', inputDims(s)]], [['y', outputDims(s)]]];
  if (form === 'q-in' || form === 'q-out') {
    // the float layer with a Q -> DQ pair on its input or on its output only: nothing fuses (an
    // integer kernel needs both), so the time over float32's is what the pair costs on that tensor
    const f = floatModel(s);
    const g = f.graph as NonNullable<Model['graph']>;
    g.initializers.push(...inits.slice(form === 'q-in' ? 0 : 2, form === 'q-in' ? 2 : 4));
    const layer = g.nodes[0];
    const t = form === 'q-in' ? 'x' : 'y';
    const pair = [
      makeNode('QuantizeLinear', [form === 'q-in' ? 'x' : 'yf', `${t}_scale`, `${t}_zp`], [`${t}q`]),
      makeNode('DequantizeLinear', [`${t}q`, `${t}_scale`, `${t}_zp`], [form === 'q-in' ? 'xd' : 'y']),
    ];
    g.nodes = form === 'q-in' ? [...pair, { ...layer, inputs: ['xd', ...layer.inputs.slice(1)] }] : [{ ...layer, outputs: ['yf'] }, ...pair];
    return f;
  }
  if (form === 'integer') return integerModel(s, w, wDims, b);
  const axis = s.kind === 'conv' ? 0 : 1;
  const qt = quantizeTensor(w, wDims, { kind: 'channel', axis }, 8, true);
  const nOut = qt.scales.length;
  inits.push(
    makeTensor('w_q', DataType.INT8, wDims, qt.q),
    makeTensor('w_scale', DataType.FLOAT, [nOut], qt.scales),
    makeTensor('w_zp', DataType.INT8, [nOut], new Int8Array(nOut)),
  );
  const bq = b ? quantizeBias(b, px.scale, qt.scales) : undefined;
  if (bq) inits.push(makeTensor('b_q', DataType.INT32, [nOut], bq.codes), makeTensor('b_scale', DataType.FLOAT, [nOut], bq.scales));
  const nodes: Node[] = [makeNode('QuantizeLinear', ['x', 'x_scale', 'x_zp'], ['xq'])];
  if (form === 'qdq-u8' || form === 'qdq-s8') {
    nodes.push(
      makeNode('DequantizeLinear', ['xq', 'x_scale', 'x_zp'], ['xd']),
      makeNode('DequantizeLinear', ['w_q', 'w_scale', 'w_zp'], ['wd'], [attr.int('axis', axis)]),
    );
    if (bq) nodes.push(makeNode('DequantizeLinear', ['b_q', 'b_scale'], ['bd'], [attr.int('axis', 0)]));
    const op = s.kind === 'conv' ? makeNode('Conv', ['xd', 'wd', ...(bq ? ['bd'] : [])], ['yf'], convAttrs(s)) : makeNode('MatMul', ['xd', 'wd'], ['yf']);
    nodes.push(op, makeNode('QuantizeLinear', ['yf', 'y_scale', 'y_zp'], ['yq']));
  } else if (s.kind === 'conv') {
    nodes.push(makeNode('QLinearConv', ['xq', 'x_scale', 'x_zp', 'w_q', 'w_scale', 'w_zp', 'y_scale', 'y_zp', ...(bq ? ['b_q'] : [])], ['yq'], convAttrs(s)));
  } else {
    nodes.push(makeNode('QLinearMatMul', ['xq', 'x_scale', 'x_zp', 'w_q', 'w_scale', 'w_zp', 'y_scale', 'y_zp'], ['yq']));
  }
  nodes.push(makeNode('DequantizeLinear', ['yq', 'y_scale', 'y_zp'], ['y']));
  return layerModel(nodes, inits, ...io);
}

/**
 * DynamicQuantizeLinear(x) -> ConvInteger / MatMulInteger -> Cast -> Mul(x_scale * w_scale)
 * (-> Add bias). ConvInteger takes uint8 weights only (zero point 128, one scale); MatMulInteger
 * takes int8 weights per column (onnxruntime fuses it into DynamicQuantizeMatMul).
 */
function integerModel(s: LayerSpec, w: Float32Array, wDims: number[], b?: Float32Array): Model {
  const inits: Tensor[] = [];
  const nodes: Node[] = [makeNode('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xz'])];
  if (s.kind === 'conv') {
    const qt = quantizeTensor(w, wDims, { kind: 'tensor' }, 8, true);
    inits.push(
      makeTensor('w_q', DataType.UINT8, wDims, Uint8Array.from(qt.q, (v) => v + 128)),
      makeTensor('w_zp', DataType.UINT8, [], [128]),
      makeTensor('w_scale', DataType.FLOAT, [], [qt.scales[0]]),
      makeTensor('b', DataType.FLOAT, [1, s.cout, 1, 1], b ?? new Float32Array(s.cout)),
    );
    nodes.push(makeNode('ConvInteger', ['xq', 'w_q', 'xz', 'w_zp'], ['yi'], convAttrs(s)));
  } else {
    const qt = quantizeTensor(w, wDims, { kind: 'channel', axis: 1 }, 8, true);
    inits.push(makeTensor('w_q', DataType.INT8, wDims, qt.q), makeTensor('w_zp', DataType.INT8, [], [0]), makeTensor('w_scale', DataType.FLOAT, [s.n], qt.scales));
    nodes.push(makeNode('MatMulInteger', ['xq', 'w_q', 'xz', 'w_zp'], ['yi']));
  }
  nodes.push(
    makeNode('Cast', ['yi'], ['yc'], [attr.int('to', DataType.FLOAT)]),
    makeNode('Mul', ['xs', 'w_scale'], ['sc']),
    makeNode('Mul', ['yc', 'sc'], [s.kind === 'conv' ? 'ym' : 'y']),
  );
  if (s.kind === 'conv') nodes.push(makeNode('Add', ['ym', 'b'], ['y']));
  return layerModel(nodes, inits, [['x', inputDims(s)]], [['y', outputDims(s)]]);
}

/** A named model timed in the page against the first of its row (the float one). */
export interface Form {
  label: string;
  bytes: Uint8Array;
  feed: Record<string, FeedTensor>;
}
export interface Row {
  name: string;
  note: string;
  /** elements of the layer's output (layer rows) */
  outputElements: number;
  forms: Form[];
}

export const feedOf = (name: string, dims: number[], seed: number): Record<string, FeedTensor> => ({ [name]: { dims, data: Array.from(gaussian(seeded(seed), dims.reduce((p, d) => p * d, 1), 1)) } });
export const sampleOf = (f: Record<string, FeedTensor>): Sample => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { dtype: 'float32', dims: v.dims, data: Float32Array.from(v.data) }]));

/** What the compressor writes for target wasm with int8 activations: guard on, forced past it, and every layer in the dynamic form (DynamicQuantizeLinear + ConvInteger / MatMulInteger). */
export function compressorForms(m: Model, calibration: Calibration, feed: Record<string, FeedTensor>): Form[] {
  const recipe = makeRecipe('wasm', { weights: 'int8', activations: 'int8' });
  const guarded = compressModel(m, recipe, { calibration });
  const kept = guarded.report.layers.filter((l) => l.activations).length;
  const forced = compressModel(m, recipe, { calibration, activationCostGuard: false });
  const forcedKept = forced.report.layers.filter((l) => l.activations).length;
  const dynamic = compressModel(m, recipe, { calibration, activationForm: 'dynamic' });
  const dynamicKept = dynamic.report.layers.filter((l) => l.activations?.mode === 'dynamic').length;
  return [
    { label: `compressor, guard (${kept ? `${kept} int8-act layers` : 'weights only'})`, bytes: encodeModel(guarded.model), feed },
    { label: `compressor, forced (${forcedKept} int8-act layers)`, bytes: encodeModel(forced.model), feed },
    { label: `compressor, dynamic form (${dynamicKept} layers)`, bytes: encodeModel(dynamic.model), feed },
  ];
}
