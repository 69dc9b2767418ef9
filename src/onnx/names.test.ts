import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from './build';
import { decodeModel, encodeModel } from './codec';
import { assignNodeNames, modelGraphs } from './names';
import { DataType, type Model } from './types';

const F = DataType.FLOAT;
const named = (name: string) => ({ name });

/** Empty and repeated names in the main graph, an If with two branches, and an If nested in a branch. */
function modelWithBadNames(): Model {
  const inner = (op: string) =>
    makeGraph({ name: op, nodes: [makeNode(op, ['c'], ['z'], [], named(''))], outputs: [makeValueInfo('z', F, [2, 3])] });
  const thenBranch = makeGraph({
    name: 'then',
    nodes: [makeNode('Identity', ['c'], ['t0'], [], named('dup')), makeNode('Relu', ['t0'], ['t1'])],
    outputs: [makeValueInfo('t1', F, [2, 3])],
  });
  const elseBranch = makeGraph({
    name: 'else',
    nodes: [
      makeNode('Neg', ['c'], ['e0'], [], named('dup')),
      makeNode('If', ['cond'], ['e1'], [attr.graph('then_branch', inner('Abs')), attr.graph('else_branch', inner('Neg'))], named('')),
    ],
    outputs: [makeValueInfo('e1', F, [2, 3])],
  });
  const graph = makeGraph({
    nodes: [
      makeNode('Relu', ['x'], ['a'], [], named('')),
      makeNode('Relu', ['a'], ['b'], [], named('dup')),
      makeNode('Relu', ['b'], ['c'], [], named('dup')),
      makeNode('If', ['cond'], ['d'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)]),
      makeNode('Relu', ['d'], ['y'], [], named('Relu_0')),
    ],
    inputs: [makeValueInfo('x', F, [2, 3]), makeValueInfo('cond', DataType.BOOL, [])],
    outputs: [makeValueInfo('y', F, [2, 3])],
  });
  return makeModel({ graph });
}

const allNames = (m: Model) => modelGraphs(m).flatMap((r) => r.nodes.map((n) => n.name ?? ''));

async function run(bytes: Uint8Array, cond: boolean): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const x = new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4, -5, 6]), [2, 3]);
  const c = new ort.Tensor('bool', Uint8Array.from([cond ? 1 : 0]), []);
  const out = await s.run({ x, cond: c });
  return out.y.data as Float32Array;
}

