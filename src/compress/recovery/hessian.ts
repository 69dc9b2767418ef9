/**
 * What GPTQ needs of each layer: H = XᵀX of its real inputs on the calibration samples (Conv:
 * the im2col patches, one H per group), and the mean input row (bias correction), from the model
 * it is given: the original (one pass) or a prefix model whose earlier layers are compressed
 * (sequential.ts; docs/RECIPE-NOTES.md, "Recovery").
 *
 * The runtime does the heavy work: a statistics copy of the model (the pattern of
 * activations/calibrate.ts, a copy with extra graph outputs) computes, per layer and sample, the
 * input rows as a [groups, cols, rows] tensor A and outputs A·Aᵀ (float32, one cols×cols per
 * group), the row sums and A's shape (the row count). No activation reaches JavaScript, which
 * only adds those small outputs into float64 sums. Every row is used. The copy repeats the graph
 * for several samples a run (weights shared; up to 8, fewer for large inputs, one where the graph
 * has subgraphs or the repeated one fails), so the outputs and the float64 sums (cols² per run)
 * are paid once per run, not per sample. Where a sample gives fewer rows than cols (dense layers,
 * late Conv layers) the copies' rows are joined before one product, so it has a long inner
 * dimension (a product per sample would mostly write cols² outputs); a Conv whose sample gives
 * at least cols rows makes one product per copy, added (joining would copy every patch twice,
 * a Concat and a Transpose: mobilenet-v3 at 224x224, its statistics runs 3.9x faster without).
 * Nodes the statistics do not need (the model's own outputs) are left out.
 *   - MatMul / Gemm: X reshaped to [rows, K];
 *   - Conv (1-D/2-D, groups and depthwise included): the im2col rows come from a patch Conv with
 *     the layer's strides, pads and dilations, one group per input channel and one-hot kernels
 *     (output channel c·k + i is input channel c at kernel position i: the weight's column order),
 *     so the patch weights are channels × k² values, not cols².
 * Layers that read the same input with the same geometry (Q/K/V projections) share one statistic.
 * Memory: one cols×cols float32 matrix per layer (or shared statistic) and group (float64 beside a
 * teacher's cross term).
 */
import { AppError, isAppError, throwIfAborted } from '../../core/errors';
import { releaseBuffer } from '../../core/release';
import { attr, emptyTensor, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel, encodeModelInto } from '../../onnx/codec';
import type { Layer } from '../../onnx/layers';
import { attrInt, attrInts, attrString } from '../../onnx/attributes';
import { isExternal, tensorByteLength, tensorFloats } from '../../onnx/tensor';
import { DataType, type Attribute, type Graph, type Model, type Node, type Tensor, type ValueInfo } from '../../onnx/types';
import { markLargeRuns, type RunModel, type Sample, type SampleTensor } from '../activations/calibrate';
import { bytesOf } from '../emit';
import { einsumAxes, FLOAT_TYPES } from '../weights';
import { cloneModel, collectNames, NameAllocator } from '../graph-edit';
import { prepareFactors } from './factor-runtime';
import type { HMatrix, WeightMatrix } from './gptq';
import { logInputAfter } from './sensitivity';

/** Largest per-output-channel H of a layer a Log reads (O·cols² float64); beyond it the plain H. */
export const WEIGHTED_MAX_BYTES = 64 * 2 ** 20;

export interface LayerHessian {
  key: string;
  op: 'Conv' | 'ConvTranspose' | 'MatMul' | 'Gemm';
  /** the reduction length (columns of the weight matrix view) */
  cols: number;
  /**
   * one H (cols×cols, row-major) per group (Conv groups; 1 otherwise); empty matrices when only
   * means were asked for. Float32 where its sums were (Stat.blocks: every H without a teacher: no
   * precision lost, half the memory: the bench's 100 MB MatMul model's widest H is 36 MiB, not 72);
   * float64 beside a teacher's cross term.
   */
  h: HMatrix[];
  /** the mean input row per group (for bias correction) */
  mean: Float64Array[];
  /** input rows accumulated per group */
  rows: number;
  /**
   * With a teacher (sequential rounds): C = X̃ᵀX per group (cols×cols, row-major, C[i·n + j] =
   * Σ x̃ᵢ·xⱼ), X̃ these inputs and X the original model's inputs to the same layer on the same
   * samples; and the teacher's mean input row. GPTQ then aims at the original outputs (teacher.ts).
   */
  cross?: Float64Array[];
  teacherMean?: Float64Array[];
  /**
   * Where a Log reads the layer's output through elementwise ops (sensitivity.ts): one H per output
   * channel o (cols×cols, row-major), H_o = Σ_r s_{r,o}² x_r x_rᵀ with s = 1 / the Log's input on
   * the original model. GPTQ then solves each output channel with its own H.
   */
  weighted?: Float64Array[];
  /** why a layer a Log reads kept the plain H (too large, not finite) */
  weightNote?: string;
  /**
   * H's diagonal per group, kept when its cols² arrays are released after a sequential round
   * (step.ts releaseSolved): the data-aware pruning mask reads only the diagonal, so the final file
   * picks the same mask as the round did and reuses its codes
   */
  diagonal?: Float64Array[];
}

/** An H that can be added to another of a weight several layers read: full, no teacher, no Log weighting. */
function plainHessian(h: LayerHessian): boolean {
  return h.h.length > 0 && h.cross === undefined && h.teacherMean === undefined && h.weighted === undefined;
}

/**
 * The H of a weight several layers read (a tied or deduplicated weight, compressed once): `h`
 * added into `acc`, which is copied from `h` on the first call (a streamed H is emptied once it is
 * released, before the weight is solved). Undefined where they cannot be added (a teacher's or a
 * Log's weighting, other columns or groups, means only): the weight is then solved on its first
 * reader's inputs alone.
 */
export function accumulateHessian(acc: LayerHessian | undefined, h: LayerHessian | undefined): LayerHessian | undefined {
  if (!h || !plainHessian(h)) return undefined;
  if (!acc) return { key: h.key, op: h.op, cols: h.cols, h: h.h.map((m) => m.slice()), mean: [], rows: h.rows };
  if (acc.cols !== h.cols || acc.h.length !== h.h.length || acc.h.some((m, g) => m.length !== h.h[g].length)) return undefined;
  acc.h.forEach((m, g) => {
    const add = h.h[g];
    for (let i = 0; i < m.length; i++) m[i] += add[i];
  });
  acc.rows += h.rows;
  return acc;
}

/**
 * The first reader's H with the other readers' (`others`, from accumulateHessian) added: GPTQ then
 * keeps the outputs of every layer that reads the weight, not only the first one's. Its mean stays
 * the first reader's own (its bias is corrected from it). `own` as it is where they cannot be added.
 */
export function sharedHessian(own: LayerHessian | undefined, others: LayerHessian | undefined): LayerHessian | undefined {
  if (!own || !others || !plainHessian(own)) return own;
  const sum = accumulateHessian(others, own);
  return sum ? { ...own, h: sum.h, rows: sum.rows } : own;
}

export interface HessianOptions {
  /** samples per run of the statistics copy (the graph repeated that often; default up to 8, by input size) */
  copies?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Conv rows kept per column (ROWS_PER_COLUMN; Infinity: every row) */
  rowsPerColumn?: number;
  /** bytes of float32 statistics one run may return (STATS_BUDGET): more, and the layers take several passes over the samples */
  statsBudget?: number;
}

/** The If node (by name) and branch a layer sits in, from its graph path (`<If>/then_branch`); undefined elsewhere (a Loop body included). */
export function branchOf(layer: Layer): { node: string; attr: 'then_branch' | 'else_branch' } | undefined {
  const level = subgraphLevels(layer)?.[0];
  return level && level.attr !== 'body' ? { node: level.node, attr: level.attr } : undefined;
}

/** A graph a layer sits in: a branch of an If, or the body of a Loop. */
export interface SubgraphLevel {
  node: string;
  attr: 'then_branch' | 'else_branch' | 'body';
}

/**
 * The If branches and Loop bodies a layer sits in, innermost first, up to the main graph (an If in
 * an If branch: two); undefined unless every enclosing graph is one of those.
 */
export function subgraphLevels(layer: Layer): SubgraphLevel[] | undefined {
  if (layer.graphPath === 'main') return undefined;
  if (!layer.ancestors) {
    // (a layer made without its ancestors: its graph path alone)
    const cut = layer.graphPath.lastIndexOf('/');
    const attr = layer.graphPath.slice(cut + 1);
    return !layer.nested && cut > 0 && (attr === 'then_branch' || attr === 'else_branch') ? [{ node: layer.graphPath.slice(0, cut), attr }] : undefined;
  }
  const out: SubgraphLevel[] = [];
  for (const a of layer.ancestors) {
    const branch = a.op === 'If' && (a.attr === 'then_branch' || a.attr === 'else_branch');
    if (!branch && !(a.op === 'Loop' && a.attr === 'body')) return undefined;
    out.push({ node: a.node, attr: a.attr as SubgraphLevel['attr'] });
  }
  return out.length > 0 ? out : undefined;
}

/** Whether a layer sits in a Loop body (at any depth): its rows are every iteration's. */
const inLoop = (layer: Layer) => subgraphLevels(layer)?.some((l) => l.attr === 'body') === true;

/**
 * Which layers can be recovered, and the tensor each reads (`swap`, `perm`: how its rows lie in
 * it): Conv and ConvTranspose (1-D, 2-D and 3-D kernels), Gemm and MatMul with a constant weight, a linear Einsum,
 * LSTM/GRU/RNN (W on X; a state view's R on Y), in the main graph, in If branches at any depth and
 * in Loop bodies (not Convs there). The statistics take a subgraph layer's input out through each
 * enclosing node (exportBranchInputs); planStats checks the outermost is the main graph's.
 */
export function recoverable(layer: Layer): { input: string; swap?: boolean; perm?: number[] } | undefined {
  const dense = layer.op === 'MatMul' || layer.op === 'Gemm' || layer.op === 'Einsum';
  const conv = layer.op === 'Conv' || layer.op === 'ConvTranspose';
  // in subgraphs: If branches (any op here) and Loop bodies (dense and recurrent layers: each iteration's rows stacked)
  const sub = layer.graphPath !== 'main' && subgraphLevels(layer) !== undefined && (dense || RECURRENT.has(layer.op) || (conv && !inLoop(layer)));
  if ((layer.graphPath !== 'main' && !sub) || (layer.domain && layer.domain !== 'ai.onnx')) return undefined;
  const n = layer.node;
  if (layer.recurrentState) return { input: stateInput(layer) };
  if (layer.op === 'Einsum') {
    const e = einsumLinear(layer);
    const x = e && n.inputs[e.input];
    // (a permutation is of X's own rank: in a subgraph its stand-in or a Loop's stacking changes that)
    if (!e || !x || (Array.isArray(e.rows) && layer.graphPath !== 'main')) return undefined;
    return { input: x, ...(e.rows === 'swap' ? { swap: true } : Array.isArray(e.rows) ? { perm: e.rows } : {}) };
  }
  if (recoveredInput(layer) === 0) {
    // W·X (a 1x1 convolution written as a product): X [..., C, T], each of its T columns a row
    const xs = n.inputs[1];
    const w0 = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === 0);
    return xs && w0?.shape.length === 2 ? { input: xs, swap: true } : undefined;
  }
  const x = n.inputs[0];
  const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === 1);
  if (!x || !w) return undefined;
  // (the kernel's rank from kernel_shape, else from the weight: [out, in, ...kernel])
  if ((layer.op === 'Conv' || layer.op === 'ConvTranspose') && (attrInts(n, 'kernel_shape')?.length ?? w.shape.length - 2) <= 3) {
    const pad = n.attributes.find((a) => a.name === 'auto_pad');
    const mode = pad?.s ? new TextDecoder().decode(pad.s) : 'NOTSET';
    // (SAME_UPPER, SAME_LOWER: the patch Conv copies auto_pad and pads the same; a ConvTranspose's SAME splits its padding the other way round, left out)
    return mode === 'NOTSET' || mode === 'VALID' || (layer.op === 'Conv' && (mode === 'SAME_UPPER' || mode === 'SAME_LOWER')) ? { input: x } : undefined;
  }
  if (layer.op === 'MatMul') return { input: x };
  // (transA: A is [K, M], each of its M columns a row, as W·X's)
  if (layer.op === 'Gemm') return attrInt(n, 'transA', 0) === 0 ? { input: x } : { input: x, swap: true };
  // LSTM, GRU, RNN: W [directions, gates·hidden, input] reads every time step of X (either layout); R is solved on a state view (stateView)
  // (a weight stored [gates·hidden, input] and unsqueezed on its way, as silero-vad's: its rank as read is checked by weightMatrix)
  if (RECURRENT.has(layer.op) && (w.shape.length === 3 || w.shape.length === 2)) return { input: x };
  return undefined;
}

