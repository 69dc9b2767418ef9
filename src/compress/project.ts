/**
 * Projected size: what a recipe would make of a model's stored weights, computed from the
 * layer list alone (element counts, dtypes, shapes and axes), without reading or compressing a
 * single value. Fast enough to rerun on every edit (linear in the number of layer weights).
 *
 * Per weight input (role 'weight') of a layer, as the compressor stores it (compress.ts):
 *   fp32   its stored bytes (unchanged)
 *   fp16   2 bytes per value (unchanged when it already is float16)
 *   int8   1 byte per value + a float32 scale per group (+ a 1-byte zero point per group when asymmetric)
 *   int4   half a byte per value + a float32 scale per group (+ half a byte of zero point when asymmetric)
 * groups: per-tensor 1; per-channel one per output channel; block one per `blockSize` run along
 * the reduction axis (rows x ceil(length / blockSize)). The target decides the storage: portable
 * (also wasm) pads block codes to whole blocks and stores a byte per zero point; webgpu uses
 * DequantizeLinear (int4 zero points packed) or, for int4 blocks of a MatMul's B, MatMulNBits
 * (padded blocks, zero points packed per row).
 * Pruning:
 *   magnitude  zeros are stored like any value: the stored size does not shrink. The `zip`
 *              estimate counts what a compressor (zip, gzip, brotli) would make of them: the
 *              non-zero part of the bytes plus about H(p) bits per value to say where the zeros
 *              are (H = binary entropy); everything else is counted at its stored size.
 *   channel    removes round(p x channels) output channels: the weight and its bias shrink.
 *              (The inputs of the layers that consume it shrink too; that is not counted here.)
 * Biases, normalization parameters and tensors outside layers are counted unchanged, except under
 * float16 compute (target webgpu, fp16 default weights), which halves their float32 ones. The small
 * constants of the decode chains (scalars, Reshape shapes, Slice bounds: tens of bytes a layer)
 * are left out.
 * A weight that the compressor would refuse (no output-channel axis for per-channel, not a float
 * tensor, ...) is counted unchanged and listed in `unsupported` with the reason.
 * A tensor shared by several layers is counted once, under the first layer that uses it; so is
 * a duplicate initializer (the same bytes, or a 2-D table's transpose) that clean-up's "share
 * identical initializers" stores once, unless that pass is off.
 */
import type { Layer } from '../onnx/layers';
import { duplicateAliases } from '../onnx/duplicates';
import { modelGraphs } from '../onnx/names';
import type { Model, Tensor } from '../onnx/types';
import { DataType } from '../onnx/types';
import { tensorByteLength } from '../onnx/tensor';
import { constScope, graphRecordsByPath } from './graph-edit';
import { fp16ComputeBytes, fp16WeightBytes } from './fp16/project';
import { channelPrunedSize, keptChannels } from './prune/project';
import { quantizedBytes } from './quantize/project';
import type { LayerSettings, Target, WeightMode } from './recipe';
import type { ProjectionWeight } from './types';
import { VALUE_STEPS } from './value-steps';
import { effectiveWeight, FLOAT_TYPES, weightAxes } from './weights';

export type { ProjectionWeight } from './types';

export interface ProjectionLayer {
  key: string;
  op: string;
  weights: ProjectionWeight[];
}

export interface ProjectionInput {
  /** stored bytes of every tensor of the model (the summary's weightBytes) */
  totalBytes: number;
  layers: ProjectionLayer[];
  /** stored bytes of the float32 tensors among them (float16 compute halves those outside the layers too) */
  float32Bytes?: number;
  /** stored bytes of the initializers clean-up finds duplicated (exactly or transposed) and stores once */
  duplicateBytes?: number;
}

export interface SizeShare {
  /** layers with this setting */
  layers: number;
  /** their weights' stored bytes now and projected */
  before: number;
  after: number;
}

export interface LayerProjection {
  key: string;
  before: number;
  after: number;
  zip: number;
}

export interface SizeProjection {
  /** stored bytes of every tensor now */
  before: number;
  /** projected stored bytes */
  after: number;
  /** estimated download size of the tensors after zip-like compression (see the file comment) */
  zip: number;
  /** bytes outside the layers' weight inputs (biases, norms, non-layer tensors), before the recipe */
  other: number;
  /** layer weight bytes, by the layer's `weights` setting */
  byWeights: Record<WeightMode, SizeShare>;
  /** layers with magnitude / channel pruning above 0 */
  pruned: { magnitude: number; channel: number };
  /** weights counted unchanged because the compressor would refuse them (first 20) */
  unsupported: { key: string; reason: string }[];
  unsupportedCount: number;
  /** the projection of one layer, when asked for */
  focus?: LayerProjection;
}

const MODES: readonly WeightMode[] = ['fp32', 'fp16', 'int8', 'int4'];
const MAX_LISTED = 20;

