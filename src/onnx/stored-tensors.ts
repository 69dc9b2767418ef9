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
 * parameters: small and sensitive), read by at least one node, not a graph output, and read by
 * no normalization op.
 */
import { constantValue, findLayers, type Layer, type LayerWeight, type WeightOwner } from './layers';
import { graphPath, modelGraphs } from './names';
import { dtypeName, isExternal, isFloatType } from './tensor';
import type { Model, Node, Tensor } from './types';

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

/**
 * The model's unclaimed large float tensors, in graph order (main graph first, then subgraphs;
 * initializers before Constant nodes). `layers` defaults to findLayers(model).
 */
export function findStoredTensors(model: Model, layers: readonly Layer[] = findLayers(model)): TensorLayer[] {
  const claimed = new Set<string>();
  const keys = new Set<string>();
  for (const l of layers) {
    keys.add(l.key);
    for (const w of l.weights) {
      claimed.add(`${w.storedIn}\u0000${w.name}`);
      for (const p of w.parts ?? []) claimed.add(`${p.storedIn}\u0000${p.name}`);
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
  const out: TensorLayer[] = [];
  const add = (name: string, t: Tensor, owner: WeightOwner, path: string, source: LayerWeight['source']) => {
    if (!name || !bigFloat(t) || claimed.has(`${path}\u0000${name}`)) return;
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