/**
 * The input whose weight recovery solves: 1 (Conv, Gemm, X·W, the input weights W of a recurrent
 * layer), or 0 for a MatMul whose only constant input is its first (W·X).
 */
export function recoveredInput(layer: Layer): number {
  if (layer.op === 'Einsum') return einsumLinear(layer)?.weight ?? 1;
  if (layer.op !== 'MatMul' || (layer.domain && layer.domain !== 'ai.onnx')) return 1;
  const at = (i: number) => (layer.weights ?? []).some((v) => v.role === 'weight' && v.inputIndex === i);
  return at(0) && !at(1) ? 0 : 1;
}

/** The key of a recurrent layer's view through R (Layer.recurrentState). */
export const stateKey = (key: string) => `${key}#R`;

/**
 * Whether GPTQ can solve a recurrent layer's R on its states: LSTM and RNN (R reads h_{t−1}), GRU
 * with linear_before_reset (otherwise its new gate's R reads r ⊙ h_{t−1}, not h).
 */
export function stateRecoverable(layer: Layer): boolean {
  if (!RECURRENT.has(layer.op) || layer.recurrentState) return false;
  return layer.op !== 'GRU' || attrInt(layer.node, 'linear_before_reset', 0) !== 0;
}

/**
 * A recurrent layer seen through R: its rows of X are the states the layer outputs (Y, every time
 * step and direction: h_1 … h_T, where R reads h_0 … h_{T−1}; h_0 is the initial state, zeros
 * unless given), so H is Σ h·hᵀ over both directions of a bidirectional layer.
 */
export function stateView(layer: Layer): Layer {
  const r = layer.weights.filter((v) => v.role === 'weight' && v.inputIndex === 2).map((v) => ({ ...v, inputIndex: 1 }));
  return { ...layer, key: stateKey(layer.key), recurrentState: true, weights: r };
}

/** The statistics' name for a state view's input: the layer's Y, or a name the copy gives an unnamed Y. */
export function stateInput(layer: Layer): string {
  return layer.node.outputs[0] || `${layer.key}__Y`;
}

/**
 * An Einsum that is a linear layer: two operands, a 2-D weight (`weight`: its input) whose one
 * letter the output keeps (its rows) and whose other the product sums with the input X (its
 * columns), every other letter of X kept by the output ('bti,oi->bto', 'bct,oc->bto'). X's rows:
 * `plain` (the summed letter last: X as [-1, cols]), `swap` (second last), or a permutation that
 * puts it last (no ellipsis in X); undefined for any other Einsum.
 */
export function einsumLinear(layer: Layer): { weight: number; input: number; rows: 'plain' | 'swap' | number[]; channelAxis: number } | undefined {
  if (layer.op !== 'Einsum' || (layer.domain && layer.domain !== 'ai.onnx') || layer.node.inputs.length !== 2) return undefined;
  const w = layer.weights.filter((v) => v.role === 'weight');
  if (w.length !== 1 || w[0].inputIndex > 1) return undefined;
  const weight = w[0].inputIndex;
  const input = 1 - weight;
  const eq = (attrString(layer.node, 'equation') ?? '').replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const axes = einsumAxes(eq, weight, 2);
  if (terms.length !== 2 || rhs === undefined || axes.channelAxis === undefined || axes.blockAxis === undefined) return undefined;
  const wt = terms[weight];
  const c = wt[axes.blockAxis];
  const xt = terms[input];
  const ellipsis = xt.includes('...');
  const xl = xt.replace('...', '');
  // X: the summed letter once, every other kept by the output, none shared with the weight's row letter
  if (xl.split(c).length !== 2 || [...xl].some((l) => l !== c && (!rhs.includes(l) || wt.includes(l))) || new Set(xl).size !== xl.length) return undefined;
  const tail = xt.slice(xt.indexOf(c));
  if (tail === c) return { weight, input, rows: 'plain', channelAxis: axes.channelAxis };
  if (tail.length === 2) return { weight, input, rows: 'swap', channelAxis: axes.channelAxis };
  if (ellipsis) return undefined;
  const p = xl.indexOf(c);
  const perm = [...Array(xl.length).keys()].filter((i) => i !== p).concat(p);
  return { weight, input, rows: perm, channelAxis: axes.channelAxis };
}

/** Recurrent layers: GPTQ solves their input weights W (input 1) on X's time steps. */
export const RECURRENT: ReadonlySet<string> = new Set(['LSTM', 'GRU', 'RNN']);

/**
 * Why a layer gets no statistics whatever samples are given (the note of a layer recovery skips),
 * or undefined where it would have them.
 */
export function unrecoverableReason(layer: Layer): string | undefined {
  if (layer.graphPath !== 'main' && !subgraphLevels(layer)) return 'layers inside subgraphs other than If branches and Loop bodies (Scan bodies, functions) are not recovered';
  if (layer.graphPath !== 'main' && !['MatMul', 'Gemm', 'Einsum', 'Conv', 'ConvTranspose'].includes(layer.op) && !RECURRENT.has(layer.op)) return `${layer.op} layers inside subgraphs are not recovered (Conv, ConvTranspose, Gemm, MatMul, Einsum, LSTM, GRU and RNN are)`;
  if ((layer.op === 'Conv' || layer.op === 'ConvTranspose') && inLoop(layer)) return `${layer.op} layers inside Loop bodies are not recovered (Gemm, MatMul, LSTM, GRU and RNN are)`;
  if (layer.domain && layer.domain !== 'ai.onnx') return `${layer.domain} ${layer.op} layers are not recovered`;
  if (!['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Einsum'].includes(layer.op) && !RECURRENT.has(layer.op)) return `${layer.op} layers are not recovered (Conv, ConvTranspose, Gemm, MatMul, a linear Einsum, LSTM, GRU and RNN are)`;
  if (layer.op === 'Einsum' && !einsumLinear(layer)) return 'an Einsum that is not a linear layer (a 2-D weight with one letter kept and one summed with its input) is not recovered';
  if (layer.op === 'Einsum' && !recoverable(layer)) return "an Einsum in a subgraph is recovered where its input's summed letter is last or second last";
  const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === recoveredInput(layer));
  if (!w) return 'its weight is not its second input';
  if (recoveredInput(layer) === 0 && !recoverable(layer)) return `a MatMul with its weight first (W·X) is recovered for a 2-D weight (this one is [${w.shape.join(', ')}])`;
  if (!FLOAT_TYPES.has(w.dataType)) return 'its weight is not a float tensor';
  if (!recoverable(layer)) {
    if (RECURRENT.has(layer.op)) return `${layer.op} with a weight of shape [${w.shape.join(', ')}] is not recovered`;
    const rank = attrInts(layer.node, 'kernel_shape')?.length ?? w.shape.length - 2;
    return rank > 3 ? `${layer.op} with a ${rank}-D kernel is not recovered (1-D, 2-D and 3-D are)` : `${layer.op} with auto_pad SAME is not recovered (explicit pads are, and a Conv's SAME)`;
  }
  return undefined;
}

/** The weight (as the layer reads it, `shape`) seen as [output channels, reduction]. */
export function weightMatrix(layer: Layer, shape: readonly number[]): WeightMatrix | undefined {
  if (layer.op === 'Conv' && shape.length >= 3) {
    const rows = shape[0];
    const cols = shape.slice(1).reduce((p, d) => p * d, 1);
    return { rows, cols, at: (r, c) => r * cols + c, strides: [cols, 1] };
  }
  if (layer.op === 'ConvTranspose' && shape.length >= 3) {
    // [Cin, Cout/G, ...kernel]: output channel r (group r / (Cout/G)) reads input channel c / k of its group at kernel position c % k
    const groups = attrInt(layer.node, 'group', 1);
    const [cin, per] = shape;
    const k = shape.slice(2).reduce((p, d) => p * d, 1);
    if (groups < 1 || cin % groups !== 0) return undefined;
    const inputs = cin / groups;
    const at = (r: number, c: number) => {
      const g = Math.floor(r / per);
      const ci = Math.floor(c / k);
      return ((g * inputs + ci) * per + (r - g * per)) * k + (c - ci * k);
    };
    return { rows: groups * per, cols: inputs * k, at, ...(k === 1 && groups === 1 ? { strides: [1, per] as const } : {}) };
  }
  if (RECURRENT.has(layer.op) && shape.length === 3) {
    // [directions, gates·hidden, input]: one row per direction and gate unit
    const cols = shape[2];
    return { rows: shape[0] * shape[1], cols, at: (r, c) => r * cols + c, strides: [cols, 1] };
  }
  if (shape.length !== 2) return undefined;
  const [a, b] = shape;
  if (layer.op === 'Einsum') {
    // the weight's kept letter is its rows, its summed letter its columns
    const e = einsumLinear(layer);
    if (!e) return undefined;
    return e.channelAxis === 0 ? { rows: a, cols: b, at: (r, c) => r * b + c, strides: [b, 1] } : { rows: b, cols: a, at: (r, c) => c * b + r, strides: [1, b] };
  }
  // (W·X: W [out, in] is rows already)
  const transposed = (layer.op === 'MatMul' && recoveredInput(layer) === 1) || (layer.op === 'Gemm' && attrInt(layer.node, 'transB', 0) === 0);
  // [K, N]: rows N, element (r, c) at c * N + r; Gemm transB [N, K]: rows N, at r * K + c
  return transposed ? { rows: b, cols: a, at: (r, c) => c * b + r, strides: [1, b] } : { rows: a, cols: b, at: (r, c) => r * b + c, strides: [b, 1] };
}

/**
 * One statistic the copy computes: the input rows of one or more layers (those reading the same
 * tensor with the same geometry), summed over the samples in float64.
 */
