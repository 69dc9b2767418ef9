/**
 * Stored tensors no layer claims: large float initializers and Constant values that reach no
 * layer through findLayers' tracer (a table added to activations, a weight behind an op the
 * tracer does not follow). They are listed as pseudo-layers with op "tensor", keyed by the
 * tensor's name, so a recipe can address them and the layer list shows them; the compressor
 * stores them quantized where they are (a decode right after the stored tensor, every consumer
 * unchanged).
 *
 * What counts: a dense float tensor (float32, float16, bfloat16, double) of the main graph or a
 * control-flow subgraph with at least STORED_TENSOR_MIN_ELEMENTS elements and at least two
 * dimensions longer than 1 (one-dimensional tensors are biases, scales and normalization
 * parameters: small and sensitive), read by at least one node, not a graph output, read by no
 * normalization op, by no node of a layer's weight chain, and not the scale of a decode (e.g.
 * the block scales of an int4 weight this tool wrote: compressing a compressed model leaves
 * them alone).
 */
import { constantValue, findLayers, type Layer, type LayerWeight, type WeightOwner } from './layers';
import { graphPath, modelGraphs, type GraphRecord } from './names';
import { dtypeName, isExternal, isFloatType } from './tensor';
import { DataType, type Model, type Node, type Tensor } from './types';

export const STORED_TENSOR_MIN_ELEMENTS = 1024;

/** The op label of a stored-tensor pseudo-layer. */
export const TENSOR_OP = 'tensor';

export interface TensorLayer {
  /** the recipe key: the tensor's name (with `@<graphPath>` where that name is taken) */
  key: string;
  op: typeof TENSOR_OP;
  domain: '';
  /** the graph that stores it */
  graphPath: string;
  params: number;
  /** the stored tensor, as a weight with no chain (input = its own name) */
  weights: [LayerWeight];
  /** nodes reading it, in all graphs */
  readers: number;
}

/** Ops whose constant inputs are normalization parameters (kept as they are, like biases). */
const NORMALIZATION = new Set([
  'BatchNormalization',
  'LayerNormalization',
  'InstanceNormalization',
  'GroupNormalization',
  'RMSNormalization',
  'SkipLayerNormalization',
  'SimplifiedLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'EmbedLayerNormalization',
]);

const isConstantNode = (n: Node) => n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx');

function bigFloat(t: Tensor): boolean {
  if (!isFloatType(t.dataType)) return false;
  let n = 1;
  let long = 0;
  for (const d of t.dims) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return false;
    n *= d;
    if (d > 1) long++;
  }
  return n >= STORED_TENSOR_MIN_ELEMENTS && long >= 2;
}

const INTEGER_TYPES = new Set<number>([DataType.INT8, DataType.UINT8, DataType.INT4, DataType.UINT4, DataType.INT16, DataType.UINT16, DataType.INT32]);
const DECODE_SEARCH = 64;

/**
 * Whether a tensor is the scale (or zero point) of a decode no layer's tracer follows (e.g. the
 * nibble unpacking of an int4 weight): read by DequantizeLinear, or by a Mul/Sub/Add whose other
 * operand is computed from integer codes through a Cast (searched a bounded number of nodes back).
 */
function decodeScales(records: GraphRecord[]): (name: string) => boolean {
  const producer = new Map<string, Node>();
  const intStored = new Set<string>();
  const readers = new Map<string, Node[]>();
  for (const rec of records) {
    for (const t of rec.graph?.initializers ?? []) if (t.name && INTEGER_TYPES.has(t.dataType ?? 0)) intStored.add(t.name);
    for (const n of rec.nodes) {
      for (const o of n.outputs) if (o) producer.set(o, n);
      if (isConstantNode(n) && n.outputs[0] && INTEGER_TYPES.has(constantValue(n)?.tensor?.dataType ?? 0)) intStored.add(n.outputs[0]);
      for (const i of n.inputs) if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
    }
  }
  const fromCodes = (start: string): boolean => {
    const stack = [start];
    const seen = new Set<string>();
    while (stack.length > 0 && seen.size < DECODE_SEARCH) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      const p = producer.get(x);
      if (!p) continue;
      if (p.opType === 'Cast' && intStored.has(p.inputs[0] ?? '')) return true;
      if (!isConstantNode(p)) for (const i of p.inputs) if (i) stack.push(i);
    }
    return false;
  };
  return (name) =>
    (readers.get(name) ?? []).some((n) => {
      if (n.opType === 'DequantizeLinear' && n.inputs[0] !== name) return true;
      if (n.opType !== 'Mul' && n.opType !== 'Sub' && n.opType !== 'Add') return false;
      return n.inputs.some((i) => i && i !== name && fromCodes(i));
    });
}