interface WeightOutcome {
  after: number;
  zip: number;
  unsupported?: string;
}

/** Projected bytes of one constant input of a layer; `keptChannels` under channel pruning. Each method answers for its part. */
export function projectWeight(w: ProjectionWeight, s: LayerSettings, op: string, target: Target = 'portable', keptChannels?: number, fp16Compute = false): WeightOutcome {
  // Channel pruning shrinks everything laid out along the output channels (the weight, its bias).
  const { elements, bytes, channels } = channelPrunedSize(w, keptChannels);
  if (w.role !== 'weight') {
    // float16 compute stores the layer's float32 biases and other constants as float16 too
    const half = fp16Compute && s.weights === 'fp16' ? fp16ComputeBytes(bytes, elements) : bytes;
    return { after: half, zip: half };
  }
  if (s.weights === 'fp32' && s.prune === 0) return { after: bytes, zip: bytes };
  if (w.unsupported) return { after: w.bytes, zip: w.bytes, unsupported: w.unsupported };
  let after = bytes;
  if (s.weights === 'fp16') after = fp16WeightBytes(w, bytes, elements);
  else if (s.weights === 'int8' || s.weights === 'int4') {
    const q = quantizedBytes(w, s, op, target, elements, channels);
    if ('unsupported' in q) return { after: w.bytes, zip: w.bytes, unsupported: q.unsupported };
    after = q.after;
  }
  // what the methods' value steps (value-steps.ts: magnitude pruning) make of the download
  return { after, zip: VALUE_STEPS.reduce((zip, step) => step.zip(zip, elements, s), after) };
}

/**
 * The projected size of the model under per-layer settings. `settingsOf(key)` gives a layer's
 * effective settings (recipe defaults merged with its override).
 */
export function projectSize(
  input: ProjectionInput,
  settingsOf: (key: string) => LayerSettings,
  target: Target = 'portable',
  focusKey?: string,
  /** the recipe computes in float16 (recipe.ts fp16Compute) */
  fp16Compute = false,
  /** clean-up shares duplicate initializers (recipe.ts cleanupOptions: on unless the recipe turns it off) */
  shareDuplicates = true,
): SizeProjection {
  const byWeights = Object.fromEntries(MODES.map((m) => [m, { layers: 0, before: 0, after: 0 }])) as Record<WeightMode, SizeShare>;
  /** each stored tensor counted once: whether an encoding of it and the float tensor itself are counted */
  const seen = new Map<string, { encoded: boolean; float: boolean }>();
  let layerBefore = 0;
  let layerAfter = 0;
  let layerZip = 0;
  let otherBefore = 0;
  const pruned = { magnitude: 0, channel: 0 };
  let layerFloat32 = 0;
  const unsupported: { key: string; reason: string }[] = [];
  let unsupportedCount = 0;
  let focus: LayerProjection | undefined;
  for (const layer of input.layers) {
    const s = settingsOf(layer.key);
    const kept = keptChannels(layer, s);
    if (s.prune > 0) pruned[s.pruneMethod]++;
    const share = byWeights[s.weights];
    share.layers++;
    let before = 0;
    let after = 0;
    let zip = 0;
    let weightBefore = 0;
    let weightAfter = 0;
    let reason: string | undefined;
    const changes = s.weights !== 'fp32' || s.prune > 0 || s.activations === 'int8';
    for (const w of layer.weights) {
      const id = (shareDuplicates && w.sameAs) || w.id;
      const first = seen.get(id);
      if (first !== undefined) {
        // a weight several layers read is stored once, in its first changed reader's encoding
        // (compress.ts shareWeights); a reader that leaves it as it is keeps the float tensor too
        if (w.role !== 'weight' || (changes ? first.encoded : first.float)) continue;
        const extra = changes ? projectWeight(w, s, layer.op, target, kept, fp16Compute) : { after: w.bytes, zip: w.bytes };
        after += extra.after;
        zip += extra.zip;
        weightAfter += extra.after;
        if (changes) first.encoded = true;
        else first.float = true;
        continue;
      }
      seen.set(id, { encoded: changes, float: !changes });
      if (w.bytes === w.elements * 4) layerFloat32 += w.bytes;
      const out = projectWeight(w, s, layer.op, target, w.role === 'other' ? undefined : kept, fp16Compute);
      before += w.bytes;
      after += out.after;
      zip += out.zip;
      if (w.role === 'weight') {
        weightBefore += w.bytes;
        weightAfter += out.after;
      } else otherBefore += w.bytes;
      reason ??= out.unsupported;
    }
    if (s.prune > 0 && s.pruneMethod === 'channel' && kept === undefined) {
      reason ??= `channel pruning needs an output-channel axis, and this ${layer.op} has none`;
    }
    if (reason) {
      // the compressor leaves a layer it cannot take exactly as it was
      after = before;
      zip = before;
      weightAfter = weightBefore;
      unsupportedCount++;
      if (unsupported.length < MAX_LISTED) unsupported.push({ key: layer.key, reason });
    }
    share.before += weightBefore;
    share.after += weightAfter;
    layerBefore += before;
    layerAfter += after;
    layerZip += zip;
    if (layer.key === focusKey) focus = { key: layer.key, before, after, zip };
  }
  // Tensors outside the layers (and the layers' biases/others, counted above) stay as they are,
  // except under float16 compute, which stores their float32 ones as float16.
  // (a duplicate clean-up removes is in totalBytes, counted in no layer and written nowhere)
  const outside = Math.max(0, input.totalBytes - (shareDuplicates ? (input.duplicateBytes ?? 0) : 0) - layerBefore);
  const outsideAfter = fp16Compute ? outside - Math.max(0, (input.float32Bytes ?? 0) - layerFloat32) / 2 : outside;
  return {
    before: input.totalBytes,
    after: outsideAfter + layerAfter,
    zip: outsideAfter + layerZip,
    other: outside + otherBefore,
    byWeights,
    pruned,
    unsupported,
    unsupportedCount,
    ...(focus ? { focus } : {}),
  };
}