interface Stat {
  input: string;
  op: 'Conv' | 'dense';
  /** the layer computes in float16, bfloat16 or double: its input (and its teacher's) is cast to float32 before the products */
  cast?: boolean;
  /** W·X (a MatMul's weight first): the rows are X's columns (its last two axes swapped) */
  swap?: boolean;
  /** an Einsum's X: the axes put in this order first (the summed one last) */
  perm?: number[];
  /** a recurrent layer's unnamed Y, which the copy names `name` (its state view's input) */
  produce?: { node: string; name: string };
  /** a layer in If branches and Loop bodies (innermost first, the last node the main graph's): its input is taken out as a new output of each (exportBranchInputs) */
  branch?: { levels: SubgraphLevel[]; dtype: number };
  cols: number;
  groups: number;
  /** the Conv's kernel shape (its rank: 1-D or 2-D) and input channels */
  kernel: number[];
  channels: number;
  /** some layer wants H (otherwise only the sums: bias correction) */
  full: boolean;
  /** H's float64 sums (beside a teacher's cross term), or H made from the float32 blocks (materialize) */
  h: HMatrix[];
  sum: Float64Array[];
  rows: number;
  /** the teacher's input to the same layer (same geometry), in the same model: C = X̃ᵀX and its sums */
  partner?: string;
  /** Conv: about this many rows per sample are kept (positions at a regular step), where the layer has many more (subsampleRows) */
  keep?: number;
  /**
   * A ConvTranspose whose kernel positions never overlap (tiledTranspose): its k kernel positions'
   * rows are the input's own positions, so the statistic is taken on the input itself (`cols`: its
   * channels per group; `rows`, `keep`: its positions) and the layer's H is I_k ⊗ that
   * (hessianOf), exactly the sums of the k-times-larger patch rows
   */
  tile?: number;
  /**
   * Conv, several copies a run: whether the copies' rows are joined before one product (a sample
   * gives fewer rows than cols: a product per copy would mostly write cols² outputs) or each copy
   * makes its own product, the products added (no copy of the rows); set from the first sample's
   * rows (`countRows`), joined until counted.
   */
  joined?: boolean;
  cross: Float64Array[];
  partnerSum: Float64Array[];
  /** the Log's input whose reciprocal weighs each output element (dense only), and the output channels */
  weightBy?: string;
  outs: number;
  /** one H per output channel, weighted (weightBy) */
  weighted: Float64Array[];
  /**
   * H's blocks (gramBlocks order, each [groups, rows of the block, its columns]) summed over a
   * pass's runs in float32, where no teacher reads H beside C (`partner`: C − H would cancel):
   * the first run's outputs are copied and later runs add into them (a diagonal block: its upper
   * part), so a run adds 12 bytes an entry, not 20 (a float64 sum read and written). Where the
   * runtime is native (RunModel.nativeProducts) it adds them itself: each run is fed the sums so
   * far and returns them with its blocks added (`outputs.acc`; the same float32 additions in the
   * same order, so the same bits). H in float32 is made from them when a layer takes it
   * (`materialize`), as GPTQ holds it (gptq-simd.ts).
   */
  blocks?: (Float32Array | undefined)[];
  /**
   * gram: H's blocks on and above the diagonal, in `blocks` order (gramBlocks); acc: where the
   * runtime sums them (statisticsModel's `accumulate`), the inputs each run is fed the sums so far
   * in (the gram outputs are then those sums plus the run's blocks)
   */
  outputs: { gram?: string[]; acc?: string[]; sum: string; shapes: string[]; rowsAxes: number[]; cross?: string; partnerSum?: string; weighted?: string };
}

/**
 * Columns per part of H's products: H = A·Aᵀ is symmetric, so a wide layer's columns go in parts
 * and only the products of parts i ≤ j are made (P parts: P(P+1)/2 of P² blocks, 62.5% of the
 * work at 4 parts, 56% at 8; the diagonal blocks are made whole). Each entry is still one product
 * over the same rows. Up to 8 parts: resnet18 (24 samples) 12.6 → 11.4-11.9 s against 4, the same
 * bytes.
 */
export const GRAM_PART_COLS = 256;
const GRAM_PARTS_MAX = 8;

/** The column bounds of H's parts ([0, …, cols]) and the blocks made, parts i ≤ j. */
export function gramBlocks(cols: number): { bounds: number[]; blocks: [number, number][] } {
  const parts = Math.max(1, Math.min(GRAM_PARTS_MAX, Math.floor(cols / GRAM_PART_COLS)));
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * cols) / parts));
  const blocks: [number, number][] = [];
  for (let i = 0; i < parts; i++) for (let j = i; j < parts; j++) blocks.push([i, j]);
  return { bounds, blocks };
}

const GEOMETRY = ['strides', 'pads', 'dilations', 'auto_pad', 'output_padding', 'output_shape'];

/** The Conv (ConvTranspose) attributes the patch Conv copies (where it reads and writes, not how many channels). */
function geometry(n: Node): Attribute[] {
  return n.attributes.filter((a) => GEOMETRY.includes(a.name ?? ''));
}

/** `rows`: how a dense layer's rows lie in its input (recoverable's swap or perm; '' plain). */
function statKey(layer: Layer, input: string, cols: number, partner = '', weightBy = '', rows = ''): string {
  if (!isConv(layer)) return `dense${rows}|${input}|${cols}|${partner}|${weightBy}`;
  const n = layer.node;
  const g = geometry(n).map((a) => `${a.name}=${a.ints?.join(',') ?? (a.s ? new TextDecoder().decode(a.s) : '')}`);
  return `${layer.op}|${input}|${cols}|${attrInt(n, 'group', 1)}|${convKernel(layer).join(',')}|${g.sort().join(';')}|${partner}`;
}

/** Conv or ConvTranspose: H from im2col patches of its input. */
const isConv = (layer: Layer) => layer.op === 'Conv' || layer.op === 'ConvTranspose';

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
    /**
     * subsampled Convs' patches gathered at the kept positions (keptPatches): one sample a run,
     * where inputs are large (copiesFor); with several small samples a run the patch Conv is
     * cheap and the gather's index arithmetic per copy cost more (the bench CNN: 1.60-1.66 s →
     * 1.68-1.78 s with it)
     */
    private readonly gatherKept = true,
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

  /** x [..., C, T] as rows [N·T, C] (C = `cols`): its last two axes swapped, the others flattened (opset 5 or more: a Reshape to a computed shape) */
  swappedRows(x: string, cols: number): string {
    const last = this.slice(this.shape(x), 0, -1, 2 ** 53);
    const three = this.node('Reshape', [x, this.concat([this.ints([-1, cols]), last], 0)]);
    return this.reshape(this.transpose(three, [0, 2, 1]), [-1, cols]);
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

  mul(a: string, b: string): string {
    return this.node('Mul', [a, b]);
  }

  /** Every `step`-th position along `axis`, from position `copy` mod `step`, with step = ⌊len / keep⌋ + 1 (len read at run time). */
  everyNth(x: string, axis: number, keep: number, copy: number): string {
    const len = this.node('Gather', [this.shape(x), this.ints([axis])], [attr.int('axis', 0)]);
    const step = this.node('Add', [this.node('Div', [len, this.ints([keep])]), this.ints([1])]);
    const start = this.node('Mod', [this.ints([copy]), step]);
    return this.node('Slice', [x, start, this.ints([2 ** 53]), this.ints([axis]), step]);
  }

  /** x[start:end] along `axis` */
  slice(x: string, axis: number, start: number, end: number): string {
    // Slice-1 took them as attributes
    if (this.opset < 10) return this.node('Slice', [x], [attr.ints('starts', [start]), attr.ints('ends', [end]), attr.ints('axes', [axis])]);
    return this.node('Slice', [x, this.ints([start]), this.ints([end]), this.ints([axis])]);
  }

  /** H's blocks (gramBlocks) from `x`'s parts along the columns' `axis`: `product(a, b)` for each block. */
  gram(x: string, axis: number, cols: number, product: (a: string, b: string) => string): string[] {
    const { bounds, blocks } = gramBlocks(cols);
    if (bounds.length === 2) return [product(x, x)];
    const parts = bounds.slice(1).map((end, i) => this.slice(x, axis, bounds[i], end));
    return blocks.map(([i, j]) => product(parts[i], parts[j]));
  }

  concat(xs: string[], axis: number): string {
    return this.node('Concat', xs, [attr.int('axis', axis)]);
  }

  /** x as float32 */
  float(x: string): string {
    return this.node('Cast', [x], [attr.int('to', DataType.FLOAT)]);
  }

  /** 1 / max(|x|, tiny): the Log's sensitivity, finite where its input is 0 */
  reciprocal(x: string): string {
    const tiny = this.init('__hessian_tiny', DataType.FLOAT, [], bytesOf(Float32Array.of(1e-30)));
    return this.node('Reciprocal', [this.node('Max', [this.node('Abs', [x]), tiny])]);
  }

  reduceSum(x: string, axes: number | number[]): string {
    const keep = attr.int('keepdims', 0);
    const list = typeof axes === 'number' ? [axes] : axes;
    return this.opset < 13 ? this.node('ReduceSum', [x], [attr.ints('axes', list), keep]) : this.node('ReduceSum', [x, this.ints(list)], [keep]);
  }

  add(a: string, b: string): string {
    return this.node('Add', [a, b]);
  }

  /**
   * The im2col patches of a Conv's input: [N, channels·k, ...out], channel c·k + i being input
   * channel c at kernel position i (k = prod(kernel)); the input itself for a 1×1 kernel that
   * reads every position once. (Strided Slices per kernel position, joined, instead of this Conv:
   * measured no faster in onnxruntime on mobilenet-v3, the Concat as slow as the Conv.)
   * For a ConvTranspose, the same through a ConvTranspose of the same geometry: output channel
   * c·k + i at output position p is the input of channel c that kernel position i carries to p
   * (0 where none does), so the layer's output is its weight's rows times these columns.
   */
  patches(x: string, conv: Node, channels: number, kernel: number[], scale?: string): { rows: string; scaled: boolean } {
    const k = kernel.reduce((p, d) => p * d, 1);
    const transposed = conv.opType === 'ConvTranspose';
    const plain = !transposed && (attrInts(conv, 'strides') ?? []).every((s) => s === 1) && (attrInts(conv, 'pads') ?? []).every((p) => p === 0);
    if (k === 1 && plain) return { rows: x, scaled: false };
    // (one initializer for every copy and statistic of this geometry)
    const key = `${conv.opType}/${channels}/${kernel.join('x')}`;
    let weight = this.patchWeights.get(key);
    if (!weight) {
      const w = new Float32Array(channels * k * k);
      for (let c = 0; c < channels; c++) for (let i = 0; i < k; i++) w[(c * k + i) * k + i] = 1;
      // (the same one-hot values: a Conv's weight is [out, in/group, ...], a ConvTranspose's [in, out/group, ...])
      weight = this.init('__hessian_patch', DataType.FLOAT, transposed ? [channels, k, ...kernel] : [channels * k, 1, ...kernel], bytesOf(w));
      this.patchWeights.set(key, weight);
    }
    // a copy's weight (1, or 0 for an empty slot) on the one-hot kernels, not on its patches: channels·k² products, not one per patch element
    const rows = this.node(transposed ? 'ConvTranspose' : 'Conv', [x, scale ? this.mul(weight, scale) : weight], [...geometry(conv), attr.int('group', channels), attr.ints('kernel_shape', kernel)]);
    return { rows, scaled: scale !== undefined };
  }

  private readonly patchWeights = new Map<string, string>();

  /** An int64 scalar (0-D) initializer. */
  private scalar(v: number): string {
    return this.init('__hessian_scalar', DataType.INT64, [], bytesOf(BigInt64Array.of(BigInt(v))));
  }

  /**
   * A Conv's patches at only the output positions everyNth keeps (the same positions, in the same
   * order, the same values: [N, channels, k, kept]), gathered from its input instead of a patch
   * Conv over every position sliced after: position p = start + j·step of the L output positions
   * (row-major), step = ⌊L / keep⌋ + 1, start = copy mod step; kernel position i of output
   * position o reads input coordinate oₐ·sₐ − padₐ + iₐ·dₐ on each axis, 0 where that falls in the
   * padding (a Where on the gathered values: no padded copy of the input, which a dilated Conv's
   * large pads would make many times its size). Explicit pads only, opset 11 or more (Range):
   * undefined otherwise.
   */
  keptPatches(x: string, conv: Node, kernel: number[], keep: number, copy: number): string | undefined {
    const rank = kernel.length;
    const autoPad = attrString(conv, 'auto_pad') ?? 'NOTSET';
    if (!this.gatherKept || this.opset < 11 || conv.opType !== 'Conv' || rank === 0 || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) return undefined;
    const strides = attrInts(conv, 'strides') ?? kernel.map(() => 1);
    const dilations = attrInts(conv, 'dilations') ?? kernel.map(() => 1);
    const pads = autoPad === 'VALID' ? new Array<number>(2 * rank).fill(0) : (attrInts(conv, 'pads') ?? new Array<number>(2 * rank).fill(0));
    if (strides.length !== rank || dilations.length !== rank || pads.length !== 2 * rank) return undefined;
    // a 1×1 kernel reading every position once: its rows are the input itself, sliced as they are
    if (kernel.every((d) => d === 1) && strides.every((d) => d === 1) && pads.every((d) => d === 0)) return undefined;
    const shape = this.shape(x);
    // the input's spatial sizes S and the output's O (scalars)
    const S = kernel.map((_, a) => this.node('Gather', [shape, this.scalar(2 + a)], [attr.int('axis', 0)]));
    const O = kernel.map((k, a) => this.add(this.node('Div', [this.node('Sub', [S[a], this.scalar(dilations[a] * (k - 1) + 1 - pads[a] - pads[rank + a])]), this.scalar(strides[a])]), this.scalar(1)));
    // products of the sizes after each axis (row-major strides), of O and of S
    const after = (sizes: string[]) => {
      const out = new Array<string | undefined>(rank).fill(undefined);
      for (let a = rank - 2; a >= 0; a--) out[a] = out[a + 1] ? this.mul(out[a + 1] as string, sizes[a + 1]) : sizes[a + 1];
      return out;
    };
    const oAfter = after(O);
    const sAfter = after(S);
    const L = oAfter[0] ? this.mul(oAfter[0], O[0]) : O[0];
    const step = this.add(this.node('Div', [L, this.scalar(keep)]), this.scalar(1));
    const start = this.node('Mod', [this.scalar(copy), step]);
    const positions = this.node('Range', [start, L, step]);
    const k = kernel.reduce((p, d) => p * d, 1);
    // each axis's input coordinate [k, kept]: the kept position's oₐ·sₐ − padₐ plus the kernel position's iₐ·dₐ
    const coords = kernel.map((_, a) => {
      const q = oAfter[a] ? this.node('Div', [positions, oAfter[a] as string]) : positions;
      const o = a === 0 ? q : this.node('Mod', [q, O[a]]);
      const inner = kernel.slice(a + 1).reduce((p, d) => p * d, 1);
      const along = Array.from({ length: k }, (_, i) => (Math.floor(i / inner) % kernel[a]) * dilations[a] - pads[a]);
      const offsets = this.init('__hessian_kernel_offsets', DataType.INT64, [k, 1], bytesOf(BigInt64Array.from(along, (v) => BigInt(v))));
      return this.add(offsets, this.mul(o, this.scalar(strides[a])));
    });
    const padded = pads.some((v) => v !== 0);
    // inside the input on every axis (without pads, always)
    let inside: string | undefined;
    if (padded)
      coords.forEach((c, a) => {
        const ok = this.node('And', [this.node('Not', [this.node('Less', [c, this.scalar(0)])]), this.node('Less', [c, S[a]])]);
        inside = inside ? this.node('And', [inside, ok]) : ok;
      });
    // [k, kept] indices into the input's flattened positions (a padding read points at position 0)
    let indices: string | undefined;
    coords.forEach((c, a) => {
      const at = inside ? this.node('Where', [inside, c, this.scalar(0)]) : c;
      const term = sAfter[a] ? this.mul(at, sAfter[a] as string) : at;
      indices = indices ? this.add(indices, term) : term;
    });
    const gathered = this.node('Gather', [this.reshape(x, [0, 0, -1]), indices as string], [attr.int('axis', 2)]);
    if (!inside) return gathered;
    const zero = this.init('__hessian_zero', DataType.FLOAT, [], bytesOf(Float32Array.of(0)));
    return this.node('Where', [inside, gathered, zero]);
  }
}