/**
 * The model's unclaimed large float tensors, in graph order (main graph first, then subgraphs;
 * initializers before Constant nodes). `layers` defaults to findLayers(model).
 */
export function findStoredTensors(model: Model, layers: readonly Layer[] = findLayers(model)): TensorLayer[] {
  const claimed = new Set<string>();
  /** tensors read by a layer's weight chain (a dequantization scale, Slice bounds): part of that layer */
  const chainInputs = new Set<string>();
  const keys = new Set<string>();
  for (const l of layers) {
    keys.add(l.key);
    for (const w of l.weights) {
      claimed.add(`${w.storedIn}\u0000${w.name}`);
      for (const p of w.parts ?? []) claimed.add(`${p.storedIn}\u0000${p.name}`);
      for (const n of w.viaNodes) for (const i of n.inputs) if (i) chainInputs.add(i);
    }
  }
  const records = modelGraphs(model).filter((r) => (r.kind === 'main' || r.kind === 'subgraph') && r.graph);
  const readers = new Map<string, number>();
  const normalized = new Set<string>();
  const outputs = new Set<string>();
  for (const rec of records) {
    for (const n of rec.nodes) {
      const norm = NORMALIZATION.has(n.opType ?? '');
      for (const i of n.inputs) {
        if (!i) continue;
        readers.set(i, (readers.get(i) ?? 0) + 1);
        if (norm) normalized.add(i);
      }
    }
    for (const v of rec.graph?.outputs ?? []) if (v.name) outputs.add(v.name);
  }
  const decodeScale = decodeScales(records);
  const out: TensorLayer[] = [];
  const add = (name: string, t: Tensor, owner: WeightOwner, path: string, source: LayerWeight['source']) => {
    if (!name || !bigFloat(t) || claimed.has(`${path}\u0000${name}`) || chainInputs.has(name) || decodeScale(name)) return;
    if (!readers.get(name) || normalized.has(name) || outputs.has(name)) return;
    let key = keys.has(name) ? `${name}@${path}` : name;
    for (let k = 2; keys.has(key); k++) key = `${name}@${path}#${k}`;
    keys.add(key);
    const elements = t.dims.reduce((p, d) => p * d, 1);
    out.push({
      key,
      op: TENSOR_OP,
      domain: '',
      graphPath: path,
      params: elements,
      readers: readers.get(name) ?? 0,
      weights: [
        {
          name,
          dtype: dtypeName(t.dataType),
          dataType: t.dataType ?? 0,
          shape: t.dims.slice(),
          elements,
          source,
          tensor: t,
          owner,
          storedIn: path,
          input: name,
          inputIndex: 0,
          role: 'weight',
          via: [],
          viaNodes: [],
        },
      ],
    });
  };
  for (const rec of records) {
    const graph = rec.graph!;
    const path = graphPath(rec);
    graph.initializers.forEach((t, index) => add(t.name ?? '', t, { kind: 'initializer', graph, index }, path, isExternal(t) ? 'external' : 'initializer'));
    for (const n of rec.nodes) {
      if (!isConstantNode(n)) continue;
      const c = constantValue(n);
      if (c?.tensor && c.attribute === 'value') add(n.outputs[0] ?? '', c.tensor, { kind: 'constant', node: n, attribute: 'value' }, path, isExternal(c.tensor) ? 'external' : 'constant');
    }
  }
  return out;
}

/** Every key a recipe may name: the layers, then the stored tensors (key and op of each). */
export function recipeLayers(model: Model): { key: string; op: string }[] {
  const layers = findLayers(model);
  return [...layers, ...findStoredTensors(model, layers)].map((l) => ({ key: l.key, op: l.op }));
}
