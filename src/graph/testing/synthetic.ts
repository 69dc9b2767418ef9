/**
 * Synthetic models for the graph view's tests, e2e specs and benchmark, built with the project's
 * own factories: a transformer-like stack with scoped names (as torch exports them), a long
 * network with empty names (as several converters write them), and a model with If/Loop bodies.
 * Weights are tiny (the graph is what matters), stored as initializers and Constant nodes.
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../../onnx/types';

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7 + seed * 13) % 17) - 8) / 32);
const int64 = (name: string, v: number[]) => makeTensor(name, DataType.INT64, [v.length], v);

export interface TransformerOptions {
  layers: number;
  hidden?: number;
  /** 'slash': `/encoder/layer.3/attention/MatMul`; 'dot': `encoder.layer.3.attention.MatMul`; 'none': empty names */
  names?: 'slash' | 'dot' | 'none';
}

/**
 * A BERT-like encoder: embedding Gather, then per layer self-attention (q/k/v projections,
 * reshapes with Constant shapes, scores, softmax, context, output projection, residual, layer
 * norm) and a GELU feed-forward block. About 46 nodes per layer after Constants fold.
 */
export function transformerModel(options: TransformerOptions): Model {
  const { layers, hidden: d = 16, names = 'slash' } = options;
  const heads = 2;
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  let constCount = 0;
  // Like torch: the second Mul in a scope is `Mul_1`.
  const used = new Map<string, number>();
  const name = (scope: string[], op: string) => {
    if (names === 'none') return '';
    const base = names === 'dot' ? [...scope, op].join('.') : `/${[...scope, op].join('/')}`;
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  };
  let t = 0;
  const tmp = () => `t${t++}`;
  const node = (op: string, inputs: string[], scope: string[], attrs = [] as ReturnType<typeof attr.int>[], outs = 1): string[] => {
    const outputs = Array.from({ length: outs }, tmp);
    nodes.push(makeNode(op, inputs, outputs, attrs, { name: name(scope, `${op}`) }));
    return outputs;
  };
  const constant = (scope: string[], tensor: Tensor): string => {
    const out = `const${constCount++}`;
    nodes.push(makeNode('Constant', [], [out], [attr.tensor('value', tensor)], { name: name(scope, 'Constant') }));
    return out;
  };
  const weight = (nm: string, dims: number[]) => {
    inits.push(makeTensor(nm, DataType.FLOAT, dims, values(dims.reduce((a, b) => a * b, 1), inits.length)));
    return nm;
  };
  const linear = (x: string, scope: string[], inDim: number, outDim: number, prefix: string) => {
    const [mm] = node('MatMul', [x, weight(`${prefix}.weight`, [inDim, outDim])], scope);
    const [add] = node('Add', [mm, weight(`${prefix}.bias`, [outDim])], scope);
    return add;
  };
  const layerNorm = (x: string, scope: string[], prefix: string) =>
    node('LayerNormalization', [x, weight(`${prefix}.weight`, [d]), weight(`${prefix}.bias`, [d])], scope, [attr.int('axis', -1)])[0];

  const [emb] = node('Gather', [weight('embeddings.word.weight', [64, d]), 'input_ids'], ['embeddings', 'word']);
  let h = layerNorm(emb, ['embeddings', 'LayerNorm'], 'embeddings.LayerNorm');
  for (let l = 0; l < layers; l++) {
    const base = names === 'dot' ? ['encoder', 'layer', String(l)] : ['encoder', `layer.${l}`];
    const att = [...base, 'attention'];
    const split = (x: string, sc: string[]) => {
      const [r] = node('Reshape', [x, constant(sc, int64('shape', [0, 0, heads, d / heads]))], sc);
      return node('Transpose', [r], sc, [attr.ints('perm', [0, 2, 1, 3])])[0];
    };
    const q = split(linear(h, [...att, 'query'], d, d, `encoder.layer.${l}.attention.query`), [...att, 'query']);
    const k = split(linear(h, [...att, 'key'], d, d, `encoder.layer.${l}.attention.key`), [...att, 'key']);
    const v = split(linear(h, [...att, 'value'], d, d, `encoder.layer.${l}.attention.value`), [...att, 'value']);
    const [kt] = node('Transpose', [k], [...att, 'scores'], [attr.ints('perm', [0, 1, 3, 2])]);
    const [s] = node('MatMul', [q, kt], [...att, 'scores']);
    const [sd] = node('Div', [s, constant([...att, 'scores'], makeTensor('scale', DataType.FLOAT, [], [Math.sqrt(d / heads)]))], [...att, 'scores']);
    const [sm] = node('Add', [sd, 'attention_mask'], [...att, 'scores']);
    const [p] = node('Softmax', [sm], [...att, 'scores'], [attr.int('axis', -1)]);
    const [ctx] = node('MatMul', [p, v], [...att, 'context']);
    const [ctxT] = node('Transpose', [ctx], [...att, 'context'], [attr.ints('perm', [0, 2, 1, 3])]);
    const [merged] = node('Reshape', [ctxT, constant([...att, 'context'], int64('shape', [0, 0, d]))], [...att, 'context']);
    const out = linear(merged, [...att, 'output', 'dense'], d, d, `encoder.layer.${l}.attention.output.dense`);
    const [res1] = node('Add', [out, h], [...att, 'output']);
    const ln1 = layerNorm(res1, [...att, 'output', 'LayerNorm'], `encoder.layer.${l}.attention.output.LayerNorm`);
    const ff = [...base, 'intermediate'];
    const up = linear(ln1, [...ff, 'dense'], d, 4 * d, `encoder.layer.${l}.intermediate.dense`);
    // GELU as exported by torch: x * 0.5 * (1 + erf(x / sqrt(2)))
    const [g1] = node('Div', [up, constant(ff, makeTensor('sqrt2', DataType.FLOAT, [], [Math.SQRT2]))], ff);
    const [g2] = node('Erf', [g1], ff);
    const [g3] = node('Add', [g2, constant(ff, makeTensor('one', DataType.FLOAT, [], [1]))], ff);
    const [g4] = node('Mul', [up, g3], ff);
    const [g5] = node('Mul', [g4, constant(ff, makeTensor('half', DataType.FLOAT, [], [0.5]))], ff);
    const outScope = [...base, 'output'];
    const down = linear(g5, [...outScope, 'dense'], 4 * d, d, `encoder.layer.${l}.output.dense`);
    const [res2] = node('Add', [down, ln1], outScope);
    h = layerNorm(res2, [...outScope, 'LayerNorm'], `encoder.layer.${l}.output.LayerNorm`);
  }
  const [pooled] = node('ReduceMean', [h], ['pooler'], [attr.ints('axes', [1]), attr.int('keepdims', 0)]);
  const logits = linear(pooled, ['classifier'], d, 4, 'classifier');
  nodes.push(makeNode('Identity', [logits], ['logits'], [], { name: name(['classifier'], 'Identity_out') }));

  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'graph-synthetic',
    graph: makeGraph({
      name: 'transformer',
      nodes,
      initializers: inits,
      inputs: [makeValueInfo('input_ids', DataType.INT64, ['batch', 'seq']), makeValueInfo('attention_mask', DataType.FLOAT, ['batch', 1, 1, 'seq'])],
      outputs: [makeValueInfo('logits', DataType.FLOAT, ['batch', 4])],
    }),
  });
}

