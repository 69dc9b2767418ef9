/**
 * What GPTQ needs of each layer: H = XᵀX of its real inputs on the calibration samples (Conv:
 * the im2col patches, one H per group), streamed one sample at a time through a calibration copy
 * of the model that outputs every recovered layer's input. The inputs come from the original
 * model (one pass), not from the compressed prefix: errors of earlier layers are not seen by later
 * ones (docs/RECIPE-NOTES.md, "Recovery").
 *
 * Rows are subsampled evenly to at most `maxRows` per layer (patches of a large feature map are
 * many and alike); memory is one cols×cols float64 matrix per layer and group.
 */
import { AppError, throwIfAborted } from '../../core/errors';
import { encodeModel } from '../../onnx/codec';
import type { Layer } from '../../onnx/layers';
import { attrInt, attrInts } from '../../onnx/attributes';
import type { Model } from '../../onnx/types';
import { calibrationModel, type RunModel, type Sample } from '../activations/calibrate';
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
  /** most input rows (tokens, patches) per layer, over all samples (default 4096) */
  maxRows?: number;
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

interface Acc {
  layer: Layer;
  input: string;
  h: Float64Array[];
  sum: Float64Array[];
  /** accumulate H (gptq) or only the sums (bias correction) */
  full: boolean;
  cols: number;
  rows: number;
}

function addRow(acc: Acc, g: number, x: Float64Array, n: number): void {
  const sum = acc.sum[g];
  for (let i = 0; i < n; i++) sum[i] += x[i];
  if (!acc.full) return;
  const h = acc.h[g];
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const o = i * n;
    for (let j = i; j < n; j++) h[o + j] += xi * x[j];
  }
}

/** Every `step`-th of `total` positions (at most `want`), evenly spread. */
function picks(total: number, want: number): number[] {
  if (want >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: want }, (_, k) => Math.floor(((k + 0.5) * total) / want));
}

function addMatMul(acc: Acc, data: Float32Array, want: number): void {
  const k = acc.cols;
  const count = Math.floor(data.length / k);
  const x = new Float64Array(k);
  for (const r of picks(count, want)) {
    for (let i = 0; i < k; i++) x[i] = data[r * k + i];
    addRow(acc, 0, x, k);
    acc.rows++;
  }
}

function addConv(acc: Acc, data: Float32Array, dims: readonly number[], want: number, kernel: number[]): void {
  const n = acc.layer.node;
  const two = dims.length === 4;
  const [N, C, H, W] = two ? dims : [dims[0], dims[1], 1, dims[2]];
  const [kh, kw] = two ? kernel : [1, kernel[0]];
  const groups = attrInt(n, 'group', 1);
  const cg = C / groups;
  const s = attrInts(n, 'strides') ?? (two ? [1, 1] : [1]);
  const d = attrInts(n, 'dilations') ?? (two ? [1, 1] : [1]);
  const p = attrInts(n, 'pads') ?? (two ? [0, 0, 0, 0] : [0, 0]);
  const [sh, sw] = two ? s : [1, s[0]];
  const [dh, dw] = two ? d : [1, d[0]];
  const [pt, pl] = two ? [p[0], p[1]] : [0, p[0]];
  const [pb, pr] = two ? [p[2], p[3]] : [0, p[1]];
  const oh = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  if (oh < 1 || ow < 1) return;
  const cols = cg * kh * kw;
  const x = new Float64Array(cols);
  for (const pos of picks(N * oh * ow, want)) {
    const b = Math.floor(pos / (oh * ow));
    const y0 = Math.floor(pos / ow) % oh;
    const x0 = pos % ow;
    for (let g = 0; g < groups; g++) {
      let at = 0;
      for (let c = 0; c < cg; c++) {
        const plane = (b * C + g * cg + c) * H * W;
        for (let ky = 0; ky < kh; ky++) {
          const yy = y0 * sh - pt + ky * dh;
          for (let kx = 0; kx < kw; kx++) {
            const xx = x0 * sw - pl + kx * dw;
            x[at++] = yy >= 0 && yy < H && xx >= 0 && xx < W ? data[plane + yy * W + xx] : 0;
          }
        }
      }
      addRow(acc, g, x, cols);
    }
    acc.rows++;
  }
}

/**
 * H of every layer in `layers` (those `recoverable` accepts; others are skipped) on the samples,
 * keyed by layer key. `shapes` gives each layer's weight shape as the layer reads it.
 */
export async function collectHessians(
  model: Model,
  layers: readonly { layer: Layer; shape: readonly number[]; /** false: means only (bias correction without gptq) */ full?: boolean }[],
  samples: readonly Sample[],
  run: RunModel,
  options: HessianOptions = {},
): Promise<Map<string, LayerHessian>> {
  if (samples.length === 0) throw new AppError('invalid-argument', 'recovery needs calibration samples');
  const accs: Acc[] = [];
  for (const { layer, shape, full = true } of layers) {
    const r = recoverable(layer);
    const m = r && weightMatrix(layer, shape);
    if (!r || !m) continue;
    const groups = layer.op === 'Conv' ? attrInt(layer.node, 'group', 1) : 1;
    const h = Array.from({ length: groups }, () => new Float64Array(full ? m.cols * m.cols : 0));
    accs.push({ layer, input: r.input, cols: m.cols, rows: 0, full, h, sum: Array.from({ length: groups }, () => new Float64Array(m.cols)) });
  }
  const out = new Map<string, LayerHessian>();
  if (accs.length === 0) return out;
  const inputs = new Set((model.graph?.inputs ?? []).map((v) => v.name));
  const bytes = encodeModel(calibrationModel(model, [...new Set(accs.map((a) => a.input))].filter((t) => !inputs.has(t))));
  const want = Math.max(1, Math.ceil((options.maxRows ?? 4096) / samples.length));
  for (let s = 0; s < samples.length; s++) {
    throwIfAborted(options.signal);
    const got = await run(bytes, samples[s]);
    for (const a of accs) {
      const t = got[a.input] ?? (samples[s][a.input] ? { dims: samples[s][a.input].dims, data: samples[s][a.input].data } : undefined);
      if (!t || !(t.data instanceof Float32Array)) continue;
      const dims = t.dims ?? [];
      if (a.layer.op === 'Conv') {
        const w = a.layer.weights.find((v) => v.inputIndex === 1);
        const kernel = attrInts(a.layer.node, 'kernel_shape') ?? (w?.shape ?? []).slice(2);
        addConv(a, t.data, dims, want, kernel);
      } else addMatMul(a, t.data, want);
    }
    options.onProgress?.(s + 1, samples.length);
  }
  for (const a of accs) {
    if (a.rows === 0) continue;
    if (a.full) for (const h of a.h) for (let i = 0; i < a.cols; i++) for (let j = i + 1; j < a.cols; j++) h[j * a.cols + i] = h[i * a.cols + j];
    const mean = a.sum.map((s) => s.map((v) => v / a.rows));
    out.set(a.layer.key, { key: a.layer.key, op: a.layer.op as LayerHessian['op'], cols: a.cols, h: a.full ? a.h : [], mean, rows: a.rows });
  }
  return out;
}
