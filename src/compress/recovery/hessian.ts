/**
 * What GPTQ needs of each layer: H = XᵀX of its real inputs on the calibration samples (Conv:
 * the im2col patches, one H per group), and the mean input row (bias correction). The inputs come
 * from the original model (one pass), not from the compressed prefix: errors of earlier layers are
 * not seen by later ones (docs/RECIPE-NOTES.md, "Recovery").
 *
 * The runtime does the heavy work: a statistics copy of the model (the pattern of
 * activations/calibrate.ts, a copy with extra graph outputs) computes, per layer and sample, the
 * input rows as a [groups, cols, rows] tensor A and outputs A·Aᵀ (float32, one cols×cols per
 * group), the row sums and A's shape (the row count). No activation reaches JavaScript, which
 * only adds those small outputs into float64 sums, one sample at a time. Every row is used.
 *   - MatMul / Gemm: X reshaped to [rows, K];
 *   - Conv (1-D/2-D, groups and depthwise included): the im2col rows come from a patch Conv with
 *     the layer's strides, pads and dilations, one group per input channel and one-hot kernels
 *     (output channel c·k + i is input channel c at kernel position i: the weight's column order),
 *     so the patch weights are channels × k² values, not cols².
 * Layers that read the same input with the same geometry (Q/K/V projections) share one statistic.
 * Memory: one cols×cols float64 matrix per layer (or shared statistic) and group.
 */
import { AppError, throwIfAborted } from '../../core/errors';
import { attr, emptyTensor, makeNode } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import type { Layer } from '../../onnx/layers';
import { attrInt, attrInts } from '../../onnx/attributes';
import { DataType, type Attribute, type Model, type Node, type Tensor } from '../../onnx/types';
import type { RunModel, Sample } from '../activations/calibrate';
import { bytesOf } from '../emit';
import { cloneModel, collectNames, NameAllocator } from '../graph-edit';
import type { WeightMatrix } from './gptq';

export interface LayerHessian {
  key: string;
  op: 'Conv' | 'MatMul' | 'Gemm';
  /** the reduction length (columns of the weight matrix view) */
  cols: number;
  /** one H (cols×cols, row-major) per group (Conv groups; 1 otherwise); empty matrices when only means were asked for */
  h: Float64Array[];
  /** the mean input row per group (for bias correction) */
  mean: Float64Array[];
  /** input rows accumulated per group */
  rows: number;
}

export interface HessianOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Which layers can be recovered, and the tensor each reads: main-graph Conv (1-D/2-D), Gemm and MatMul with a constant weight. */
export function recoverable(layer: Layer): { input: string } | undefined {
  if (layer.graphPath !== 'main' || (layer.domain && layer.domain !== 'ai.onnx')) return undefined;
  const n = layer.node;
  const x = n.inputs[0];
  const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === 1);
  if (!x || !w) return undefined;
  if (layer.op === 'Conv' && (attrInts(n, 'kernel_shape')?.length ?? 2) <= 2) {
    const pad = n.attributes.find((a) => a.name === 'auto_pad');
    const mode = pad?.s ? new TextDecoder().decode(pad.s) : 'NOTSET';
    return mode === 'NOTSET' || mode === 'VALID' ? { input: x } : undefined;
  }
  if (layer.op === 'MatMul') return { input: x };
  if (layer.op === 'Gemm' && attrInt(n, 'transA', 0) === 0) return { input: x };
  return undefined;
}

/** The weight (as the layer reads it, `shape`) seen as [output channels, reduction]. */
export function weightMatrix(layer: Layer, shape: readonly number[]): WeightMatrix | undefined {
  if (layer.op === 'Conv' && shape.length >= 3) {
    const rows = shape[0];
    const cols = shape.slice(1).reduce((p, d) => p * d, 1);
    return { rows, cols, at: (r, c) => r * cols + c };
  }
  if (shape.length !== 2) return undefined;
  const [a, b] = shape;
  const transposed = layer.op === 'MatMul' || (layer.op === 'Gemm' && attrInt(layer.node, 'transB', 0) === 0);
  // [K, N]: rows N, element (r, c) at c * N + r; Gemm transB [N, K]: rows N, at r * K + c
  return transposed ? { rows: b, cols: a, at: (r, c) => c * b + r } : { rows: a, cols: b, at: (r, c) => r * b + c };
}

/**
 * One statistic the copy computes: the input rows of one or more layers (those reading the same
 * tensor with the same geometry), summed over the samples in float64.
 */
interface Stat {
  input: string;
  op: 'Conv' | 'dense';
  cols: number;
  groups: number;
  /** the Conv's kernel shape (its rank: 1-D or 2-D) and input channels */
  kernel: number[];
  channels: number;
  /** some layer wants H (otherwise only the sums: bias correction) */
  full: boolean;
  h: Float64Array[];
  sum: Float64Array[];
  rows: number;
  outputs: { gram?: string; sum: string; shape: string; rowsAxis: number };
}

const GEOMETRY = ['strides', 'pads', 'dilations', 'auto_pad'];