/**
 * A deep convolutional network with empty node names: `blocks` residual blocks of
 * Conv -> BatchNormalization -> Relu -> Conv -> BatchNormalization -> Add(skip) -> Relu, every
 * conv's weight in a Constant node. 7 nodes per block (after folding) plus a head.
 */
export function unnamedResNet(blocks: number, channels = 4): Model {
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  let t = 0;
  const tmp = () => `v${t++}`;
  const op = (type: string, inputs: string[], attrs = [] as ReturnType<typeof attr.int>[]) => {
    const out = tmp();
    nodes.push(makeNode(type, inputs, [out], attrs));
    return out;
  };
  const constW = (dims: number[]) => {
    const out = tmp();
    const n = dims.reduce((a, b) => a * b, 1);
    nodes.push(makeNode('Constant', [], [out], [attr.tensor('value', makeTensor(out, DataType.FLOAT, dims, values(n, t)))]));
    return out;
  };
  const bn = (x: string) => {
    const p = (k: string) => {
      const nm = `bn${t}.${k}`;
      inits.push(makeTensor(nm, DataType.FLOAT, [channels], values(channels, inits.length).map((v) => (k === 'var' ? 1 + Math.abs(v) : v))));
      return nm;
    };
    return op('BatchNormalization', [x, p('scale'), p('bias'), p('mean'), p('var')]);
  };
  const conv = (x: string) => op('Conv', [x, constW([channels, channels, 3, 3]), constW([channels])], [attr.ints('pads', [1, 1, 1, 1])]);
  let h = op('Conv', ['image', constW([channels, 3, 3, 3]), constW([channels])], [attr.ints('pads', [1, 1, 1, 1])]);
  for (let b = 0; b < blocks; b++) {
    const a = op('Relu', [bn(conv(h))]);
    const c = bn(conv(a));
    h = op('Relu', [op('Add', [c, h])]);
  }
  const pooled = op('GlobalAveragePool', [h]);
  const flat = op('Flatten', [pooled]);
  nodes.push(makeNode('Gemm', [flat, constW([10, channels]), constW([10])], ['scores'], [attr.int('transB', 1)]));
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'graph-synthetic',
    graph: makeGraph({
      name: 'resnet',
      nodes,
      initializers: inits,
      inputs: [makeValueInfo('image', DataType.FLOAT, ['N', 3, 8, 8])],
      outputs: [makeValueInfo('scores', DataType.FLOAT, ['N', 10])],
    }),
  });
}

