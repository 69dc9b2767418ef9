/**
 * Which layers' outputs a Log reads through elementwise ops only (a mel filterbank MatMul before
 * log(clip(y, ε)), a 10·log10 dB scale): there the model's output error is not the layer's own
 * output error. With z = a·y + b the Log's input (affine ops with scalar constants, clamps taken as
 * passing values through), d log z / dy = a / z: an error on output element (row r, channel o)
 * weighs 1 / z_{r,o} in the log, so small outputs dominate. GPTQ then minimizes
 * Σ_r s_{r,o}² ((w_o − ŵ_o)·x_r)² per output channel o with s = 1 / z at the original model's
 * values: H_o = Σ_r s_{r,o}² x_r x_rᵀ (hessian.ts computes it in the runtime; the common factor
 * a does not change any channel's solution).
 *
 * The chain from the layer's output to the Log, every value in it read by one node only and not a
 * model output, may hold:
 *   - Add, Sub, Mul with a one-element constant (either side), Div by one;
 *   - Clip with constant bounds, Relu, Max with one-element constants (a clamp: where it holds the
 *     value at its bound, 1 / bound weighs it, the ε of log(y + ε));
 *   - Cast to float32, Identity, Reshape, Flatten, Squeeze, Unsqueeze (same elements, same order).
 * Anything else (a Transpose reorders the elements; a Pow is not affine; a tensor constant
 * may weigh rows differently) ends the search: the layer keeps the plain H.
 */
import { constScope, useCounts } from '../graph-edit';
import { modelGraphs } from '../../onnx/names';
import { attrInt } from '../../onnx/attributes';
import { DataType, type Model, type Node } from '../../onnx/types';

const SAME_ELEMENTS = new Set(['Cast', 'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);
const AFFINE = new Set(['Add', 'Sub', 'Mul', 'Div']);

/**
 * The name of the Log's input that `layer`'s output (its node's first output) reaches through the
 * chain above in the main graph, or undefined.
 */
export function logInputAfter(model: Model, layer: Node): string | undefined {
  const main = modelGraphs(model).find((r) => r.kind === 'main');
  if (!main?.graph) return undefined;
  const consts = constScope(main);
  const uses = useCounts(model);
  const outputs = new Set(main.graph.outputs.map((v) => v.name));
  const readers = new Map<string, Node[]>();
  for (const n of main.nodes) for (const x of n.inputs) if (x) readers.set(x, [...(readers.get(x) ?? []), n]);
  const scalar = (name: string) => {
    const t = consts.lookup(name);
    return t !== undefined && t.dims.reduce((p, d) => p * Number(d), 1) === 1;
  };
  let value = layer.outputs[0] ?? '';
  for (let steps = 0; value !== '' && steps < 32; steps++) {
    const next = readers.get(value);
    if (outputs.has(value) || uses.get(value) !== 1 || next?.length !== 1) return undefined;
    const n = next[0];
    if (n.domain && n.domain !== 'ai.onnx') return undefined;
    const at = n.inputs.indexOf(value);
    const others = n.inputs.filter((x, i) => x !== '' && i !== at);
    if (n.inputs.filter((x) => x === value).length !== 1) return undefined;
    const op = n.opType ?? '';
    if (op === 'Log') return value;
    if (SAME_ELEMENTS.has(op)) {
      // Reshape's and (opset 13) Squeeze/Unsqueeze's second input is the shape or axes, not data
      if (at !== 0) return undefined;
      // a Cast to anything but float32 changes the values (or the type the statistics read)
      if (op === 'Cast' && attrInt(n, 'to', 0) !== DataType.FLOAT) return undefined;
    } else if (AFFINE.has(op)) {
      if (others.length !== 1 || !others.every(scalar) || (op === 'Div' && n.inputs[0] !== value)) return undefined;
    } else if (op === 'Clip' || op === 'Relu' || op === 'Max') {
      if (op === 'Clip' && n.inputs[0] !== value) return undefined;
      if (!others.every(scalar)) return undefined;
    } else return undefined;
    value = n.outputs[0] ?? '';
  }
  return undefined;
}