/** The Conv attributes the patch Conv copies (where it reads, not how many it writes). */
function geometry(n: Node): Attribute[] {
  return n.attributes.filter((a) => GEOMETRY.includes(a.name ?? ''));
}

function statKey(layer: Layer, input: string, cols: number): string {
  if (layer.op !== 'Conv') return `dense|${input}|${cols}`;
  const n = layer.node;
  const g = geometry(n).map((a) => `${a.name}=${a.ints?.join(',') ?? (a.s ? new TextDecoder().decode(a.s) : '')}`);
  return `conv|${input}|${cols}|${attrInt(n, 'group', 1)}|${convKernel(layer).join(',')}|${g.sort().join(';')}`;
}

function convKernel(layer: Layer): number[] {
  const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === 1);
  return attrInts(layer.node, 'kernel_shape') ?? (w?.shape ?? []).slice(2);
}

/** Appends the nodes and initializers of the statistics to a graph, written for its opset. */
class StatBuilder {
  readonly nodes: Node[] = [];
  readonly inits: Tensor[] = [];
  constructor(
    private readonly names: NameAllocator,
    private readonly opset: number,
  ) {}

  private node(op: string, inputs: string[], attributes: Attribute[] = []): string {
    const out = this.names.fresh(`__hessian_${op.toLowerCase()}`);
    this.nodes.push(makeNode(op, inputs, [out], attributes, { name: out }));
    return out;
  }

  private init(base: string, dataType: number, dims: number[], raw: Uint8Array): string {
    const name = this.names.fresh(base);
    this.inits.push(emptyTensor({ name, dataType, dims, rawData: raw }));
    return name;
  }

  private ints(values: number[]): string {
    return this.init('__hessian_shape', DataType.INT64, [values.length], bytesOf(BigInt64Array.from(values, (v) => BigInt(v))));
  }

