/**
 * onnxruntime-node glue for the int8-activation tests and benchmarks: a RunModel for
 * collectCalibration (one session per model bytes object), feeds, and op counting. (Reading the
 * graph onnxruntime really runs needs a file: see optimizedOps in the tests and scripts.)
 */
import * as ort from 'onnxruntime-node';
import type { Node } from '../../../onnx/types';
import type { RunModel, Sample } from '../calibrate';

const ORT_TYPES: Record<string, ort.Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  int8: 'int8',
  uint8: 'uint8',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
};

export function toOrtFeeds(sample: Sample): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(sample)) {
    const type = ORT_TYPES[t.dtype];
    if (!type) throw new Error(`no onnxruntime type for ${t.dtype}`);
    feeds[name] = new ort.Tensor(type, t.data as ort.Tensor.DataType, t.dims);
  }
  return feeds;
}

/** A RunModel over onnxruntime-node: one session per bytes object, single-threaded by default. */
export function ortRunModel(options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 }): RunModel {
  const sessions = new WeakMap<Uint8Array, Promise<ort.InferenceSession>>();
  return async (bytes, sample) => {
    let s = sessions.get(bytes);
    if (!s) sessions.set(bytes, (s = ort.InferenceSession.create(bytes, options)));
    const out = await (await s).run(toOrtFeeds(sample));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
  };
}

/** Op types of a node list and its subgraphs, domain-qualified when not ai.onnx. */
export function opTypes(nodes: readonly Node[]): string[] {
  const ops: string[] = [];
  const walk = (ns: readonly Node[]) => {
    for (const n of ns) {
      ops.push(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : (n.opType ?? ''));
      for (const a of n.attributes) if (a.g) walk(a.g.nodes);
    }
  };
  walk(nodes);
  return ops;
}

/** How many times each op type occurs. */
export function opCounts(ops: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const op of ops) out[op] = (out[op] ?? 0) + 1;
  return out;
}
