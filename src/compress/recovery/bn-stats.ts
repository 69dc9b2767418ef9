/**
 * Bias correction without data (Nagel et al., 2019, "Data-Free Quantization", its bias
 * correction): where a BatchNormalization feeds a recovered layer, its statistics say what the
 * layer's input averages to. BatchNorm's output channel c is taken as N(β_c, γ_c²) (its running
 * statistics normalize the data it was trained on), and the activation between them as:
 *   - none (Identity): E = β;
 *   - Relu: E[max(0, y)] = β·Φ(β/γ) + γ·φ(β/γ);
 *   - Clip(lo, hi) with constant bounds (Relu6): lo + E[relu(y − lo)] − E[relu(y − hi)].
 * The mean input row (Conv: channel c's mean at each of its kernel positions; the zeros of the
 * padding are not counted) is then what bias correction uses (step.ts biasDelta): the layer's mean
 * output moves back by (W − Ŵ)·x̄. Only means, no H: GPTQ needs real inputs.
 *
 * Most exports fold BatchNorm into the Conv before it (torch.onnx in eval mode does), which leaves
 * no statistics to read: those layers keep round to nearest, and the note says so.
 */
import { attrFloat, attrInt } from '../../onnx/attributes';
import type { Layer } from '../../onnx/layers';
import { modelGraphs } from '../../onnx/names';
import { tensorFloats } from '../../onnx/tensor';
import type { Model, Node } from '../../onnx/types';
import { constScope } from '../graph-edit';
import { recoverable, weightMatrix, type LayerHessian } from './hessian';

/** E[max(0, y)] for y ~ N(mu, sigma²). */
export function reluMean(mu: number, sigma: number): number {
  if (!(sigma > 0)) return Math.max(0, mu);
  const z = mu / sigma;
  return mu * normalCdf(z) + sigma * Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Φ(z) through erf (Abramowitz and Stegun 7.1.26; absolute error under 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * Mean-only statistics (`LayerHessian` with no H, rows 0) for the layers whose input a
 * BatchNormalization gives, through at most an Identity, Relu or Clip with constant bounds; the
 * keys of those it could not read.
 */
export function batchNormMeans(model: Model, layers: readonly { layer: Layer; shape: readonly number[] }[]): { means: Map<string, LayerHessian>; missing: string[] } {
  const means = new Map<string, LayerHessian>();
  const missing: string[] = [];
  const main = modelGraphs(model).find((r) => r.kind === 'main');
  if (!main) return { means, missing: layers.map((l) => l.layer.key) };
  const consts = constScope(main);
  const producer = new Map<string, Node>();
  for (const n of main.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const floats = (name: string | undefined) => {
    const t = name ? consts.lookup(name) : undefined;
    return t ? tensorFloats(t) : undefined;
  };
  for (const { layer, shape } of layers) {
    const r = recoverable(layer);
    // (W·X reads its channels along X's second last axis, not a BatchNormalization's axis 1)
    const input = r && !r.swap ? r.input : undefined;
    const m = weightMatrix(layer, shape);
    const perChannel = input && m ? channelMeans(input, producer, floats) : undefined;
    if (!perChannel || !m) {
      missing.push(layer.key);
      continue;
    }
    const groups = layer.op === 'Conv' ? attrInt(layer.node, 'group', 1) : 1;
    const k = layer.op === 'Conv' ? shape.slice(2).reduce((p, d) => p * d, 1) : 1;
    const perGroup = m.cols / k;
    if (!Number.isInteger(perGroup) || perChannel.length !== perGroup * groups) {
      missing.push(layer.key);
      continue;
    }
    const mean = Array.from({ length: groups }, (_, g) => {
      const row = new Float64Array(m.cols);
      for (let c = 0; c < perGroup; c++) row.fill(perChannel[g * perGroup + c], c * k, (c + 1) * k);
      return row;
    });
    means.set(layer.key, { key: layer.key, op: layer.op as LayerHessian['op'], cols: m.cols, h: [], mean, rows: 0 });
  }
  return { means, missing };
}

/** Per channel, the mean of `name` where it is BatchNorm's output through at most one activation; undefined otherwise. */
function channelMeans(name: string, producer: Map<string, Node>, floats: (name: string | undefined) => Float32Array | undefined): Float64Array | undefined {
  let n = producer.get(name);
  while (n?.opType === 'Identity') n = producer.get(n.inputs[0] ?? '');
  let act: ((mu: number, sigma: number) => number) | undefined;
  if (n?.opType === 'Relu') act = reluMean;
  else if (n?.opType === 'Clip') {
    // Clip-11+: optional bound inputs ('' or absent: none); Clip-1/6: attributes
    const bound = (i: number, attr: string, none: number) => {
      if (n?.inputs.length === 1 && !n.attributes.some((x) => x.name === attr)) return none;
      if (n && n.inputs.length > 1) return n.inputs[i] ? floats(n.inputs[i])?.[0] : none;
      return n ? attrFloat(n, attr, none) : undefined;
    };
    const lo = bound(1, 'min', -Infinity);
    const hi = bound(2, 'max', Infinity);
    if (lo === undefined || hi === undefined) return undefined;
    act = (mu, sigma) => (Number.isFinite(lo) ? lo + reluMean(mu - lo, sigma) : mu) - (Number.isFinite(hi) ? reluMean(mu - hi, sigma) : 0);
  }
  if (act) {
    n = producer.get(n?.inputs[0] ?? '');
    while (n?.opType === 'Identity') n = producer.get(n.inputs[0] ?? '');
  }
  if (n?.opType !== 'BatchNormalization' || (n.domain && n.domain !== 'ai.onnx')) return undefined;
  // training-mode outputs (the running statistics as outputs) are not inference BatchNorm
  if (n.outputs.filter((o) => o).length > 1) return undefined;
  const gamma = floats(n.inputs[1]);
  const beta = floats(n.inputs[2]);
  if (!gamma || !beta || gamma.length !== beta.length) return undefined;
  const out = new Float64Array(beta.length);
  for (let c = 0; c < out.length; c++) out[c] = act ? act(beta[c], Math.abs(gamma[c])) : beta[c];
  return out.every(Number.isFinite) ? out : undefined;
}

/**
 * Recovery without samples: the layers asking for recovery "bias" get their input means from
 * BatchNorm statistics (batchNormMeans); gptq and sequential need real inputs. `needsSamples`:
 * some layer asks for gptq or sequential.
 */
export function dataFreeRecovery(model: Model, layers: readonly { layer: Layer; shape: readonly number[]; full: boolean }[]): { means: Map<string, LayerHessian>; note: string; needsSamples: boolean } {
  const bias = layers.filter((l) => !l.full);
  const { means, missing } = batchNormMeans(model, bias);
  const needsSamples = layers.some((l) => l.full);
  const note =
    bias.length === 0
      ? ''
      : `recovery bias without samples: ${means.size} of ${bias.length} layer${bias.length === 1 ? '' : 's'} corrected from the BatchNorm statistics before ${means.size === 1 ? 'it' : 'them'} (data-free)${missing.length > 0 ? `; ${missing.length} read${missing.length === 1 ? 's' : ''} no BatchNorm output (none before it, or one folded into the Conv before it, as most exports do): round to nearest kept` : ''}`;
  return { means, note, needsSamples };
}