  reshape(x: string, shape: number[]): string {
    // Reshape-1 took the shape as an attribute
    return this.opset < 5 ? this.node('Reshape', [x], [attr.ints('shape', shape)]) : this.node('Reshape', [x, this.ints(shape)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.node('Transpose', [x], [attr.ints('perm', perm)]);
  }

  matmul(a: string, b: string): string {
    return this.node('MatMul', [a, b]);
  }

  shape(x: string): string {
    return this.node('Shape', [x]);
  }

  reduceSum(x: string, axis: number): string {
    const keep = attr.int('keepdims', 0);
    return this.opset < 13 ? this.node('ReduceSum', [x], [attr.ints('axes', [axis]), keep]) : this.node('ReduceSum', [x, this.ints([axis])], [keep]);
  }

  /**
   * The im2col patches of a Conv's input: [N, channels·k, ...out], channel c·k + i being input
   * channel c at kernel position i (k = prod(kernel)); the input itself for a 1×1 kernel that
   * reads every position once.
   */
  patches(x: string, conv: Node, channels: number, kernel: number[]): string {
    const k = kernel.reduce((p, d) => p * d, 1);
    const plain = (attrInts(conv, 'strides') ?? []).every((s) => s === 1) && (attrInts(conv, 'pads') ?? []).every((p) => p === 0);
    if (k === 1 && plain) return x;
    const w = new Float32Array(channels * k * k);
    for (let c = 0; c < channels; c++) for (let i = 0; i < k; i++) w[(c * k + i) * k + i] = 1;
    const weight = this.init('__hessian_patch', DataType.FLOAT, [channels * k, 1, ...kernel], bytesOf(w));
    return this.node('Conv', [x, weight], [...geometry(conv), attr.int('group', channels), attr.ints('kernel_shape', kernel)]);
  }
}

/** Adds `stat`'s outputs (rows A: [groups, cols, rows] for Conv, [rows, cols] otherwise). */
function addStat(b: StatBuilder, stat: Stat, conv: Node | undefined): Stat['outputs'] {
  if (stat.op === 'dense') {
    const rows = b.reshape(stat.input, [-1, stat.cols]);
    const gram = stat.full ? b.matmul(b.transpose(rows, [1, 0]), rows) : undefined;
    return { gram, sum: b.reduceSum(rows, 0), shape: b.shape(rows), rowsAxis: 0 };
  }
  const p = b.patches(stat.input, conv as Node, stat.channels, stat.kernel);
  // [N, G·cols, ...out] -> [N, G, cols, L] -> [G, cols, N, L] -> [G, cols, N·L]
  const split = b.reshape(p, [0, stat.groups, stat.cols, -1]);
  const a = b.reshape(b.transpose(split, [1, 2, 0, 3]), [stat.groups, stat.cols, -1]);
  const gram = stat.full ? b.matmul(a, b.transpose(a, [0, 2, 1])) : undefined;
  return { gram, sum: b.reduceSum(a, 2), shape: b.shape(a), rowsAxis: 2 };
}

/** A copy of the model (sharing tensor bytes) that also outputs every statistic's sums (fills in `outputs`). */
function statisticsModel(model: Model, stats: readonly Stat[], convs: ReadonlyMap<Stat, Node>): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  if (!g) throw new AppError('unsupported', 'The model has no graph to collect layer inputs from.');
  const opset = copy.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const b = new StatBuilder(new NameAllocator(collectNames(copy)), Number(opset ?? 1));
  for (const s of stats) {
    s.outputs = addStat(b, s, convs.get(s));
    for (const name of [s.outputs.gram, s.outputs.sum, s.outputs.shape]) if (name) g.outputs.push({ name, metadataProps: [] });
  }
  g.nodes = [...g.nodes, ...b.nodes];
  g.initializers = [...g.initializers, ...b.inits];
  return copy;
}

function float32Output(got: Record<string, { data: unknown }>, name: string, length: number, what: string): Float32Array {
  const data = got[name]?.data;
  if (!(data instanceof Float32Array) || data.length !== length) throw new AppError('unsupported', `${what}: its input statistics did not come back as ${length} float32 values`);
  return data;
}

/** Adds one sample's outputs of `stat` (H: the upper triangle; mirrored at the end). */
function addSample(stat: Stat, got: Record<string, { data: unknown }>): void {
  const { cols: n, groups } = stat;
  const shape = got[stat.outputs.shape]?.data as ArrayLike<number | bigint> | undefined;
  stat.rows += Number(shape?.[stat.outputs.rowsAxis] ?? 0);
  const sum = float32Output(got, stat.outputs.sum, groups * n, stat.input);
  for (let g = 0; g < groups; g++) {
    const s = stat.sum[g];
    for (let i = 0; i < n; i++) s[i] += sum[g * n + i];
  }
  if (!stat.outputs.gram) return;
  const gram = float32Output(got, stat.outputs.gram, groups * n * n, stat.input);
  for (let g = 0; g < groups; g++) {
    const h = stat.h[g];
    const off = g * n * n;
    for (let i = 0; i < n; i++) {
      const o = i * n;
      for (let j = i; j < n; j++) h[o + j] += gram[off + o + j];
    }
  }
}

/**
 * H of every layer in `layers` (those `recoverable` accepts with a float32 weight; others are
 * skipped) on the samples, keyed by layer key. `shapes` gives each layer's weight shape as the
 * layer reads it.
 */
export async function collectHessians(
  model: Model,
  layers: readonly { layer: Layer; shape: readonly number[]; /** false: means only (bias correction without gptq) */ full?: boolean }[],
  samples: readonly Sample[],
  run: RunModel,
  options: HessianOptions = {},
): Promise<Map<string, LayerHessian>> {
  if (samples.length === 0) throw new AppError('invalid-argument', 'recovery needs calibration samples');
  const stats = new Map<string, Stat>();
  const convs = new Map<Stat, Node>();
  const wanted: { layer: Layer; full: boolean; stat: Stat }[] = [];
  for (const { layer, shape, full = true } of layers) {
    const r = recoverable(layer);
    const m = r && weightMatrix(layer, shape);
    const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === 1);
    if (!r || !m || w?.dataType !== DataType.FLOAT) continue;
    const key = statKey(layer, r.input, m.cols);
    let stat = stats.get(key);
    if (!stat) {
      const conv = layer.op === 'Conv';
      const groups = conv ? attrInt(layer.node, 'group', 1) : 1;
      const kernel = conv ? convKernel(layer) : [];
      const k = kernel.reduce((p, d) => p * d, 1);
      // the weight's columns are its input channels per group times the kernel positions
      if (conv && (kernel.length === 0 || m.cols % k !== 0)) continue;
      stat = {
        input: r.input,
        op: conv ? 'Conv' : 'dense',
        cols: m.cols,
        groups,
        kernel,
        channels: conv ? (m.cols / k) * groups : 0,
        full: false,
        h: [],
        sum: Array.from({ length: groups }, () => new Float64Array(m.cols)),
        rows: 0,
        outputs: { sum: '', shape: '', rowsAxis: 0 },
      };
      stats.set(key, stat);
      if (conv) convs.set(stat, layer.node);
    }
    stat.full ||= full;
    wanted.push({ layer, full, stat });
  }
  const out = new Map<string, LayerHessian>();
  if (wanted.length === 0) return out;
  for (const s of stats.values()) if (s.full) s.h = Array.from({ length: s.groups }, () => new Float64Array(s.cols * s.cols));
  const bytes = encodeModel(statisticsModel(model, [...stats.values()], convs));
  for (let i = 0; i < samples.length; i++) {
    throwIfAborted(options.signal);
    const got = await run(bytes, samples[i]);
    for (const s of stats.values()) addSample(s, got);
    options.onProgress?.(i + 1, samples.length);
  }
  for (const s of stats.values()) {
    const n = s.cols;
    for (const h of s.h) for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) h[j * n + i] = h[i * n + j];
  }
  for (const { layer, full, stat } of wanted) {
    if (stat.rows === 0) continue;
    const mean = stat.sum.map((s) => s.map((v) => v / stat.rows));
    out.set(layer.key, { key: layer.key, op: layer.op as LayerHessian['op'], cols: stat.cols, h: full ? stat.h : [], mean, rows: stat.rows });
  }
  return out;
}