/** A dense statistic's rows A as read from `input`: [rows, cols]. */
function denseRows(b: StatBuilder, stat: Stat, input: string): string {
  if (stat.perm) return b.reshape(b.transpose(input, stat.perm), [-1, stat.cols]);
  return stat.swap ? b.swappedRows(input, stat.cols) : b.reshape(input, [-1, stat.cols]);
}

/**
 * A Conv statistic's rows as read from `input`: [N, groups, cols, positions] (every n-th position
 * where it keeps fewer); `scaled` where the copy's weight `scale` is already in them (a patch Conv).
 */
function convRows(b: StatBuilder, stat: Stat, conv: Node, input: string, copy: number, scale?: string): { rows: string; scaled: boolean } {
  // a subsampled Conv: only the kept positions' patches (the same rows)
  const kept = stat.keep && !stat.tile ? b.keptPatches(input, conv, stat.kernel, stat.keep, copy) : undefined;
  if (kept) return { rows: b.reshape(kept, [0, stat.groups, stat.cols, -1]), scaled: false };
  const p = stat.tile ? { rows: input, scaled: false } : b.patches(input, conv, stat.channels, stat.kernel, scale);
  // [N, G·cols, ...out] -> [N, G, cols, L] (-> every n-th position)
  const all = b.reshape(p.rows, [0, stat.groups, stat.cols, -1]);
  return { rows: stat.keep ? b.everyNth(all, 3, stat.keep, copy) : all, scaled: p.scaled };
}

/**
 * Conv rows as one matrix per group, [G, cols, N·L], for the copies' rows joined (`Stat.joined`).
 * Its shape output is taken before the transpose (rows: N·L, axes 0 and 3).
 */
function convRowsJoined(b: StatBuilder, stat: Stat, conv: Node, input: string, copy: number, scale?: string): { rows: string; shape: string; scaled: boolean } {
  const r = convRows(b, stat, conv, input, copy, scale);
  return { rows: b.reshape(b.transpose(r.rows, [1, 2, 0, 3]), [stat.groups, stat.cols, -1]), shape: r.rows, scaled: r.scaled };
}

/** Joined rows' product aᵀ·t (dense, [rows, cols]) or a·tᵀ (Conv, [G, cols, rows]). */
function product(b: StatBuilder, s: Stat, a: string, t: string): string {
  return s.op === 'dense' ? b.matmul(b.transpose(a, [1, 0]), t) : b.matmul(a, b.transpose(t, [0, 2, 1]));
}

/** The column sums of Conv rows [N, G, cols, L]: [G, cols], the positions first (the last axis: onnxruntime's fast reduction; both axes at once measured 3x slower). */
function rowSums(b: StatBuilder, a: string): string {
  return b.reduceSum(b.reduceSum(a, 3), 0);
}

/** Σ over the batch of a·tᵀ for Conv rows a, t [N, G, cols, L]: [G, cols, cols] (the product reads t transposed, no copy of the rows). */
function convGram(b: StatBuilder, a: string, t: string): string {
  return b.reduceSum(b.matmul(a, b.transpose(t, [0, 1, 3, 2])), 0);
}

/**
 * Conv layers with many input rows (positions × samples) and wide columns: H from about
 * ROWS_PER_COLUMN rows per column (positions at a regular step, the phase moving from sample to
 * sample), not every position. H costs rows × cols² multiply-adds and its patches rows × cols
 * floats; neighbouring positions of an image are alike, and GPTQ's published setting is about 64
 * rows per column. Narrow layers (< SUBSAMPLE_MIN_COLS columns) are cheap and keep every row.
 */
export const ROWS_PER_COLUMN = 64;
export const SUBSAMPLE_MIN_COLS = 256;

/** Rows per sample to keep for a Conv statistic of `cols` columns over `samples` samples (undefined: all), where the opset has Slice steps (10). */
export function subsampleRows(cols: number, samples: number, opset: number, perColumn = ROWS_PER_COLUMN): number | undefined {
  if (cols < SUBSAMPLE_MIN_COLS || opset < 10 || !Number.isFinite(perColumn)) return undefined;
  return Math.ceil((perColumn * cols) / Math.max(1, samples));
}

/**
 * The kernel positions of a ConvTranspose whose positions tile its output (each input position
 * carries one kernel position to each of k output positions that no other input position or kernel
 * position reaches, every output position reached): strides equal to the kernel, no dilation, no
 * pads, output_padding or output_shape (auto_pad then pads nothing). Its patch row at an output
 * position is one input position's channels at one kernel position, zeros elsewhere, so its H is
 * I_k ⊗ the input's own H, and its sums each kernel position's the input's. Undefined otherwise.
 */
export function tiledTranspose(node: Node, kernel: readonly number[]): number | undefined {
  if (node.opType !== 'ConvTranspose' || kernel.length === 0) return undefined;
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1);
  const zero = (name: string) => (attrInts(node, name) ?? []).every((v) => v === 0);
  if (strides.length !== kernel.length || kernel.some((k, i) => strides[i] !== k)) return undefined;
  if (!(attrInts(node, 'dilations') ?? []).every((d) => d === 1) || !zero('pads') || !zero('output_padding') || attrInts(node, 'output_shape') !== undefined) return undefined;
  return kernel.reduce((p, d) => p * d, 1);
}

/** A tiled ConvTranspose's matrices (n×n per group, of the input's channels) as the layer's: I_k ⊗ each, (n·k)², entry (c·k + i, c'·k + i) = m[c·n + c']; k = 1: the same arrays. */
function expandTiled<T extends Float32Array | Float64Array>(ms: T[], n: number, k: number): T[] {
  if (k === 1) return ms;
  const nk = n * k;
  return ms.map((m) => {
    const out = new (m.constructor as new (length: number) => T)(nk * nk);
    for (let c = 0; c < n; c++)
      for (let d = 0; d < n; d++) {
        const v = m[c * n + d];
        for (let i = 0; i < k; i++) out[(c * k + i) * nk + d * k + i] = v;
      }
    return out;
  });
}

/** Sums (n per group) as means over `rows`, each repeated for the k kernel positions of a tiled ConvTranspose (k = 1: one each). */
function meansOf(vs: readonly Float64Array[], k: number, rows: number): Float64Array[] {
  return vs.map((v) => {
    const out = new Float64Array(v.length * k);
    for (let c = 0; c < v.length; c++) out.fill(v[c] / rows, c * k, (c + 1) * k);
    return out;
  });
}

/** How a statistics copy is fed: per copy of the graph after the first, each model input's name in it, and each copy's weight input (copies > 1). */
interface Feeding {
  inputs: Map<string, string>[];
  weights: string[];
  /** the model's weights the copy reads as inputs (RunModel.feedWeights), fed every run */
  fed: Sample;
}

const hasSubgraph = (n: Node) => n.attributes.some((a) => a.g || a.graphs.length > 0);

/**
 * The nodes `outputs` need, in their order (whatever else the statistics copy holds, after the
 * last recovered layer or in the model's own outputs, is never run).
 */
function needed(nodes: readonly Node[], outputs: readonly string[]): Node[] {
  const want = new Set(outputs);
  const keep: boolean[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    keep[i] = nodes[i].outputs.some((o) => want.has(o));
    if (keep[i]) for (const x of nodes[i].inputs) if (x) want.add(x);
  }
  return nodes.filter((_, i) => keep[i]);
}

/**
 * A copy of the model (sharing tensor bytes) whose outputs are the statistics (fills in each
 * stat's `outputs`). With `copies` > 1 the graph is repeated (weights shared), each copy reading
 * its own sample and weighing its rows by its weight input (0 for an empty slot), and the
 * copies' rows are joined before the product: one H per `copies` samples.
 */