/** Stored bytes of a layer weight, never throwing. */
function storedBytes(w: Layer['weights'][number]): number {
  try {
    if (w.sparse) {
      return (w.sparse.values ? tensorByteLength(w.sparse.values) : 0) + (w.sparse.indices ? tensorByteLength(w.sparse.indices) : 0);
    }
    return w.tensor ? tensorByteLength(w.tensor) : 0;
  } catch {
    return 0;
  }
}

/**
 * The compact per-layer list the projection runs on, from the model's layers (findLayers).
 * Reads shapes and attributes only, never tensor data.
 */
export function projectionInput(model: Model, layers: readonly Layer[], totalBytes: number): ProjectionInput {
  const records = graphRecordsByPath(model);
  const scopes = new Map<string, ReturnType<typeof constScope>>();
  const scopeOf = (path: string) => {
    let s = scopes.get(path);
    if (!s) {
      const rec = records.get(path);
      s = rec ? constScope(rec) : { lookup: () => undefined };
      scopes.set(path, s);
    }
    return s;
  };
  let float32Bytes = 0;
  for (const rec of modelGraphs(model)) {
    const count = (t: Tensor | undefined) => {
      if (t?.dataType === DataType.FLOAT) {
        try {
          float32Bytes += tensorByteLength(t);
        } catch {
          /* malformed external info: not counted */
        }
      }
    };
    rec.graph?.initializers.forEach(count);
    for (const n of rec.nodes) if (n.opType === 'Constant') n.attributes.forEach((a) => count(a.t));
  }
  const duplicates = duplicateAliases(model);
  return {
    totalBytes,
    float32Bytes,
    ...(duplicates.bytes > 0 ? { duplicateBytes: duplicates.bytes } : {}),
    layers: layers.map((layer) => ({
      key: layer.key,
      op: layer.op,
      weights: layer.weights.map((w): ProjectionWeight => {
        const id = `${w.storedIn}|${w.name}`;
        const sameAs = duplicates.alias.get(id);
        const out: ProjectionWeight = { id, ...(sameAs ? { sameAs } : {}), role: w.role, bytes: storedBytes(w), elements: w.elements };
        let shape = w.shape;
        try {
          const eff = effectiveWeight(w, scopeOf(layer.graphPath), false);
          shape = eff.shape;
          if (eff.dataType === DataType.FLOAT16) out.fp16 = true;
          const plainMatMul = layer.op === 'MatMul' && (!layer.domain || layer.domain === 'ai.onnx');
          if (plainMatMul && w.inputIndex === 1 && shape.length === 2 && eff.dataType === DataType.FLOAT) out.matMulB = true;
          if (shape.some((d) => d === 0)) out.unsupported = `its weight ${w.name} is empty`;
        } catch (e) {
          if (w.role === 'weight') out.unsupported = e instanceof Error ? e.message : String(e);
          if (!FLOAT_TYPES.has(w.dataType)) return out;
        }
        if (w.role === 'weight') {
          const axes = weightAxes(layer, w.inputIndex, shape.length);
          if (axes.channelAxis !== undefined) out.channels = shape[axes.channelAxis];
          if (axes.flattenForBlock) out.blockLen = shape.slice(1).reduce((p, d) => p * d, 1);
          else if (axes.blockAxis !== undefined) out.blockLen = shape[axes.blockAxis];
        } else if (w.role === 'bias' && shape.length === 1) {
          out.channels = shape[0];
        }
        return out;
      }),
    })),
  };
}
