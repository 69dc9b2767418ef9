/**
 * Graph structure: If/Loop/Scan subgraphs nested more than two deep with initializers inside
 * subgraphs and outer-scope references, model-local functions (defaults and ref_attr_name), and
 * node names that are empty, absent or repeated (also across subgraphs).
 */
import { attr, emptyTensor, makeGraph, makeNode } from '../onnx/build';
import { AttributeType, type FunctionDef } from '../onnx/types';
import { BOOL, FLOAT, INT64, boolInput, f32, floatInput, i64, int64Input, modelAt, vi, type Fixture } from './fixture-kit';
import { randomFloats, seeded } from './random';
import * as ref from './reference';

// ---------------------------------------------------------------------------------------------
// Control flow: main -> If.then_branch -> Loop.body -> If.then/else_branch (three levels), and
// main -> If.else_branch -> Scan.body. Subgraph initializers at every level; the innermost
// branches read `then_bias` (two levels up) and the Loop body reads `W` (main graph). Every graph
// has one node named "node" (onnxruntime refuses a name repeated within one graph, not across
// graphs) next to unnamed and empty-named ones.

const cf = (() => {
  const rng = seeded(5);
  return {
    W: randomFloats(rng, 3, 1),
    thenBias: randomFloats(rng, 3, 0.5),
    step: randomFloats(rng, 3, 1),
    half: Float32Array.from([0.5, 0.5, 0.5]),
    gain: Math.fround(1.5),
    x: randomFloats(seeded(106), 3, 1),
  };
})();

function controlFlowModel() {
  const evenBranch = makeGraph({
    name: 'even_branch',
    initializers: [f32('half', [3], cf.half)],
    outputs: [vi('ib_then', FLOAT, [3])],
    nodes: [
      makeNode('Add', ['u', 'then_bias'], ['p'], [], { name: 'node' }),
      makeNode('Mul', ['p', 'half'], ['ib_then'], []),
    ],
  });
  const oddBranch = makeGraph({
    name: 'odd_branch',
    outputs: [vi('ib_else', FLOAT, [3])],
    nodes: [makeNode('Sub', ['u', 'then_bias'], ['ib_else'], [], { name: 'node' })],
  });
  const loopBody = makeGraph({
    name: 'loop_body',
    inputs: [vi('iter', INT64, []), vi('cond_in', BOOL, []), vi('acc', FLOAT, [3])],
    outputs: [vi('cond_out', BOOL, []), vi('acc_out', FLOAT, [3])],
    initializers: [f32('step', [3], cf.step)],
    nodes: [
      makeNode('Mul', ['acc', 'step'], ['t'], [], { name: 'node' }),
      makeNode('Add', ['t', 'W'], ['u'], [], { name: '' }),
      makeNode('Constant', [], ['two'], [attr.tensor('value', i64('', [], [2]))]),
      makeNode('Mod', ['iter', 'two'], ['m'], []),
      makeNode('Constant', [], ['zero'], [attr.tensor('value', emptyTensor({ dims: [], dataType: INT64, int64Data: BigInt64Array.of(0n) }))]),
      makeNode('Equal', ['m', 'zero'], ['even'], []),
      makeNode('If', ['even'], ['acc_out'], [attr.graph('then_branch', evenBranch), attr.graph('else_branch', oddBranch)]),
      makeNode('Identity', ['cond_in'], ['cond_out'], []),
    ],
  });
  const thenBranch = makeGraph({
    name: 'then_branch',
    initializers: [f32('then_bias', [3], cf.thenBias)],
    outputs: [vi('then_out', FLOAT, [3])],
    nodes: [
      makeNode('Loop', ['trips', 'cond', 'x'], ['loop_acc'], [attr.graph('body', loopBody)], { name: 'node' }),
      makeNode('Add', ['loop_acc', 'then_bias'], ['then_out'], []),
    ],
  });
  const scanBody = makeGraph({
    name: 'scan_body',
    inputs: [vi('s', FLOAT, []), vi('e', FLOAT, [])],
    outputs: [vi('s_out', FLOAT, []), vi('o', FLOAT, [])],
    initializers: [f32('gain', [], [cf.gain])],
    nodes: [
      makeNode('Mul', ['e', 'gain'], ['eg'], [], { name: 'node' }),
      makeNode('Add', ['s', 'eg'], ['s_out'], []),
      makeNode('Mul', ['e', 's_out'], ['o'], []),
    ],
  });
  const elseBranch = makeGraph({
    name: 'else_branch',
    outputs: [vi('else_out', FLOAT, [3])],
    nodes: [
      makeNode('Constant', [], ['s0'], [attr.tensor('value', emptyTensor({ dims: [], dataType: FLOAT, floatData: Float32Array.of(0) }))], {
        name: 'node',
      }),
      makeNode('Scan', ['s0', 'x'], ['s_final', 'scan_out'], [attr.graph('body', scanBody), attr.int('num_scan_inputs', 1)], { name: 'scan' }),
      makeNode('Add', ['scan_out', 'W'], ['else_out'], []),
    ],
  });
  const graph = makeGraph({
    name: 'control_flow',
    inputs: [vi('x', FLOAT, [3]), vi('cond', BOOL, []), vi('trips', INT64, [])],
    outputs: [vi('y', FLOAT, [3]), vi('aux', FLOAT, [3])],
    initializers: [f32('W', [3], cf.W)],
    nodes: [
      makeNode('If', ['cond'], ['branch_out'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)], { name: 'node' }),
      makeNode('Identity', ['branch_out'], ['y'], [], { name: 'output' }),
      makeNode('Add', ['x', 'W'], ['aux'], []),
    ],
  });
  return { model: modelAt(13, graph) };
}

