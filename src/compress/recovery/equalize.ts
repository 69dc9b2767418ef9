/**
 * Cross-layer equalization (recipe key `equalize`; Nagel et al., 2019, "Data-Free Quantization
 * Through Weight Equalization and Bias Correction"): in a chain Conv A → ReLU → Conv B, output
 * channel c of A can be scaled by 1/s_c and input channel c of B by s_c without changing what the
 * model computes, because ReLU(x / s) = ReLU(x) / s for s > 0. With s_c = √(r1_c / r2_c) (r1_c: the
 * largest |weight| of A's channel c, r2_c: of B's input channel c) both ranges become √(r1_c·r2_c):
 * a depthwise or per-tensor grid no longer spends its steps on one wide channel. Data-free; the
 * float model's outputs are unchanged (to float rounding) and the file keeps its size.
 *
 * Applied where A asks for it (`equalize: true`), after clean-up (BatchNormalization folded into
 * A) and before anything else: A's and B's weights are float32 constants of the main graph, A's
 * output is read only by the ReLU and the ReLU's only by B (neither a graph output), B has group 1
 * or is depthwise over A's channels. Relu and LeakyRelu qualify (both positively homogeneous);
 * Clip, ReLU6, Sigmoid, HardSwish do not. Two sweeps over the chain let a layer between two pairs
 * settle.
 */
import { attrInt } from '../../onnx/attributes';
import { modelGraphs, type GraphRecord } from '../../onnx/names';
import { tensorFloats } from '../../onnx/tensor';
import { DataType, type ExternalDataResolver, type Model, type Node } from '../../onnx/types';
import { bytesOf } from '../emit';
import type { NameAllocator } from '../graph-edit';
import { ConstEditor } from '../cleanup/graph-scope';

const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu']);

export interface EqualizeResult {
  /** "A → B" for each pair equalized */
  pairs: string[];
}

interface Pair {
  a: Node;
  b: Node;
  /** B's output channels per input channel (depthwise with a multiplier), 0 for group 1 */
  depthwise: number;
}

function consumersOf(rec: GraphRecord): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  for (const n of rec.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      let list = out.get(i);
      if (!list) out.set(i, (list = []));
      list.push(n);
    }
  }
  return out;
}

/** The Conv → Relu → Conv pairs of the main graph whose first Conv `wants` equalization. */
function findPairs(rec: GraphRecord, ed: ConstEditor, wants: (a: Node) => boolean): Pair[] {
  const graph = rec.graph;
  if (!graph) return [];
  const outputs = new Set(graph.outputs.map((v) => v.name));
  const readers = consumersOf(rec);
  const floatConst = (name: string | undefined) => {
    const ref = name ? ed.consts.lookup(rec, name) : undefined;
    return ref && ref.tensor.dataType === DataType.FLOAT ? ref : undefined;
  };
  const pairs: Pair[] = [];
  for (const a of rec.nodes) {
    if (a.opType !== 'Conv' || (a.domain && a.domain !== 'ai.onnx') || !wants(a)) continue;
    const y = a.outputs[0];
    const r = y ? readers.get(y) : undefined;
    if (!y || outputs.has(y) || !r || r.length !== 1 || !HOMOGENEOUS.has(r[0].opType ?? '')) continue;
    const z = r[0].outputs[0];
    const bs = z ? readers.get(z) : undefined;
    if (!z || outputs.has(z) || !bs || bs.length !== 1 || bs[0].opType !== 'Conv' || bs[0].inputs[0] !== z) continue;
    const b = bs[0];
    const w1 = floatConst(a.inputs[1]);
    const w2 = floatConst(b.inputs[1]);
    if (!w1 || !w2 || (a.inputs[2] && !floatConst(a.inputs[2]))) continue;
    const C = w1.tensor.dims[0];
    const g = attrInt(b, 'group', 1);
    let depthwise = 0;
    if (g === 1) {
      if (w2.tensor.dims[1] !== C) continue;
    } else if (g === C && w2.tensor.dims[1] === 1 && w2.tensor.dims[0] % C === 0) depthwise = w2.tensor.dims[0] / C;
    else continue;
    pairs.push({ a, b, depthwise });
  }
  return pairs;
}

/** Equalizes every pair whose first Conv `wants` it (see the file comment); the model is changed in place. */
export function equalizeModel(model: Model, wants: (node: Node) => boolean, options: { names: NameAllocator; external?: ExternalDataResolver }): EqualizeResult {
  const main = modelGraphs(model).find((r) => r.graph === model.graph);
  if (!main) return { pairs: [] };
  const ed = new ConstEditor(model, options.names);
  const done = new Set<string>();
  for (let sweep = 0; sweep < 2; sweep++) {
    for (const { a, b, depthwise } of findPairs(main, ed, wants)) {
      const w1Ref = ed.consts.lookup(main, a.inputs[1])!;
      const w2Ref = ed.consts.lookup(main, b.inputs[1])!;
      const w1 = tensorFloats(w1Ref.tensor, options.external);
      const w2 = tensorFloats(w2Ref.tensor, options.external);
      const d1 = w1Ref.tensor.dims.map(Number);
      const d2 = w2Ref.tensor.dims.map(Number);
      const C = d1[0];
      const per1 = w1.length / C;
      const O = d2[0];
      const per2 = w2.length / O; // elements per output channel of B
      const inner = depthwise ? per2 : per2 / C; // elements per (output, input channel) of B
      const r1 = new Float64Array(C);
      const r2 = new Float64Array(C);
      for (let c = 0; c < C; c++) for (let k = 0; k < per1; k++) r1[c] = Math.max(r1[c], Math.abs(w1[c * per1 + k]));
      for (let o = 0; o < O; o++) {
        for (let k = 0; k < per2; k++) {
          const c = depthwise ? Math.floor(o / depthwise) : Math.floor(k / inner);
          r2[c] = Math.max(r2[c], Math.abs(w2[o * per2 + k]));
        }
      }
      const s = Float64Array.from(r1, (v, c) => (v > 0 && r2[c] > 0 ? Math.min(1e4, Math.max(1e-4, Math.sqrt(v / r2[c]))) : 1));
      if (s.every((v) => Math.abs(v - 1) < 1e-6)) continue;
      const n1 = Float32Array.from(w1, (v, i) => v / s[Math.floor(i / per1)]);
      const n2 = Float32Array.from(w2, (v, i) => {
        const o = Math.floor(i / per2);
        const c = depthwise ? Math.floor(o / depthwise) : Math.floor((i % per2) / inner);
        return v * s[c];
      });
      ed.replaceInput(main, a, 1, { dataType: DataType.FLOAT, dims: d1, raw: bytesOf(n1) }, `${a.inputs[1]}_equalized`);
      if (a.inputs[2]) {
        const bRef = ed.consts.lookup(main, a.inputs[2])!;
        const bias = tensorFloats(bRef.tensor, options.external);
        const nb = Float32Array.from(bias, (v, c) => v / s[c]);
        ed.replaceInput(main, a, 2, { dataType: DataType.FLOAT, dims: bRef.tensor.dims.map(Number), raw: bytesOf(nb) }, `${a.inputs[2]}_equalized`);
      }
      ed.replaceInput(main, b, 1, { dataType: DataType.FLOAT, dims: d2, raw: bytesOf(n2) }, `${b.inputs[1]}_equalized`);
      done.add(`${a.name || a.outputs[0]} → ${b.name || b.outputs[0]}`);
    }
  }
  ed.finish();
  return { pairs: [...done] };
}