function statisticsModel(model: Model, stats: readonly Stat[], convs: ReadonlyMap<Stat, Node>, copies: number, inPlace = false, accumulate = false): { model: Model; feeding: Feeding } {
  const copy = cloneModel(model);
  const g = copy.graph;
  if (!g) throw new AppError('unsupported', 'The model has no graph to collect layer inputs from.');
  nameStates(g, stats);
  const opset = copy.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const names = new NameAllocator(collectNames(copy));
  const b = new StatBuilder(names, Number(opset ?? 1), copies === 1);
  const inits = new Set([...g.initializers.map((t) => t.name), ...g.sparseInitializers.map((t) => t.values?.name)]);
  const graphInputs = g.inputs.filter((v) => v.name && !inits.has(v.name));
  const nodes = [...g.nodes];
  const inputs: ValueInfo[] = [...g.inputs];
  const feeding: Feeding = { inputs: [], weights: [], fed: {} };
  const renames: ((name: string) => string)[] = [];
  for (let k = 0; k < copies; k++) {
    if (k === 0) {
      renames.push((name) => name);
      feeding.inputs.push(new Map(graphInputs.map((v) => [v.name as string, v.name as string])));
      continue;
    }
    const map = new Map<string, string>();
    for (const v of graphInputs) {
      const name = names.fresh(`${v.name}__copy${k}`);
      map.set(v.name as string, name);
      inputs.push({ ...v, name });
    }
    for (const n of g.nodes) for (const o of n.outputs) if (o) map.set(o, names.fresh(`${o}__copy${k}`));
    const r = (name: string) => map.get(name) ?? name;
    for (const n of g.nodes) nodes.push({ ...n, name: n.name ? names.fresh(`${n.name}__copy${k}`) : n.name, inputs: n.inputs.map(r), outputs: n.outputs.map(r) });
    renames.push(r);
    feeding.inputs.push(new Map(graphInputs.map((v) => [v.name as string, map.get(v.name as string) as string])));
  }
  const outputs: string[] = [];
  const weights = copies > 1 ? renames.map((_, k) => names.fresh(`__hessian_weight${k}`)) : [];
  for (const w of weights) inputs.push(makeValueInfo(w, DataType.FLOAT, []));
  // H's blocks summed in float32 (Stat.blocks): where asked, by the runtime, each block plus the sums so far fed back in (no shape: a scalar 0 the first run)
  const summed = (s: Stat, gram: string[] | undefined): string[] | undefined => {
    if (!gram || !accumulate || !s.full || s.partner) return gram;
    s.outputs.acc = gram.map(() => {
      const acc = names.fresh('__hessian_acc');
      inputs.push(makeValueInfo(acc, DataType.FLOAT));
      return acc;
    });
    return gram.map((o, k) => b.add(o, (s.outputs.acc as string[])[k]));
  };
  const exported = exportBranchInputs(g, stats, convs, names);
  for (const s of stats) {
    // a float16 (bfloat16, double) layer's inputs, in float32 from here; a branch layer's from its If
    const read = (r: (name: string) => string) => (name: string) => {
      const x = r(name === s.input ? (exported.get(s)?.value ?? name) : name);
      return s.cast ? b.float(x) : x;
    };
    // a Conv in an If branch: its rows count only where the copy took the branch (exportBranchInputs)
    const taken = exported.get(s)?.taken;
    const rowsShape = (x: string, k: number) => (taken ? b.mul(b.shape(x), renames[k](taken)) : b.shape(x));
    if (s.op === 'Conv' && (copies === 1 || s.joined === false)) {
      // per copy: its rows' products (a sample gives at least cols rows: the product is efficient alone), weighed and added
      const conv = convs.get(s) as Node;
      const parts = renames.map((r, k) => convRows(b, s, conv, read(r)(s.input), k).rows);
      const weigh = (xs: string[]) => xs.map((x, k) => (copies === 1 ? x : b.mul(x, weights[k]))).reduce((p, x) => b.add(p, x));
      // per block of H: each copy's product, weighed and added
      const perCopy = s.full ? parts.map((p) => b.gram(p, 2, s.cols, (x, y) => convGram(b, x, y))) : undefined;
      const gram = perCopy ? perCopy[0].map((_, blk) => weigh(perCopy.map((c) => c[blk]))) : undefined;
      s.outputs = { sum: weigh(parts.map((p) => rowSums(b, p))), shapes: parts.map((p, k) => rowsShape(p, k)), rowsAxes: [0, 3] };
      s.outputs.gram = summed(s, gram);
      if (s.partner && s.full) {
        const partner = s.partner;
        const pParts = renames.map((r, k) => convRows(b, s, conv, read(r)(partner), k).rows);
        s.outputs.cross = weigh(parts.map((p, k) => convGram(b, p, pParts[k])));
        s.outputs.partnerSum = weigh(pParts.map((p) => rowSums(b, p)));
      }
      outputs.push(...[...(s.outputs.gram ?? []), s.outputs.sum, s.outputs.cross, s.outputs.partnerSum, ...s.outputs.shapes].filter((o): o is string => o !== undefined));
      continue;
    }
    // the copy's weight on its patch Conv's kernels where there is one (the teacher's rows below are weighed as before)
    const rowsOf = (input: string, k: number, scale?: string): { rows: string; shape: string; scaled: boolean } => {
      if (s.op !== 'dense') return convRowsJoined(b, s, convs.get(s) as Node, input, k, scale);
      const rows = denseRows(b, s, input);
      return { rows, shape: rows, scaled: false };
    };
    const joined = renames.map((r, k) => rowsOf(read(r)(s.input), k, copies === 1 ? undefined : weights[k]));
    const parts = joined.map((j) => j.rows);
    const axis = s.op === 'dense' ? 0 : 2;
    // the copies' rows side by side (an empty copy's weighed 0), so one product makes H: long rows keep the MatMul efficient
    const a = copies === 1 ? parts[0] : b.concat(joined.map((j, k) => (j.scaled ? j.rows : b.mul(j.rows, weights[k]))), axis);
    // dense rows [rows, cols] (columns: axis 1), Conv rows [G, cols, rows] (axis 1)
    const gram = s.full ? b.gram(a, 1, s.cols, (x, y) => product(b, s, x, y)) : undefined;
    s.outputs = { sum: b.reduceSum(a, axis), shapes: joined.map((j, k) => rowsShape(j.shape, k)), rowsAxes: s.op === 'dense' ? [0] : [0, 3] };
    s.outputs.gram = summed(s, gram);
    if (s.partner && s.full) {
      const partner = s.partner;
      // the teacher's rows beside these (an empty copy's are weighed 0 on both sides already through `a`; its sums here)
      const pParts = renames.map((r, k) => rowsOf(read(r)(partner), k).rows);
      const t = copies === 1 ? pParts[0] : b.concat(pParts.map((p, k) => b.mul(p, weights[k])), axis);
      s.outputs.cross = product(b, s, a, t);
      s.outputs.partnerSum = b.reduceSum(t, axis);
    }
    if (s.weightBy && s.full) {
      // each row's weights per output channel, rows joined as `a`'s ([rows, O] -> [O, rows, 1]):
      // B = X·s [O, rows, cols] (an empty copy's rows are 0 through `a`), H_o = B_oᵀB_o
      const weightBy = s.weightBy;
      const sParts = renames.map((r) => b.reshape(read(r)(weightBy), [-1, s.outs]));
      const inv = b.reciprocal(copies === 1 ? sParts[0] : b.concat(sParts, 0));
      const scaled = b.mul(a, b.reshape(b.transpose(inv, [1, 0]), [s.outs, -1, 1]));
      s.outputs.weighted = b.matmul(b.transpose(scaled, [0, 2, 1]), scaled);
    }
    outputs.push(...[...(s.outputs.gram ?? []), s.outputs.sum, s.outputs.cross, s.outputs.partnerSum, s.outputs.weighted, ...s.outputs.shapes].filter((o): o is string => o !== undefined));
  }
  const all = [...nodes, ...b.nodes];
  const subgraphs = all.some(hasSubgraph);
  g.nodes = subgraphs ? all : needed(all, outputs);
  g.initializers = [...g.initializers, ...b.inits];
  g.inputs = inputs;
  if (!subgraphs) {
    // only the weights the kept nodes read: a pass of early layers carries none of the later ones
    // (the encoded bytes, and the runtime's copy of them until it drops unused initializers)
    const read = new Set(g.nodes.flatMap((n) => n.inputs));
    const unread = (name: string | undefined) => name !== undefined && inits.has(name) && !read.has(name);
    g.initializers = g.initializers.filter((t) => !unread(t.name));
    g.sparseInitializers = g.sparseInitializers.filter((t) => !unread(t.values?.name));
    g.inputs = g.inputs.filter((v) => !unread(v.name));
  }
  g.outputs = outputs.map((name) => ({ name, metadataProps: [] }));
  feeding.weights = weights;
  if (inPlace && !subgraphs) weightsAsInputs(g, feeding);
  return { model: copy, feeding };
}

/** A recurrent layer's unnamed Y, which a state view reads (Stat.produce), gets its name in the copy (at any depth of If branches). */
function nameStates(g: Graph, stats: readonly Stat[]): void {
  const produce = new Map(stats.filter((s) => s.produce).map((s) => [s.produce?.node, s.produce?.name as string]));
  if (produce.size === 0) return;
  const walk = (graph: Graph) => {
    for (const n of graph.nodes) {
      const name = n.name ? produce.get(n.name) : undefined;
      if (name && !n.outputs[0]) n.outputs[0] = name;
      for (const a of n.attributes) for (const sub of [a.g, ...a.graphs]) if (sub) walk(sub);
    }
  };
  walk(g);
}

/**
 * The inputs of layers in If branches and Loop bodies, taken out level by level (in `g`, the
 * statistics copy's main graph). In a Loop body the value becomes a scan output (every
 * iteration's, stacked). Out of an If, it becomes an output of its branch and of the If (an input
 * the branch reads from outside it, or one the branch already gives out, goes through an Identity
 * in it). The other
 * branch gives, for a dense layer, an empty [0, cols] tensor of the same type, so a run where the
 * branch is not taken adds no rows; for a Conv (ConvTranspose), whose rows are reshaped by their
 * positions, a zero input [1, channels, ...] just large enough for its kernel, which adds nothing
 * to H or the sums, and an int64 `taken` output (1 from the branch, 0 from the other) that the
 * count of rows is multiplied by.
 */
function exportBranchInputs(g: Graph, stats: readonly Stat[], convs: ReadonlyMap<Stat, Node>, names: NameAllocator): Map<Stat, { value: string; taken?: string }> {
  const out = new Map<Stat, { value: string; taken?: string }>();
  // every If and Loop of the copy by name (nested ones inside subgraphs too)
  const holders = new Map<string, Node>();
  const walk = (graph: Graph) => {
    for (const n of graph.nodes) {
      if ((n.opType === 'If' || n.opType === 'Loop') && n.name) holders.set(n.name, n);
      for (const a of n.attributes) for (const sub of [a.g, ...a.graphs]) if (sub) walk(sub);
    }
  };
  walk(g);
  const constant = (graph: Graph, base: string, dataType: number, dims: number[], raw: Uint8Array) => {
    const name = names.fresh(base);
    graph.nodes.push(makeNode('Constant', [], [name], [attr.tensor('value', emptyTensor({ name, dataType, dims, rawData: raw }))], { name }));
    return name;
  };
  for (const s of stats) {
    const br = s.branch;
    if (!br) continue;
    const conv = convs.get(s);
    // (a kernel of k positions dilated by d covers d·(k − 1) + 1: one output position without pads)
    const dilations = conv ? (attrInts(conv, 'dilations') ?? []) : [];
    const zeroDims = [1, s.channels, ...s.kernel.map((k, i) => (dilations[i] ?? 1) * (k - 1) + 1)];
    // level by level, innermost first: the value (and a Conv's `taken`) out of each If into the graph holding it
    let value = s.input;
    let taken: string | undefined;
    let ok = true;
    for (const [depth, level] of br.levels.entries()) {
      const node = holders.get(level.node);
      const branch = (a: string) => node?.attributes.find((x) => x.name === a)?.g;
      if (level.attr === 'body') {
        // a Loop: the value becomes a scan output of its body (every iteration's, stacked on a new first axis)
        const body = branch('body');
        if (!node || !body || conv) {
          ok = false;
          break;
        }
        if (!body.nodes.some((n) => n.outputs.includes(value)) || body.outputs.some((o) => o.name === value)) {
          const id = names.fresh(`${s.input}__in_body`);
          body.nodes.push(makeNode('Identity', [value], [id], [], { name: id }));
          value = id;
        }
        body.outputs.push(makeValueInfo(value, br.dtype));
        // (the node's outputs: the loop-carried values, then the scan outputs; those the model left off get names)
        while (node.outputs.length < body.outputs.length - 2) node.outputs.push(names.fresh('__hessian_unused'));
        value = names.fresh(`${s.input}__iterations${depth > 0 ? depth : ''}`);
        node.outputs.push(value);
        continue;
      }
      const here = branch(level.attr);
      const there = branch(level.attr === 'then_branch' ? 'else_branch' : 'then_branch');
      if (!node || !here || !there) {
        ok = false;
        break;
      }
      // an input from outside the branch, or one the branch gives out already, goes through an Identity in it
      if (!here.nodes.some((n) => n.outputs.includes(value)) || here.outputs.some((o) => o.name === value)) {
        const id = names.fresh(`${s.input}__in_branch`);
        here.nodes.push(makeNode('Identity', [value], [id], [], { name: id }));
        value = id;
      }
      const stand = conv
        ? constant(there, '__hessian_zeros', br.dtype, zeroDims, new Uint8Array(zeroDims.reduce((p, d) => p * d, 1) * (br.dtype === DataType.DOUBLE ? 8 : br.dtype === DataType.FLOAT ? 4 : 2)))
        : constant(there, '__hessian_empty', br.dtype, [0, s.cols], new Uint8Array(0));
      here.outputs.push(makeValueInfo(value, br.dtype));
      there.outputs.push(makeValueInfo(stand, br.dtype));
      // (outputs before the new ones that the model left unnamed get names: an If output is positional)
      while (node.outputs.length < here.outputs.length - 1) node.outputs.push(names.fresh('__hessian_unused'));
      value = names.fresh(`${s.input}__branch${depth > 0 ? depth : ''}`);
      node.outputs.push(value);
      if (conv) {
        const inner = taken ?? constant(here, '__hessian_taken', DataType.INT64, [], bytesOf(BigInt64Array.of(1n)));
        here.outputs.push(makeValueInfo(inner, DataType.INT64));
        there.outputs.push(makeValueInfo(constant(there, '__hessian_taken', DataType.INT64, [], bytesOf(BigInt64Array.of(0n))), DataType.INT64));
        taken = names.fresh(`${s.input}__taken${depth > 0 ? depth : ''}`);
        node.outputs.push(taken);
      }
    }
    if (ok) out.set(s, { value, ...(taken ? { taken } : {}) });
  }
  return out;
}