function controlFlowExpected(cond: boolean, trips: number) {
  const f = Math.fround;
  const y = new Float32Array(3);
  if (cond) {
    const acc = Float32Array.from(cf.x);
    for (let i = 0; i < trips; i++) {
      for (let j = 0; j < 3; j++) {
        const u = f(f(acc[j] * cf.step[j]) + cf.W[j]);
        acc[j] = i % 2 === 0 ? f(f(u + cf.thenBias[j]) * 0.5) : f(u - cf.thenBias[j]);
      }
    }
    for (let j = 0; j < 3; j++) y[j] = f(acc[j] + cf.thenBias[j]);
  } else {
    let s = 0;
    for (let j = 0; j < 3; j++) {
      s = f(s + f(cf.x[j] * cf.gain));
      y[j] = f(f(cf.x[j] * s) + cf.W[j]);
    }
  }
  return {
    y: { dims: [3], data: y, tolerance: 1e-6 },
    aux: { dims: [3], data: ref.map(cf.x, (v, i) => v + cf.W[i]) },
  };
}

const cfWeights = () => ({ W: cf.W, then_bias: cf.thenBias, step: cf.step, half: cf.half, gain: [cf.gain], s0: [0], two: [2n], zero: [0n] });

const controlFlowThen: Fixture = {
  id: 'control-flow-then',
  description: 'If -> Loop -> If nested three deep (then path taken), subgraph initializers at each level, outer-scope references, node name "node" in every graph',
  features: ['if', 'loop', 'scan', 'subgraph-depth-3', 'subgraph-initializers', 'outer-scope', 'duplicate-names', 'unnamed-nodes', 'bool-input', 'int64-input', 'graph-attr', 'opset-13', 'ir-7'],
  runnable: true,
  build: controlFlowModel,
  inputs: () => ({ x: floatInput([3], cf.x), cond: boolInput([], [true]), trips: int64Input([], [3]) }),
  expected: () => controlFlowExpected(true, 3),
  weights: cfWeights,
};

const controlFlowElse: Fixture = {
  id: 'control-flow-else',
  description: 'the same model with the else path taken: If.else_branch -> Scan body with its own initializer',
  features: ['if', 'scan', 'subgraph-initializers', 'outer-scope', 'opset-13', 'ir-7'],
  runnable: true,
  build: controlFlowModel,
  inputs: () => ({ x: floatInput([3], cf.x), cond: boolInput([], [false]), trips: int64Input([], [2]) }),
  expected: () => controlFlowExpected(false, 2),
  weights: cfWeights,
};

// ---------------------------------------------------------------------------------------------
// Model-local functions (opset 19 / IR 9): an attribute default (attribute_proto), ref_attr_name
// inside the body, and a function calling another function with its own attribute passed down.

const FN = 'org.example.fn';
const fnData = (() => {
  const rng = seeded(6);
  return { W: randomFloats(rng, 16, 0.7), S: randomFloats(rng, 4, 1.5), x: randomFloats(seeded(107), 8, 1) };
})();

function fnDef(p: Partial<FunctionDef> & { name: string }): FunctionDef {
  return {
    inputs: [],
    outputs: [],
    attribute: [],
    attributeProto: [],
    nodes: [],
    opsetImport: [],
    valueInfo: [],
    metadataProps: [],
    domain: FN,
    ...p,
  };
}

