import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from './build';
import { encodeModel } from './codec';
import { loadModel } from './load';
import { makeTensor } from './tensor';
import { readsAhead, sortNodes, topoOrder } from './topo';
import { DataType, type Model } from './types';
import { nodeRunModel } from '../compress/recovery/testing/node-run';
import { collectHessians } from '../compress/recovery/hessian';
import { recoveryLayers } from '../compress/recovery/plan';
import type { Recipe } from '../compress/recipe';

/**
 * x -> Conv -> Cast(fp16) -> Resize -> Cast(fp32) -> Concat -> Conv -> y, listed as a float16
 * converter left IS-Net: the Casts and the Resize at the end of the node list, after the Concat
 * that reads them (onnxruntime runs it), and an If whose branch reads a value made by a node
 * listed after it.
 */
function unsorted(withIf = true): Model {
  const w = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(i + name.length)));
  const then = makeGraph({ nodes: [makeNode('Relu', ['late'], ['t'], [], { name: 'then_relu' })], initializers: [], inputs: [], outputs: [makeValueInfo('t', DataType.FLOAT)] });
  const other = makeGraph({ nodes: [makeNode('Neg', ['late'], ['e'], [], { name: 'else_neg' })], initializers: [], inputs: [], outputs: [makeValueInfo('e', DataType.FLOAT)] });
  const graph = makeGraph({
    nodes: [
      makeNode('Conv', ['x', 'w1'], ['a'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv1' }),
      makeNode('Concat', ['c32', 'c32'], ['cat'], [attr.int('axis', 1)], { name: 'concat' }),
      makeNode('Conv', ['cat', 'w2'], ['y'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv2' }),
      ...(withIf ? [makeNode('If', ['flag'], ['z'], [attr.graph('then_branch', then), attr.graph('else_branch', other)], { name: 'branch' })] : []),
      makeNode('ReduceMean', ['y'], ['late'], [attr.int('keepdims', 1)], { name: 'late' }),
      makeNode('Cast', ['a'], ['a16'], [attr.int('to', DataType.FLOAT16)], { name: 'cast_in' }),
      makeNode('Resize', ['a16', '', 'scales'], ['r16'], [attr.string('mode', 'nearest')], { name: 'resize' }),
      makeNode('Cast', ['r16'], ['c32'], [attr.int('to', DataType.FLOAT)], { name: 'cast_out' }),
    ],
    initializers: [w('w1', [4, 3, 3, 3]), w('w2', [2, 8, 3, 3]), makeTensor('scales', DataType.FLOAT, [4], Float32Array.of(1, 1, 2, 2))],
    inputs: [makeValueInfo('x', DataType.FLOAT, [1, 3, 4, 4]), ...(withIf ? [makeValueInfo('flag', DataType.BOOL, [])] : [])],
    outputs: [makeValueInfo('y', DataType.FLOAT), ...(withIf ? [makeValueInfo('z', DataType.FLOAT)] : [])],
  });
  return makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
}

describe('topological order', () => {
  it('orders nodes topologically even when the file does not; a cycle comes last in file order', () => {
    const nodes = [makeNode('Relu', ['b'], ['c']), makeNode('Relu', ['a'], ['b']), makeNode('Relu', ['x'], ['a'])];
    expect(topoOrder(nodes)).toEqual([2, 1, 0]);
    expect(readsAhead(nodes)).toBe(2);
    const cyc = [makeNode('Add', ['x', 'q'], ['p']), makeNode('Relu', ['p'], ['q']), makeNode('Relu', ['x'], ['r'])];
    expect(topoOrder(cyc)).toEqual([2, 0, 1]);
  });

  it("a node holding subgraphs waits for the outer values they read; a sorted list is left as it is", () => {
    const m = unsorted();
    const names = () => m.graph!.nodes.map((n) => n.name);
    // the Concat reads c32 (cast_out, listed last); the If's branches read `late` (listed after it)
    expect(readsAhead(m.graph!.nodes)).toBe(2);
    expect(sortNodes(m)).toBe(2);
    expect(names()).toEqual(['conv1', 'cast_in', 'resize', 'cast_out', 'concat', 'conv2', 'late', 'branch']);
    expect(readsAhead(m.graph!.nodes)).toBe(0);
    expect(sortNodes(m)).toBe(0);
    expect(names()).toEqual(['conv1', 'cast_in', 'resize', 'cast_out', 'concat', 'conv2', 'late', 'branch']);
  });

  it('load puts the graph in order and says how many nodes read ahead; the statistics copy of such a model runs (it lost the Resize and its Casts)', async () => {
    expect(loadModel(encodeModel(unsorted())).reorderedNodes).toBe(2);
    const loaded = loadModel(encodeModel(unsorted(false)));
    expect(loaded.reorderedNodes).toBe(1);
    expect(loaded.model.graph!.nodes.map((n) => n.name)).toEqual(['conv1', 'cast_in', 'resize', 'cast_out', 'concat', 'conv2', 'late']);
    const recipe: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int8', granularity: 'per-channel', recovery: 'gptq' }, layers: {} };
    const samples = [0, 1, 2].map((k) => ({ x: { dtype: 'float32' as const, dims: [1, 3, 4, 4], data: Float32Array.from({ length: 48 }, (_, i) => Math.cos(i * (k + 1))) } }));
    const h = await collectHessians(loaded.model, recoveryLayers(loaded.model, recipe), samples, nodeRunModel());
    expect([...h.keys()].sort()).toEqual(['conv1', 'conv2']);
    expect(h.get('conv2')!.rows).toBe(3 * 64);
    // the file as it came: the copy has no Resize before conv2 and onnxruntime refuses it
    const raw = unsorted(false);
    await expect(collectHessians(raw, recoveryLayers(raw, recipe), samples, nodeRunModel())).rejects.toThrow(/c32|Invalid model/);
  });
});