/** Weights of at least this many bytes go as inputs to a runner that takes them so (weightsAsInputs). */
export const FED_WEIGHT_MIN_BYTES = 64 * 2 ** 10;
/**
 * The ops a fed weight may be read by (default domain): those that compute with it as it is, and
 * lose nothing by it. Not Conv: onnxruntime-node reorders a constant Conv weight once for its
 * blocked (NCHWc) kernels; fed, the bench CNN's recovery took 1-5% longer in every one of four
 * alternating pairs, while resnet18's peak did not move (its weights are a small part of it).
 */
const FED_READERS = new Set(['MatMul', 'Gemm', 'Gather']);

/**
 * The copy's large float32 weights as graph inputs, fed from the model's own bytes
 * (`feeding.fed`), for a runner that takes them so (RunModel.feedWeights: onnxruntime-node reads
 * them in place, onnxruntime-web copies them into its heap for the run only). A session
 * otherwise holds its own copy of every weight and prepacks the MatMul ones once more: in
 * onnxruntime-node the 100 MB MatMul bench model's statistics session took 266 MiB (194 MiB
 * without prepacking) against 19 MiB fed; in onnxruntime-web that model's recovery peaked at
 * +500 MiB against +302-341 fed. The MatMul runs cost the same or less (node and web): a run's
 * products are large enough that packing a weight per run is a small part of them. Only weights
 * that FED_READERS read directly (not Conv's).
 */
function weightsAsInputs(g: NonNullable<Model['graph']>, feeding: Feeding): void {
  const given = new Set(g.inputs.map((v) => v.name));
  // read only by ops that compute with them directly: a weight behind a Transpose, Reshape, Cast …
  // stays an initializer, which onnxruntime folds once, where an input would be transformed again
  // in every copy of the graph on every run
  const kept = new Set<string>();
  for (const n of g.nodes) if ((n.domain && n.domain !== 'ai.onnx') || !FED_READERS.has(n.opType ?? '')) for (const x of n.inputs) if (x) kept.add(x);
  const fed = g.initializers.filter((t) => t.name && !kept.has(t.name) && t.dataType === DataType.FLOAT && !isExternal(t) && tensorByteLength(t) >= FED_WEIGHT_MIN_BYTES);
  if (fed.length === 0) return;
  const names = new Set(fed.map((t) => t.name));
  g.initializers = g.initializers.filter((t) => !names.has(t.name));
  for (const t of fed) {
    const name = t.name as string;
    const dims = t.dims.map(Number);
    feeding.fed[name] = { dtype: 'float32', dims, data: tensorFloats(t) };
    if (!given.has(name)) g.inputs.push(makeValueInfo(name, DataType.FLOAT, dims));
  }
}

function float32Output(got: Record<string, { data: unknown }>, name: string, length: number, what: string): Float32Array {
  const data = got[name]?.data;
  if (!(data instanceof Float32Array) || data.length !== length) throw new AppError('unsupported', `${what}: its input statistics did not come back as ${length} float32 values`);
  return data;
}

/** Adds one run's outputs of `stat` (`used`: which copies held a sample; H: the upper triangle, mirrored at the end). */
function addRun(stat: Stat, got: Record<string, { data: unknown }>, used: number): void {
  const { cols: n, groups } = stat;
  for (let k = 0; k < used; k++) {
    const shape = got[stat.outputs.shapes[k]]?.data as ArrayLike<number | bigint> | undefined;
    stat.rows += shape ? stat.outputs.rowsAxes.reduce((p, a) => p * Number(shape[a]), 1) : 0;
  }
  const sum = float32Output(got, stat.outputs.sum, groups * n, stat.input);
  for (let g = 0; g < groups; g++) {
    const s = stat.sum[g];
    for (let i = 0; i < n; i++) s[i] += sum[g * n + i];
  }
  if (stat.outputs.cross && stat.outputs.partnerSum) {
    const cross = float32Output(got, stat.outputs.cross, groups * n * n, stat.input);
    const psum = float32Output(got, stat.outputs.partnerSum, groups * n, stat.input);
    for (let g = 0; g < groups; g++) {
      const c = stat.cross[g];
      for (let i = 0; i < n * n; i++) c[i] += cross[g * n * n + i];
      const s = stat.partnerSum[g];
      for (let i = 0; i < n; i++) s[i] += psum[g * n + i];
    }
  }
  if (stat.outputs.weighted) {
    const w = float32Output(got, stat.outputs.weighted, stat.outs * n * n, stat.input);
    for (let o = 0; o < stat.outs; o++) {
      const h = stat.weighted[o];
      const off = o * n * n;
      for (let i = 0; i < n; i++) {
        const r = i * n;
        for (let j = i; j < n; j++) h[r + j] += w[off + r + j];
      }
    }
  }
  if (!stat.outputs.gram) return;
  const { bounds, blocks } = gramBlocks(n);
  blocks.forEach(([bi, bj], k) => {
    const [r0, r1, c0, c1] = [bounds[bi], bounds[bi + 1], bounds[bj], bounds[bj + 1]];
    const w = c1 - c0;
    const size = (r1 - r0) * w;
    const gram = float32Output(got, (stat.outputs.gram as string[])[k], groups * size, stat.input);
    const acc = stat.blocks;
    if (acc && stat.outputs.acc) {
      // the runtime's sums (fed back next run): a new array each run; the last run's go now (they lived through a run: promoted)
      const before = acc[k];
      acc[k] = gram;
      if (before && before.buffer !== gram.buffer) releaseBuffer(before);
      return;
    }
    if (acc) {
      const into = acc[k];
      if (!into) {
        // (a copy: a runner may hand the same output array back on its next run)
        acc[k] = gram.slice();
        return;
      }
      if (bi !== bj) {
        for (let i = 0; i < groups * size; i++) into[i] += gram[i];
        return;
      }
      for (let g = 0; g < groups; g++)
        for (let i = 0; i < w; i++) {
          const o = g * size + i * w;
          for (let j = i; j < w; j++) into[o + j] += gram[o + j];
        }
      return;
    }
    for (let g = 0; g < groups; g++) {
      const h = stat.h[g];
      const off = g * size;
      for (let i = 0; i < r1 - r0; i++) {
        const o = (r0 + i) * n + c0;
        const src = off + i * w;
        // the upper triangle (a diagonal block from its diagonal on)
        for (let j = bi === bj ? i : 0; j < w; j++) h[o + j] += gram[src + j];
      }
    }
  });
}

/** The sums so far of H's blocks as the statistics copy reads them (Stat.outputs.acc): [rows, cols] of a block (dense) or [groups, rows, cols] (Conv); a scalar 0 before the first run. */
function feedSums(s: Stat, feeds: Sample): void {
  const acc = s.outputs.acc;
  if (!acc) return;
  const { bounds, blocks } = gramBlocks(s.cols);
  blocks.forEach(([bi, bj], k) => {
    const sums = s.blocks?.[k];
    const dims = [bounds[bi + 1] - bounds[bi], bounds[bj + 1] - bounds[bj]];
    feeds[acc[k]] = sums ? { dtype: 'float32', dims: s.op === 'dense' ? dims : [s.groups, ...dims], data: sums } : { dtype: 'float32', dims: [], data: Float32Array.of(0) };
  });
}

const copyData = (d: SampleTensor['data']): SampleTensor['data'] => (ArrayBuffer.isView(d) ? (d as unknown as { slice(): SampleTensor['data'] }).slice() : Array.from(d as ArrayLike<number>));

/**
 * The statistics copy's bytes in an ArrayBuffer that can shrink to 0 once its session exists
 * (`emptied`), where the runtime has resizable ArrayBuffers: the session holds the model from then
 * on, and the bytes stay only as its key (RunModel: the same object every run). A pass of the
 * 100 MB MatMul bench model held its 72-96 MiB through the pass. Only for a runner that says it
 * keeps its session (RunModel.keepsSession: onnxruntime-node's and the page's onnxruntime-web
 * runner; the page's failed until the codec stopped giving browsers' TextEncoder.encodeInto a view
 * of a resizable buffer, which they refuse).
 */
type Resizable = ArrayBuffer & { resize?: (n: number) => void; resizable?: boolean };
const resizableBytes = (n: number): Uint8Array => {
  if (!('resizable' in ArrayBuffer.prototype)) return new Uint8Array(n);
  const make = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable;
  return new Uint8Array(new make(n, { maxByteLength: n }));
};
const emptied = (bytes: Uint8Array): void => {
  const buf = bytes.buffer as Resizable;
  // (a runtime that took the buffer over left it detached: nothing to empty)
  if (buf.resizable && buf.resize && bytes.byteLength > 0) buf.resize(0);
};

/** Runs the statistics copy with `copies` samples a run over all samples, adding into `stats`. */
async function runStatistics(model: Model, stats: readonly Stat[], convs: ReadonlyMap<Stat, Node>, copies: number, samples: readonly Sample[], run: RunModel, options: HessianOptions): Promise<void> {
  // (a native runtime adds H's blocks itself: the JavaScript loop was the CNN bench's largest part after the products)
  const { model: copy, feeding } = statisticsModel(model, stats, convs, copies, run.feedWeights === true, run.nativeProducts === true);
  const bytes = run.keepsSession ? encodeModelInto(copy, resizableBytes) : encodeModel(copy);
  markLargeRuns(bytes);
  for (let i = 0; i < samples.length; i += copies) {
    throwIfAborted(options.signal);
    const used = Math.min(copies, samples.length - i);
    const feeds: Sample = { ...feeding.fed };
    for (let k = 0; k < copies; k++) {
      // an empty slot runs a copy of the last sample (its own buffers: a runtime may transfer them), weighed 0
      const empty = k >= used;
      for (const [name, t] of Object.entries(samples[i + Math.min(k, used - 1)])) {
        const to = k === 0 ? name : feeding.inputs[k].get(name);
        if (to) feeds[to] = empty ? { ...t, data: copyData(t.data) } : t;
      }
      if (feeding.weights.length > 0) feeds[feeding.weights[k]] = { dtype: 'float32', dims: [], data: Float32Array.of(k < used ? 1 : 0) };
    }
    for (const s of stats) feedSums(s, feeds);
    const got = await run(bytes, feeds);
    // its session holds the model now (a runner that says so)
    if (i === 0 && run.keepsSession) emptied(bytes);
    for (const s of stats) addRun(s, got, used);
    options.onProgress?.(i + used, samples.length);
  }
  // the session's weights and buffers go now, not when the whole recovery ends
  await run.release?.(bytes);
}