describe('assignNodeNames', () => {
  it('names every node uniquely, keeping first occurrences, with generated names by position', () => {
    const m = modelWithBadNames();
    const renamed = assignNodeNames(m);
    const names = allNames(m);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n.length > 0)).toBe(true);
    expect(names).toEqual([
      'Relu_0_1', // empty; 'Relu_0' belongs to a later node in the file
      'dup', // first 'dup' keeps its name
      'Relu_2',
      'If_3',
      'Relu_0',
      'If_3/then_branch/Identity_0',
      'If_3/then_branch/Relu_1',
      'If_3/else_branch/Neg_0',
      'If_3/else_branch/If_1',
      'If_3/else_branch/If_1/then_branch/Abs_0',
      'If_3/else_branch/If_1/else_branch/Neg_0',
    ]);
    expect(renamed).toBe(9);
  });

  it('is deterministic, idempotent and survives encode/decode; the renamed model still runs', async () => {
    const original = encodeModel(modelWithBadNames());
    const a = decodeModel(original);
    const b = decodeModel(original);
    assignNodeNames(a);
    assignNodeNames(b);
    expect(allNames(a)).toEqual(allNames(b));
    expect(assignNodeNames(a)).toBe(0);
    const written = encodeModel(a);
    const again = decodeModel(written);
    expect(assignNodeNames(again)).toBe(0);
    expect(allNames(again)).toEqual(allNames(a));
    // onnxruntime refuses the file as written (repeated names), and runs it once renamed.
    await expect(run(original, true)).rejects.toThrow(/same node name/);
    // x = [-1, 2, -3, 4, -5, 6]; c = relu(x); then: relu(c); else: relu(neg(c)) (the nested If sees cond too)
    expect(Array.from(await run(written, true))).toEqual([0, 2, 0, 4, 0, 6]);
    expect(Array.from(await run(written, false), (v) => v + 0)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('covers graphs lists, training_info graphs and function bodies', () => {
    const body = (op: string) => makeGraph({ nodes: [makeNode(op, ['x'], ['y'], [], named('dup'))] });
    const graph = makeGraph({
      nodes: [
        makeNode('Custom', ['x'], ['y'], [attr.graphs('branches', [body('A'), body('B')])], { name: 'dup', domain: 'my.ops' }),
      ],
    });
    const m = makeModel({
      graph,
      trainingInfo: [
        {
          algorithm: makeGraph({ nodes: [makeNode('Relu', ['x'], ['z'], [], named('dup'))] }),
          initialization: makeGraph({ nodes: [makeNode('Constant', [], ['k'])] }),
          initializationBinding: [],
          updateBinding: [],
        },
      ],
      functions: [
        {
          name: 'Fn',
          domain: 'custom',
          inputs: ['x'],
          outputs: ['y'],
          attribute: [],
          attributeProto: [],
          nodes: [makeNode('Relu', ['x'], ['t']), makeNode('Relu', ['t'], ['y'], [], named('dup'))],
          opsetImport: [{ domain: '', version: 13 }],
          valueInfo: [],
          metadataProps: [],
        },
      ],
    });
    expect(assignNodeNames(m)).toBe(6);
    expect(allNames(m)).toEqual([
      'dup',
      'dup/branches.0/A_0',
      'dup/branches.1/B_0',
      'training_info.0/initialization/Constant_0',
      'training_info.0/algorithm/Relu_0',
      'custom.Fn/Relu_0',
      'custom.Fn/Relu_1',
    ]);
  });

  it('never collides with names already in the file, even generated-looking ones', () => {
    const graph = makeGraph({
      nodes: [
        makeNode('Relu', ['x'], ['a']),
        makeNode('Relu', ['a'], ['b'], [], named('Relu_0')),
        makeNode('Relu', ['b'], ['c'], [], named('Relu_0_1')),
        makeNode('Relu', ['c'], ['d']),
        makeNode('Relu', ['d'], ['e'], [], named('Relu_3')),
      ],
    });
    const m = makeModel({ graph });
    assignNodeNames(m);
    expect(allNames(m)).toEqual(['Relu_0_2', 'Relu_0', 'Relu_0_1', 'Relu_3_1', 'Relu_3']);
  });

  it('is fast on a graph of 20,000 unnamed nodes', () => {
    const nodes = Array.from({ length: 20000 }, (_, i) => makeNode(i % 2 ? 'Relu' : 'Neg', [`v${i}`], [`v${i + 1}`]));
    const m = makeModel({ graph: makeGraph({ nodes }) });
    const t0 = performance.now();
    expect(assignNodeNames(m)).toBe(20000);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(new Set(allNames(m)).size).toBe(20000);
  });

  it('handles subgraphs nested deeper than a small stack would allow recursion for', () => {
    // 90 levels of If (the decoder allows 100 message levels; each level here is graph > node > attribute)
    let g = makeGraph({ nodes: [makeNode('Relu', ['x'], ['y'])] });
    for (let i = 0; i < 90; i++) g = makeGraph({ nodes: [makeNode('If', ['c'], ['y'], [attr.graph('then_branch', g)])] });
    const m = makeModel({ graph: g });
    expect(assignNodeNames(m)).toBe(91);
    const names = allNames(m);
    expect(names[0]).toBe('If_0');
    expect(names[90]).toMatch(/^If_0\/then_branch\/If_0\/then_branch\/.*\/Relu_0$/);
  });
});