/**
 * x[2, 4] -> MatMul "proj" -> ReduceSum -> Greater 0 -> If "branch": then = Relu(proj) @ W_then
 * (a weight of the main graph, used from inside), else = Neg(proj); then a Loop "repeat" that
 * adds a constant 3 times; -> y.
 */
export function controlFlowModel(): Model {
  const thenBranch = makeGraph({
    name: 'then',
    nodes: [
      makeNode('Relu', ['proj_out'], ['then_relu'], [], { name: 'then_relu' }),
      makeNode('MatMul', ['then_relu', 'W_then'], ['then_out'], [], { name: 'then_matmul' }),
    ],
    outputs: [makeValueInfo('then_out', DataType.FLOAT, [2, 4])],
  });
  const elseBranch = makeGraph({
    name: 'else',
    nodes: [makeNode('Neg', ['proj_out'], ['else_out'], [], { name: 'else_neg' })],
    outputs: [makeValueInfo('else_out', DataType.FLOAT, [2, 4])],
  });
  const body = makeGraph({
    name: 'body',
    nodes: [
      makeNode('Constant', [], ['step'], [attr.tensor('value', makeTensor('step', DataType.FLOAT, [4], [1, 1, 1, 1]))], { name: 'loop_step' }),
      makeNode('Add', ['acc_in', 'step'], ['acc_out'], [], { name: 'loop_add' }),
      makeNode('Identity', ['cond_in'], ['cond_out'], [], { name: 'loop_cond' }),
    ],
    inputs: [makeValueInfo('iter', DataType.INT64, []), makeValueInfo('cond_in', DataType.BOOL, []), makeValueInfo('acc_in', DataType.FLOAT, [2, 4])],
    outputs: [makeValueInfo('cond_out', DataType.BOOL, []), makeValueInfo('acc_out', DataType.FLOAT, [2, 4])],
  });
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'graph-synthetic',
    graph: makeGraph({
      name: 'control',
      nodes: [
        makeNode('MatMul', ['x', 'W'], ['proj_out'], [], { name: 'proj' }),
        makeNode('ReduceSum', ['proj_out'], ['total'], [attr.int('keepdims', 0)], { name: 'total' }),
        makeNode('Greater', ['total', 'zero'], ['positive'], [], { name: 'positive' }),
        makeNode('If', ['positive'], ['branch_out'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)], { name: 'branch' }),
        makeNode('Loop', ['trip', '', 'branch_out'], ['y'], [attr.graph('body', body)], { name: 'repeat' }),
      ],
      initializers: [
        makeTensor('W', DataType.FLOAT, [4, 4], values(16, 1)),
        makeTensor('W_then', DataType.FLOAT, [4, 4], values(16, 2)),
        makeTensor('zero', DataType.FLOAT, [], [0]),
        makeTensor('trip', DataType.INT64, [], [3]),
      ],
      inputs: [makeValueInfo('x', DataType.FLOAT, [2, 4])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [2, 4])],
    }),
  });
}