/**
 * Bytes of float32 statistics (H, the teacher's cross term) one run of the statistics copy
 * returns at most: onnxruntime hands each run's outputs over as float32 arrays beside the
 * float64 sums, so with every layer in one run those outputs alone are half of all the H (resnet18:
 * 352 MB). Past it, the layers go in groups, one pass over the samples per group (each pass one
 * more forward pass of the model; a layer larger than the budget gets a pass of its own). The
 * sums are the same, in the same order: the results do not change.
 */
export const STATS_BUDGET = 128 * 2 ** 20;

/** float32 bytes one run returns for `s` (H counted whole: its blocks return about 62-100% of it, and its float64 sums are held whole, so the budget keeps bounding those) */
const statBytes = (s: Stat) => s.groups * (s.full ? s.cols * s.cols : 0) * 4 * (s.partner ? 2 : 1) + s.groups * s.cols * 4 * (s.partner ? 2 : 1);

/** The statistics in passes of at most `budget` float32 output bytes each, in order. */
function passesFor(stats: readonly Stat[], budget: number): Stat[][] {
  const passes: Stat[][] = [];
  let bytes = 0;
  for (const s of stats) {
    const b = statBytes(s);
    if (passes.length === 0 || bytes + b > budget) {
      passes.push([s]);
      bytes = b;
    } else {
      passes[passes.length - 1].push(s);
      bytes += b;
    }
  }
  return passes;
}

/**
 * Bytes of layer input rows a run may hold (each copy of the graph: its patches, their transpose
 * and the joined rows, about 3x the rows' floats). resnet18 at 224x224, 96 samples, in
 * onnxruntime-node (process peak, H time): 8 copies (the input-size rule alone) 3.97 GB; 4 copies
 * (512 MiB) 3.1 GB, 23.9 s; 2 copies (256 MiB) 2.65 GB, 28.5 s.
 */
export const ROWS_BUDGET = 512 * 2 ** 20;

/** Samples per run: up to 8, fewer for large inputs (each copy of the graph holds its own activations); then fewer for many rows (ROWS_BUDGET). */
function copiesFor(model: Model, samples: readonly Sample[], asked: number | undefined): number {
  // subgraphs may read outer names (not renamed); Mul broadcasts a scalar since opset 7
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1);
  // an input with an initializer (a default) is not repeated: only the first copy would see the sample's value
  const inits = new Set(model.graph?.initializers.map((t) => t.name));
  if (opset < 7 || model.graph?.nodes.some(hasSubgraph) || Object.keys(samples[0]).some((name) => inits.has(name))) return 1;
  const bytes = Object.values(samples[0]).reduce((p, t) => p + t.data.length * 4, 0);
  const fit = Math.floor((32 << 20) / Math.max(1, bytes));
  return Math.max(1, Math.min(asked ?? 8, samples.length, fit));
}

/** A layer as collectHessians and hessianSource take it. */
export interface HessianLayer {
  layer: Layer;
  shape: readonly number[];
  /** false: means only (bias correction without gptq) */
  full?: boolean;
  /** the teacher's input to this layer, a tensor of the same model (the cross term, `LayerHessian.cross`) */
  partner?: string;
  /** the Log input whose reciprocal weighs this layer's outputs (default: found after the layer, sensitivity.ts) */
  weightBy?: string;
  /** GPTQ solves it in activation order (its factor through a native runtime is prepared in that order) */
  actOrder?: boolean;
}

/** The statistics `layers` need (shared where layers read the same input), before any is run. */
interface StatPlan {
  stats: Stat[];
  convs: Map<Stat, Node>;
  wanted: { layer: Layer; full: boolean; stat: Stat }[];
  weightNotes: Map<string, string>;
}

function planStats(model: Model, layers: readonly HessianLayer[], samples: readonly Sample[], options: HessianOptions): StatPlan {
  if (samples.length === 0) throw new AppError('invalid-argument', 'recovery needs calibration samples');
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1);
  const stats = new Map<string, Stat>();
  const convs = new Map<Stat, Node>();
  const wanted: StatPlan['wanted'] = [];
  const weightNotes = new Map<string, string>();
  for (const { layer, shape, full = true, partner, weightBy: asked } of layers) {
    const r = recoverable(layer);
    const m = r && weightMatrix(layer, shape);
    const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === recoveredInput(layer));
    // (a float16, bfloat16 or double layer: its inputs are cast to float32 in the statistics copy)
    if (!r || !m || !w || !FLOAT_TYPES.has(w.dataType) || (r.swap && opset < 5)) continue;
    // a layer in If branches: the outermost If must be the main graph's (one named so)
    const levels = layer.graphPath === 'main' ? undefined : subgraphLevels(layer);
    const outermost = levels?.[levels.length - 1];
    if (layer.graphPath !== 'main' && (!outermost || model.graph?.nodes.filter((n) => n.name === outermost.node && (n.opType === 'If' || n.opType === 'Loop')).length !== 1)) continue;
    // a Log after the layer (one pass, dense): one H per output channel, where they fit
    const logInput = full && !partner && !isConv(layer) && !levels && !r.swap && opset >= 8 ? (asked ?? logInputAfter(model, layer.node)) : undefined;
    const fits = logInput !== undefined && m.rows * m.cols * m.cols * 8 <= WEIGHTED_MAX_BYTES;
    if (logInput && !fits) weightNotes.set(layer.key, `a Log reads its outputs, but ${m.rows} output channels × ${m.cols}² float64 exceed ${WEIGHTED_MAX_BYTES / 2 ** 20} MiB: plain H (not weighted by the Log's sensitivity)`);
    const weightBy = fits ? logInput : undefined;
    const rows = r.swap ? '-swapped' : r.perm ? `-perm=${r.perm.join(',')}` : '';
    const key = `${layer.graphPath}|${statKey(layer, r.input, m.cols, full ? partner : undefined, weightBy, rows)}`;
    let stat = stats.get(key);
    if (!stat) {
      const conv = isConv(layer);
      const groups = conv ? attrInt(layer.node, 'group', 1) : 1;
      const kernel = conv ? convKernel(layer) : [];
      const k = kernel.reduce((p, d) => p * d, 1);
      // the weight's columns are its input channels per group times the kernel positions
      if (conv && (kernel.length === 0 || m.cols % k !== 0)) continue;
      const tile = conv ? tiledTranspose(layer.node, kernel) : undefined;
      const subsample = subsampleRows(m.cols, samples.length, opset, options.rowsPerColumn);
      // (a tiled ConvTranspose keeps input positions, each k rows of the layer's)
      const keep = subsample !== undefined && tile ? Math.ceil(subsample / tile) : subsample;
      stat = {
        input: r.input,
        op: conv ? 'Conv' : 'dense',
        ...(r.swap ? { swap: true } : {}),
        ...(r.perm ? { perm: r.perm } : {}),
        ...(layer.recurrentState && !layer.node.outputs[0] ? { produce: { node: layer.node.name ?? '', name: r.input } } : {}),
        // (a float16 weight Cast to float32 on its way: the layer computes in float32)
        ...(w.dataType !== DataType.FLOAT && !w.via.includes('Cast') ? { cast: true } : {}),
        ...(levels ? { branch: { levels, dtype: w.via.includes('Cast') ? DataType.FLOAT : w.dataType } } : {}),
        cols: tile ? m.cols / tile : m.cols,
        groups,
        kernel,
        channels: conv ? (m.cols / k) * groups : 0,
        ...(tile ? { tile } : {}),
        full: false,
        h: [],
        sum: [],
        rows: 0,
        ...(partner && full ? { partner } : {}),
        ...(conv && full && keep !== undefined ? { keep } : {}),
        cross: [],
        partnerSum: [],
        ...(weightBy ? { weightBy } : {}),
        outs: m.rows,
        weighted: [],
        outputs: { sum: '', shapes: [], rowsAxes: [] },
      };
      stats.set(key, stat);
      if (conv) convs.set(stat, layer.node);
    }
    stat.full ||= full;
    wanted.push({ layer, full, stat });
  }
  return { stats: [...stats.values()], convs, wanted, weightNotes };
}

/** The statistic's sums, zero (a pass starts here; run again, it starts over). */
function allocate(s: Stat): void {
  s.rows = 0;
  s.sum = Array.from({ length: s.groups }, () => new Float64Array(s.cols));
  // float32 blocks summed over the pass where no teacher subtracts H (Stat.blocks), else float64 sums
  const f32 = s.full && !s.partner;
  s.h = s.full && !f32 ? Array.from({ length: s.groups }, () => new Float64Array(s.cols * s.cols)) : [];
  if (f32) s.blocks = gramBlocks(s.cols).blocks.map(() => undefined);
  else delete s.blocks;
  s.weighted = s.full && s.weightBy ? Array.from({ length: s.outs }, () => new Float64Array(s.cols * s.cols)) : [];
  s.cross = s.partner ? Array.from({ length: s.groups }, () => new Float64Array(s.cols * s.cols)) : [];
  s.partnerSum = s.partner ? Array.from({ length: s.groups }, () => new Float64Array(s.cols)) : [];
}

/** The cols² arrays go, now (the sums and the row count stay: they are small). */
function freeStat(s: Stat): void {
  for (const a of [...s.h, ...s.weighted, ...s.cross, ...(s.blocks ?? [])]) releaseBuffer(a);
  s.h = [];
  delete s.blocks;
  s.weighted = [];
  s.cross = [];
}

/** H is accumulated in its upper triangle: mirrored once a pass is done. */
function symmetrize(s: Stat): void {
  const n = s.cols;
  for (const h of [...s.h, ...s.weighted]) mirror(h, n);
}

/**
 * H in float32 (the precision of its sums), both triangles, from the float32 blocks summed over
 * the pass (Stat.blocks), which go. (Float64 here took 2x the memory for nothing, and at the bench
 * CNN's widest layer 0.17 s of 1.4 s, most of it touching the fresh 42 MB.)
 */
function materialize(s: Stat): void {
  const acc = s.blocks;
  if (!acc) return;
  delete s.blocks;
  const n = s.cols;
  const { bounds, blocks } = gramBlocks(n);
  const h = Array.from({ length: s.groups }, () => new Float32Array(n * n));
  s.h = h;
  blocks.forEach(([bi, bj], k) => {
    const block = acc[k];
    acc[k] = undefined;
    if (!block) return;
    const size = (bounds[bi + 1] - bounds[bi]) * (bounds[bj + 1] - bounds[bj]);
    for (let g = 0; g < s.groups; g++) place(h[g], n, block, g * size, bounds[bi], bounds[bi + 1], bounds[bj], bounds[bj + 1]);
    releaseBuffer(block);
  });
}

/** Tile side of the mirrored writes: a tile's rows and its transpose's stay in cache. */
const TILE = 32;

/**
 * Writes a block of H's upper part (rows r0…r1, columns c0…c1, row-major in `block` from `src`; a
 * diagonal block, r0 = c0: its upper triangle read) into `h` (n×n) and its mirror image, a tile
 * at a time.
 */
function place(h: HMatrix, n: number, block: Float32Array, src: number, r0: number, r1: number, c0: number, c1: number): void {
  const w = c1 - c0;
  const diag = r0 === c0;
  for (let i0 = r0; i0 < r1; i0 += TILE) {
    const i1 = Math.min(r1, i0 + TILE);
    for (let j0 = diag ? i0 : c0; j0 < c1; j0 += TILE) {
      const j1 = Math.min(c1, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const from = src + (i - r0) * w - c0;
        const row = i * n;
        for (let j = diag ? Math.max(j0, i) : j0; j < j1; j++) {
          const v = block[from + j];
          h[row + j] = v;
          h[j * n + i] = v;
        }
      }
    }
  }
}

/** The upper triangle of H (n×n, row-major) copied to the lower, a tile at a time. */
function mirror(h: HMatrix, n: number): void {
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = Math.min(n, i0 + TILE);
    for (let j0 = i0; j0 < n; j0 += TILE) {
      const j1 = Math.min(n, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const row = i * n;
        for (let j = Math.max(j0, i + 1); j < j1; j++) h[j * n + i] = h[row + j];
      }
    }
  }
}