const functionsFixture: Fixture = {
  id: 'functions-opset19',
  description: 'model-local functions: ScaledLeakyRelu(alpha default 0.1 via attribute_proto, LeakyRelu alpha by ref_attr_name) called with and without alpha, and Block calling it with its own attribute',
  features: ['functions', 'attribute-defaults', 'ref_attr_name', 'custom-domain', 'opset-19', 'ir-9'],
  runnable: true,
  build: () => {
    const scaled = fnDef({
      name: 'ScaledLeakyRelu',
      docString: 'LeakyRelu(X, alpha) * S',
      inputs: ['X', 'S'],
      outputs: ['Y'],
      attributeProto: [attr.float('alpha', 0.1)],
      opsetImport: [{ domain: '', version: 19 }],
      nodes: [
        makeNode('LeakyRelu', ['X'], ['t'], [attr.ref('alpha', 'alpha', AttributeType.FLOAT)]),
        makeNode('Mul', ['t', 'S'], ['Y'], []),
      ],
    });
    const block = fnDef({
      name: 'Block',
      inputs: ['X', 'W', 'S'],
      outputs: ['Y'],
      attribute: ['slope'],
      opsetImport: [
        { domain: '', version: 19 },
        { domain: FN, version: 1 },
      ],
      nodes: [
        makeNode('MatMul', ['X', 'W'], ['h'], []),
        makeNode('ScaledLeakyRelu', ['h', 'S'], ['Y'], [attr.ref('alpha', 'slope', AttributeType.FLOAT)], { domain: FN }),
      ],
    });
    const graph = makeGraph({
      name: 'functions',
      inputs: [vi('x', FLOAT, [2, 4])],
      outputs: [vi('y', FLOAT, [2, 4]), vi('z', FLOAT, [2, 4])],
      initializers: [f32('W', [4, 4], fnData.W), f32('S', [4], fnData.S)],
      nodes: [
        makeNode('Block', ['x', 'W', 'S'], ['h'], [attr.float('slope', 0.2)], { domain: FN, name: 'block' }),
        makeNode('ScaledLeakyRelu', ['h', 'S'], ['y'], [], { domain: FN, name: 'act_default' }),
        makeNode('ScaledLeakyRelu', ['h', 'S'], ['z'], [attr.float('alpha', 0.3)], { domain: FN, name: 'act_03' }),
      ],
    });
    return { model: modelAt(19, graph, { functions: [scaled, block] }, { [FN]: 1 }) };
  },
  inputs: () => ({ x: floatInput([2, 4], fnData.x) }),
  expected: () => {
    const scaled = (v: Float32Array, alpha: number) => ref.map(ref.leakyRelu(v, Math.fround(alpha)), (t, i) => t * fnData.S[i % 4]);
    const h = scaled(ref.matmul(fnData.x, fnData.W, 2, 4, 4), 0.2);
    return {
      y: { dims: [2, 4], data: scaled(h, 0.1), tolerance: 1e-5 },
      z: { dims: [2, 4], data: scaled(h, 0.3), tolerance: 1e-5 },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Names: absent, empty, shaped like generated `<OpType>_<index>` names (for another node), and
// repeated across If branches. (A name repeated within one graph is refused by onnxruntime: see
// duplicate-names-same-graph.)

const namesX = Float32Array.from([-2, -0.5, 0.25, 3]);

const namesFixture: Fixture = {
  id: 'names-opset13',
  description: 'node names absent, empty, shaped like generated names ("Relu_0" on an Abs, "Sigmoid_3" on node 4), and repeated across If branches',
  features: ['unnamed-nodes', 'duplicate-names', 'empty-node-names', 'if', 'bool-input', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const thenBranch = makeGraph({
      name: 'then',
      outputs: [vi('t1', FLOAT, [4])],
      nodes: [makeNode('Relu', ['e'], ['t1'], [], { name: 'block' })],
    });
    const elseBranch = makeGraph({
      name: 'else',
      outputs: [vi('t2', FLOAT, [4])],
      nodes: [makeNode('Neg', ['e'], ['t2'], [], { name: 'Relu_0' })],
    });
    const graph = makeGraph({
      name: 'names',
      inputs: [vi('x', FLOAT, [4]), vi('cond', BOOL, [])],
      outputs: [vi('y', FLOAT, [4])],
      nodes: [
        makeNode('Relu', ['x'], ['a']),
        makeNode('Neg', ['a'], ['b'], [], { name: '' }),
        makeNode('Abs', ['b'], ['c'], [], { name: 'Relu_0' }),
        makeNode('Relu', ['c'], ['d'], [], { name: 'block' }),
        makeNode('Sigmoid', ['d'], ['e'], [], { name: 'Sigmoid_3' }),
        makeNode('If', ['cond'], ['y'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)]),
      ],
    });
    return { model: modelAt(13, graph) };
  },
  inputs: () => ({ x: floatInput([4], namesX), cond: boolInput([], [false]) }),
  expected: () => ({
    y: { dims: [4], data: ref.map(namesX, (v) => -ref.sigmoid(Math.abs(-Math.max(v, 0)))), tolerance: 1e-6 },
  }),
};

// ---------------------------------------------------------------------------------------------
// training_info: an initialization graph and a one-step SGD algorithm with bindings.

const trainingFixture: Fixture = {
  id: 'training-info-opset13',
  description: 'linear model with training_info: initialization graph (Constant -> W_init) and an SGD algorithm graph, with initialization and update bindings',
  features: ['training_info', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const W = [0.5, -1, 2, 0.25, 1.5, -0.75];
    const graph = makeGraph({
      name: 'linear',
      inputs: [vi('x', FLOAT, [1, 3])],
      outputs: [vi('y', FLOAT, [1, 2])],
      initializers: [f32('W', [3, 2], W), f32('b', [2], [0.1, -0.2])],
      nodes: [makeNode('MatMul', ['x', 'W'], ['xw'], [], { name: 'fc' }), makeNode('Add', ['xw', 'b'], ['y'], [], { name: 'fc_bias' })],
    });
    const initialization = makeGraph({
      name: 'init',
      outputs: [vi('W_init', FLOAT, [3, 2])],
      nodes: [makeNode('Constant', [], ['W_init'], [attr.tensor('value', f32('', [3, 2], [0, 0, 0, 0, 0, 0]))], { name: 'init_W' })],
    });
    const algorithm = makeGraph({
      name: 'sgd',
      inputs: [vi('x', FLOAT, [1, 3]), vi('grad_W', FLOAT, [3, 2])],
      outputs: [vi('W_new', FLOAT, [3, 2])],
      initializers: [f32('lr', [], [0.01])],
      nodes: [makeNode('Mul', ['grad_W', 'lr'], ['delta'], [], { name: 'fc' }), makeNode('Sub', ['W', 'delta'], ['W_new'], [], { name: 'update' })],
    });
    return {
      model: modelAt(13, graph, {
        trainingInfo: [
          {
            initialization,
            algorithm,
            initializationBinding: [{ key: 'W', value: 'W_init' }],
            updateBinding: [{ key: 'W', value: 'W_new' }],
          },
        ],
      }),
    };
  },
  inputs: () => ({ x: floatInput([1, 3], [1, 2, 3]) }),
  expected: () => ({ y: { dims: [1, 2], data: [0.5 * 1 + 2 * 2 + 1.5 * 3 + 0.1, -1 * 1 + 0.25 * 2 - 0.75 * 3 - 0.2], tolerance: 1e-6 } }),
};

// ---------------------------------------------------------------------------------------------
// A name repeated within one graph: valid protobuf, accepted by the onnx checker of old, refused
// by onnxruntime ("two nodes with same node name"); it runs once a loader has renamed them.

const duplicateNamesFixture: Fixture = {
  id: 'duplicate-names-same-graph',
  description: 'the node name "dense" on four nodes of the main graph and on the nodes of both If branches; onnxruntime refuses such a file until the names are made unique',
  features: ['duplicate-names', 'if', 'opset-13', 'ir-7'],
  runnable: false,
  runsAfterNaming: true,
  build: () => {
    const branch = (tag: string) =>
      makeGraph({ name: tag, outputs: [vi(`${tag}_out`, FLOAT, [2])], nodes: [makeNode('Relu', ['h2'], [`${tag}_out`], [], { name: 'dense' })] });
    const graph = makeGraph({
      name: 'duplicates',
      inputs: [vi('x', FLOAT, [2]), vi('cond', BOOL, [])],
      outputs: [vi('y', FLOAT, [2])],
      initializers: [f32('w', [2], [1, 2])],
      nodes: [
        makeNode('Mul', ['x', 'w'], ['h0'], [], { name: 'dense' }),
        makeNode('Add', ['h0', 'w'], ['h1'], [], { name: 'dense' }),
        makeNode('Relu', ['h1'], ['h2'], [], { name: 'dense' }),
        makeNode('If', ['cond'], ['y'], [attr.graph('then_branch', branch('then')), attr.graph('else_branch', branch('else'))], { name: 'dense' }),
      ],
    });
    return { model: modelAt(13, graph) };
  },
  inputs: () => ({ x: floatInput([2], [1, -1]), cond: boolInput([], [true]) }),
  expected: () => ({ y: { dims: [2], data: [2, 0] } }),
};

export const GRAPH_FIXTURES: Fixture[] = [controlFlowThen, controlFlowElse, functionsFixture, namesFixture, trainingFixture, duplicateNamesFixture];