/** A layer's H from its statistic, once collected (undefined: no rows came). */
function hessianOf(plan: StatPlan, w: StatPlan['wanted'][number]): LayerHessian | undefined {
  const { layer, full, stat } = w;
  if (stat.rows === 0) return undefined;
  if (full) materialize(stat);
  // a tiled ConvTranspose's statistic is its input's: k output rows per input position, H = I_k ⊗ it
  const k = stat.tile ?? 1;
  const rows = stat.rows * k;
  const mean = meansOf(stat.sum, k, rows);
  const teacher = full && stat.partner ? { cross: expandTiled(stat.cross, stat.cols, k), teacherMean: meansOf(stat.partnerSum, k, rows) } : {};
  const finite = stat.weighted.every((h) => h.every(Number.isFinite));
  const weightNote = stat.weightBy && !finite ? 'a Log reads its outputs, but the weighted H overflowed float32: plain H' : plan.weightNotes.get(layer.key);
  const weighted = full && stat.weightBy && finite ? { weighted: stat.weighted } : {};
  return { key: layer.key, op: layer.op as LayerHessian['op'], cols: stat.cols * k, h: full ? expandTiled(stat.h, stat.cols, k) : [], mean, rows, ...teacher, ...weighted, ...(weightNote ? { weightNote } : {}) };
}

/**
 * Samples a run of the statistics copy, and whether the first sample runs alone first. Up to 8
 * copies by input size (copiesFor); then as many as fit ROWS_BUDGET, from the rows each statistic
 * gets of one sample: those are counted on the first sample by a light copy that computes only
 * the statistics' row sums (no product), one run for all of them. Every pass then runs the first
 * sample alone and the rest `copies` a run, so each H is the same sum in the same order whatever
 * passes the statistics are split into.
 */
async function copiesOf(model: Model, plan: StatPlan, samples: readonly Sample[], run: RunModel, options: HessianOptions): Promise<{ copies: number; firstAlone: boolean }> {
  const copies = copiesFor(model, samples, options.copies);
  if (options.copies !== undefined || copies <= 1) return { copies, firstAlone: false };
  const probes = new Map<Stat, Stat>();
  const probeConvs = new Map<Stat, Node>();
  for (const s of plan.stats) {
    const { partner: _p, weightBy: _w, ...base } = s;
    const p: Stat = { ...base, full: false, h: [], sum: Array.from({ length: s.groups }, () => new Float64Array(s.cols)), rows: 0, cross: [], partnerSum: [], weighted: [], outputs: { sum: '', shapes: [], rowsAxes: [] } };
    probes.set(s, p);
    const conv = plan.convs.get(s);
    if (conv) probeConvs.set(p, conv);
  }
  await runStatistics(model, [...probes.values()], probeConvs, 1, samples.slice(0, 1), run, { ...(options.signal ? { signal: options.signal } : {}) });
  const rowsOf = (s: Stat) => (probes.get(s) as Stat).rows;
  countRows(plan, rowsOf);
  return { copies: copiesForRows(plan, samples, copies, rowsOf), firstAlone: true };
}

/** Sets each Conv statistic's `joined` from its rows of one sample. */
function countRows(plan: StatPlan, rowsOf: (s: Stat) => number): void {
  for (const s of plan.stats) if (s.op === 'Conv') s.joined = rowsOf(s) < s.cols;
}

/** Copies a run that fit ROWS_BUDGET, from each statistic's rows of one sample (`asked`: copiesFor's). */
function copiesForRows(plan: StatPlan, samples: readonly Sample[], asked: number, rowsOf: (s: Stat) => number): number {
  // (a weighted statistic holds its rows once per output channel, twice: B and its transpose)
  const perSample = plan.stats.reduce((n, s) => {
    const rows = rowsOf(s);
    return n + s.groups * s.cols * rows * 4 * (s.partner ? 2 : 1) + (s.weightBy ? (2 * s.outs * s.cols * rows * 4) / 3 : 0);
  }, 0);
  return Math.max(1, Math.min(asked, samples.length - 1, Math.floor(ROWS_BUDGET / Math.max(1, 3 * perSample))));
}

/**
 * The copies a run for a pass that holds every statistic: counted on its own first sample (run
 * alone, as every pass's is), without the row-counting run copiesOf needs when the statistics are
 * split into passes. The same copies as copiesOf's, so the same sums.
 */
async function copiesInPass(model: Model, plan: StatPlan, samples: readonly Sample[], run: RunModel, options: HessianOptions): Promise<{ copies: number; firstAlone: boolean }> {
  for (const s of plan.stats) allocate(s);
  const copies = copiesFor(model, samples, options.copies);
  if (options.copies !== undefined || copies <= 1) return { copies, firstAlone: false };
  await runStatistics(model, plan.stats, plan.convs, 1, samples.slice(0, 1), run, { ...options, onProgress: (done) => options.onProgress?.(done, samples.length) });
  countRows(plan, (s) => s.rows);
  return { copies: copiesForRows(plan, samples, copies, (s) => s.rows), firstAlone: true };
}

/** Runs one pass over the samples for `pass` (its sums start at zero), then mirrors its H. */
async function collectPass(
  model: Model,
  plan: StatPlan,
  pass: readonly Stat[],
  given: { copies: number; firstAlone: boolean } | undefined,
  samples: readonly Sample[],
  run: RunModel,
  options: HessianOptions,
): Promise<{ copies: number; firstAlone: boolean }> {
  let rest = samples;
  let how = given;
  if (!how) {
    // the pass holds every statistic: its first sample counts the rows (copiesInPass)
    how = await copiesInPass(model, plan, samples, run, options);
    if (how.firstAlone) rest = samples.slice(1);
  } else {
    for (const s of pass) allocate(s);
    if (how.firstAlone) {
      await runStatistics(model, pass, plan.convs, 1, samples.slice(0, 1), run, { ...options, onProgress: (done) => options.onProgress?.(done, samples.length) });
      rest = samples.slice(1);
    }
  }
  const first = samples.length - rest.length;
  const after = { ...options, onProgress: (done: number) => options.onProgress?.(first + done, samples.length) };
  const before = pass.map((s) => s.rows);
  try {
    await runStatistics(model, pass, plan.convs, how.copies, rest, run, after);
  } catch (e) {
    // a repeated graph may not fit or run where one copy does: once more a sample at a time
    const fresh = pass.every((s, i) => s.rows === before[i]);
    if (how.copies === 1 || !fresh || (isAppError(e) && e.code === 'aborted')) throw e;
    await runStatistics(model, pass, plan.convs, 1, rest, run, after);
  }
  for (const s of pass) symmetrize(s);
  return how;
}

/**
 * H of every layer in `layers` (those `recoverable` accepts with a float32 weight; others are
 * skipped) on the samples, keyed by layer key, all held at once (Explore, sequential rounds,
 * tests; compression streams them: hessianSource). `shapes` gives each layer's weight shape as
 * the layer reads it.
 */
export async function collectHessians(model: Model, layers: readonly HessianLayer[], samples: readonly Sample[], run: RunModel, options: HessianOptions = {}): Promise<Map<string, LayerHessian>> {
  const plan = planStats(model, layers, samples, options);
  const out = new Map<string, LayerHessian>();
  if (plan.wanted.length === 0) return out;
  const passes = passesFor(plan.stats, options.statsBudget ?? STATS_BUDGET);
  const how = passes.length === 1 ? undefined : await copiesOf(model, plan, samples, run, options);
  for (const [p, pass] of passes.entries()) {
    const progress = (done: number) => options.onProgress?.(Math.floor((p * samples.length + done) / passes.length), samples.length);
    await collectPass(model, plan, pass, how, samples, run, { ...options, onProgress: progress });
  }
  for (const w of plan.wanted) {
    const h = hessianOf(plan, w);
    if (h) out.set(w.layer.key, h);
  }
  return out;
}

/**
 * What compression takes H from, a layer at a time (CompressOptions.recoverySource): `plan` says
 * which layers will ask and in what order, `take` gives a layer's H (running its statistics' pass
 * over the samples first when not done yet), `release` says the layer is done with it (hessianSource
 * hands the cols² arrays back then, once no layer reads the statistic: a LayerHessian taken before
 * reads them empty after).
 */
export interface HessianSource {
  /** layers with statistics (0: nothing to recover) */
  readonly count: number;
  plan(keys: readonly string[]): void;
  take(key: string): Promise<LayerHessian | undefined>;
  release(key: string): void;
}

export interface StreamOptions extends HessianOptions {
  /** a pass (0-based, of `passes`) runs over the samples: `done` of `total` */
  onPass?: (pass: number, passes: number, done: number, total: number) => void;
}

/**
 * H streamed to compression instead of all held at once: the statistics go in passes of at most
 * STATS_BUDGET float32 outputs, in the order compression asks for them (`plan`); a pass runs when
 * its first layer is taken, and a statistic's cols² arrays go once every layer reading it is
 * released. So at most about one pass of H lives at a time (resnet18: the largest pass, not all
 * 704 MiB). Each H is the same sum as collectHessians' (copiesOf): the bytes do not change.
 */
export function hessianSource(model: Model, layers: readonly HessianLayer[], samples: readonly Sample[], run: RunModel, options: StreamOptions = {}): HessianSource {
  const plan = planStats(model, layers, samples, options);
  const byKey = new Map(plan.wanted.map((w) => [w.layer.key, w]));
  const ordered = new Set(layers.filter((l) => l.actOrder).map((l) => l.layer.key));
  let passes: Stat[][] | undefined;
  const passOf = new Map<Stat, number>();
  const collected = new Set<number>();
  const readers = new Map<Stat, Set<string>>();
  // the copies a run, once counted (take is awaited before the next: never two passes at once)
  let how: { copies: number; firstAlone: boolean } | undefined;
  let ran = 0;
  let runnable = 0;
  const planPasses = (keys: readonly string[]) => {
    // the statistics in the order of their first reader; those nobody asks for last (run only if taken)
    const first = new Map<Stat, number>();
    keys.forEach((k, i) => {
      const w = byKey.get(k);
      if (!w) return;
      if (!first.has(w.stat)) first.set(w.stat, i);
      const r = readers.get(w.stat) ?? new Set<string>();
      r.add(k);
      readers.set(w.stat, r);
    });
    const ordered = [...plan.stats].sort((a, b) => (first.get(a) ?? Infinity) - (first.get(b) ?? Infinity));
    passes = passesFor(ordered, options.statsBudget ?? STATS_BUDGET);
    passes.forEach((pass, p) => pass.forEach((s) => passOf.set(s, p)));
    runnable = passes.filter((pass) => pass.some((s) => readers.has(s))).length;
  };
  return {
    count: plan.wanted.length,
    plan: planPasses,
    async take(key) {
      const w = byKey.get(key);
      if (!w) return undefined;
      if (!passes) planPasses(plan.wanted.map((x) => x.layer.key));
      const p = passOf.get(w.stat) as number;
      if (!collected.has(p)) {
        const pass = (passes as Stat[][])[p];
        const index = ran++;
        const total = Math.max(index + 1, runnable);
        // said from its start (the first pass first counts the rows: a run of its own)
        options.onPass?.(index, total, 0, samples.length);
        // one pass for every statistic: its own first sample counts the rows; else a run counts them first
        if (!how && pass.length < plan.stats.length) how = await copiesOf(model, plan, samples, run, options);
        how = await collectPass(model, plan, pass, how, samples, run, { ...options, onProgress: (done, all) => options.onPass?.(index, total, done, all) });
        collected.add(p);
      }
      const h = hessianOf(plan, w);
      // where the runtime's MatMul is native: GPTQ's factor of wide layers through it
      if (h && run.nativeProducts) await prepareFactors(h.h, h.cols, run, undefined, false, ordered.has(key));
      return h;
    },
    release(key) {
      const w = byKey.get(key);
      const r = w && readers.get(w.stat);
      if (!w || !r) return;
      r.delete(key);
      if (r.size > 0) return;
      freeStat(w.stat);
      readers.delete(w.stat);
      // every statistic of the pass gone: a later take runs it again
      const p = passOf.get(w.stat) as number;
      const pass = (passes as Stat[][])[p];
      if (pass.every((s) => !readers.has(s))) {
        for (const s of pass) freeStat(s);
        collected.delete(p);
      }
    },
  };
}
