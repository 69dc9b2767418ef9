/**
 * Realistic small networks: a CNN, an MLP with Constant-held weights, an LSTM, an attention
 * block, and op-version variants (Pad/Upsample/Resize/Clip signatures that changed between
 * opsets 9, 10 and 11).
 */
import { attr, emptyTensor, makeGraph, makeNode } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import { FLOAT, f32, floatInput, i64, modelAt, vi, type Fixture } from './fixture-kit';
import { seeded, randomFloats } from './random';
import * as ref from './reference';

// ---------------------------------------------------------------------------------------------
// A little CNN: Conv + BatchNormalization + Relu + MaxPool + Flatten + Gemm + Softmax (opset 13)

const cnn = (() => {
  const rng = seeded(1);
  return {
    w: randomFloats(rng, 4 * 1 * 3 * 3, 0.5),
    b: randomFloats(rng, 4, 0.1),
    scale: ref.map(randomFloats(rng, 4, 0.2), (v) => 1 + v),
    bias: randomFloats(rng, 4, 0.1),
    mean: randomFloats(rng, 4, 0.1),
    variance: ref.map(randomFloats(rng, 4, 0.3), (v) => 1 + v),
    fcW: randomFloats(rng, 3 * 64, 0.3),
    fcB: randomFloats(rng, 3, 0.1),
    x: randomFloats(seeded(101), 2 * 1 * 8 * 8, 1),
  };
})();

const cnnFixture: Fixture = {
  id: 'cnn-opset13',
  description: 'little CNN: Conv+BatchNormalization+Relu+MaxPool+Flatten+Gemm+Softmax, symbolic batch, metadata and doc strings',
  features: ['cnn', 'raw_data', 'symbolic-dims', 'value_info', 'metadata_props', 'doc-strings', 'multiple-outputs', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'tiny_cnn',
      docString: 'conv -> bn -> relu -> pool -> fc',
      inputs: [vi('image', FLOAT, ['batch', 1, 8, 8])],
      outputs: [vi('logits', FLOAT, ['batch', 3]), vi('probs', FLOAT, ['batch', 3])],
      valueInfo: [
        vi('conv_out', FLOAT, ['batch', 4, 8, 8]),
        vi('bn_out', FLOAT, ['batch', 4, 8, 8]),
        vi('pool_out', FLOAT, ['batch', 4, 4, 4]),
        vi('flat', FLOAT, ['batch', 64]),
      ],
      initializers: [
        f32('features.0.weight', [4, 1, 3, 3], cnn.w),
        f32('features.0.bias', [4], cnn.b),
        f32('features.1.weight', [4], cnn.scale),
        f32('features.1.bias', [4], cnn.bias),
        f32('features.1.running_mean', [4], cnn.mean),
        f32('features.1.running_var', [4], cnn.variance),
        f32('classifier.weight', [3, 64], cnn.fcW),
        f32('classifier.bias', [3], cnn.fcB),
      ],
      nodes: [
        makeNode(
          'Conv',
          ['image', 'features.0.weight', 'features.0.bias'],
          ['conv_out'],
          [
            attr.ints('dilations', [1, 1]),
            attr.int('group', 1),
            attr.ints('kernel_shape', [3, 3]),
            attr.ints('pads', [1, 1, 1, 1]),
            attr.ints('strides', [1, 1]),
          ],
          { name: 'features.0', docString: '3x3 convolution' },
        ),
        makeNode(
          'BatchNormalization',
          ['conv_out', 'features.1.weight', 'features.1.bias', 'features.1.running_mean', 'features.1.running_var'],
          ['bn_out'],
          [attr.float('epsilon', 1e-5), attr.float('momentum', 0.9)],
          { name: 'features.1' },
        ),
        makeNode('Relu', ['bn_out'], ['relu_out'], [], { name: 'features.2' }),
        makeNode('MaxPool', ['relu_out'], ['pool_out'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])], {
          name: 'features.3',
        }),
        makeNode('Flatten', ['pool_out'], ['flat'], [attr.int('axis', 1)], { name: 'flatten' }),
        makeNode(
          'Gemm',
          ['flat', 'classifier.weight', 'classifier.bias'],
          ['logits'],
          [attr.float('alpha', 1), attr.float('beta', 1), attr.int('transB', 1)],
          { name: 'classifier' },
        ),
        makeNode('Softmax', ['logits'], ['probs'], [attr.int('axis', 1)], { name: 'softmax' }),
      ],
    });
    return {
      model: modelAt(13, graph, {
        producerName: 'fixtures',
        producerVersion: '1.0',
        domain: 'org.example.cnn',
        modelVersion: 3,
        docString: 'A little CNN for the fixture table.',
        metadataProps: [
          { key: 'author', value: 'onnx-compression-studio' },
          { key: 'license', value: 'MIT' },
          { key: 'description', value: 'ünïcödé 模型 ✓' },
        ],
      }),
    };
  },
  inputs: () => ({ image: floatInput([2, 1, 8, 8], cnn.x) }),
  expected: () => {
    let t = ref.conv2d({ data: Float32Array.from(cnn.x), dims: [2, 1, 8, 8] }, cnn.w, [4, 1, 3, 3], cnn.b, 1, 1);
    t = ref.batchNorm(t, cnn.scale, cnn.bias, cnn.mean, cnn.variance, Math.fround(1e-5));
    t = { data: ref.relu(t.data), dims: t.dims };
    t = ref.maxPool2d(t, 2, 2);
    const logits = ref.gemmTransB(t.data, cnn.fcW, cnn.fcB, 2, 64, 3);
    return {
      logits: { dims: [2, 3], data: logits, tolerance: 1e-4 },
      probs: { dims: [2, 3], data: ref.softmaxRows(logits, 2, 3), tolerance: 1e-5 },
    };
  },
  weights: () => ({ 'features.0.weight': cnn.w, 'classifier.weight': cnn.fcW, 'features.1.running_var': cnn.variance }),
};

// ---------------------------------------------------------------------------------------------
// An MLP whose weights live in Constant nodes (opset 9, IR 4), as old torch exports with constant
// folding off write them; absent, empty and misleading node names.

const mlp = (() => {
  const rng = seeded(2);
  return {
    w1: randomFloats(rng, 4 * 8, 0.6),
    b1: randomFloats(rng, 8, 0.2),
    w2: randomFloats(rng, 8 * 2, 0.6),
    b2: randomFloats(rng, 2, 0.2),
    x: randomFloats(seeded(102), 3 * 4, 1),
  };
})();

const mlpFixture: Fixture = {
  id: 'mlp-opset9-constants',
  description: 'MLP (MatMul+Add+Relu+Sigmoid) at opset 9 / IR 4 with every weight in a Constant node (float_data and raw_data); absent, empty and misleading ("MatMul_2" on an Add) node names',
  features: ['mlp', 'constant-weights', 'float_data', 'raw_data', 'unnamed-nodes', 'empty-node-names', 'opset-9', 'ir-4'],
  runnable: true,
  build: () => {
    const typedW1 = emptyTensor({ dims: [4, 8], dataType: FLOAT, floatData: Float32Array.from(mlp.w1) });
    const typedW2 = emptyTensor({ dims: [8, 2], dataType: FLOAT, floatData: Float32Array.from(mlp.w2) });
    const typedB2 = emptyTensor({ dims: [2], dataType: FLOAT, floatData: Float32Array.from(mlp.b2) });
    const rawB1 = makeTensor('', FLOAT, [8], mlp.b1);
    delete rawB1.name;
    const graph = makeGraph({
      name: 'mlp',
      inputs: [vi('x', FLOAT, ['N', 4])],
      outputs: [vi('y', FLOAT, ['N', 2])],
      nodes: [
        makeNode('Constant', [], ['W1'], [attr.tensor('value', typedW1)]),
        makeNode('Constant', [], ['b1'], [attr.tensor('value', rawB1)], { name: '' }),
        makeNode('MatMul', ['x', 'W1'], ['h0'], [], { name: 'dense' }),
        makeNode('Add', ['h0', 'b1'], ['h1'], [], { name: 'MatMul_2' }),
        makeNode('Relu', ['h1'], ['h2']),
        makeNode('Constant', [], ['W2'], [attr.tensor('value', typedW2)]),
        makeNode('Constant', [], ['b2'], [attr.tensor('value', typedB2)]),
        makeNode('MatMul', ['h2', 'W2'], ['h3'], []),
        makeNode('Add', ['h3', 'b2'], ['h4'], [], { name: '' }),
        makeNode('Sigmoid', ['h4'], ['y'], [], { name: 'output' }),
      ],
    });
    return { model: modelAt(9, graph) };
  },
  inputs: () => ({ x: floatInput([3, 4], mlp.x) }),
  expected: () => {
    const h = ref.relu(ref.addRow(ref.matmul(mlp.x, mlp.w1, 3, 4, 8), mlp.b1, 8));
    const y = ref.map(ref.addRow(ref.matmul(h, mlp.w2, 3, 8, 2), mlp.b2, 2), ref.sigmoid);
    return { y: { dims: [3, 2], data: y, tolerance: 1e-5 } };
  },
  weights: () => ({ W1: mlp.w1, b1: mlp.b1, W2: mlp.w2, b2: mlp.b2 }),
};

// ---------------------------------------------------------------------------------------------
// An LSTM (opset 11): STRING/STRINGS attributes, dynamic sequence length, three outputs.

const lstmData = (() => {
  const rng = seeded(3);
  const H = 5;
  const I = 3;
  const T = 4;
  return {
    H,
    I,
    T,
    w: randomFloats(rng, 4 * H * I, 0.5),
    r: randomFloats(rng, 4 * H * H, 0.5),
    b: randomFloats(rng, 8 * H, 0.2),
    head: randomFloats(rng, H * 2, 0.7),
    x: randomFloats(seeded(103), T * 1 * I, 1),
  };
})();

const lstmFixture: Fixture = {
  id: 'lstm-opset11',
  description: 'LSTM (forward, explicit activations) + Squeeze(axes attribute) + MatMul head at opset 11 / IR 6, dynamic sequence axis, Y/Y_h/Y_c outputs',
  features: ['lstm', 'string-attr', 'strings-attr', 'symbolic-dims', 'multiple-outputs', 'opset-11', 'ir-6'],
  runnable: true,
  build: () => {
    const { H, I } = lstmData;
    const graph = makeGraph({
      name: 'lstm',
      inputs: [vi('sequence', FLOAT, ['T', 1, I])],
      outputs: [vi('logits', FLOAT, ['T', 1, 2]), vi('Y_h', FLOAT, [1, 1, H]), vi('Y_c', FLOAT, [1, 1, H])],
      valueInfo: [vi('Y', FLOAT, ['T', 1, 1, H])],
      initializers: [
        f32('lstm.W', [1, 4 * H, I], lstmData.w),
        f32('lstm.R', [1, 4 * H, H], lstmData.r),
        f32('lstm.B', [1, 8 * H], lstmData.b),
        f32('head.weight', [H, 2], lstmData.head),
      ],
      nodes: [
        makeNode(
          'LSTM',
          ['sequence', 'lstm.W', 'lstm.R', 'lstm.B'],
          ['Y', 'Y_h', 'Y_c'],
          [
            attr.strings('activations', ['Sigmoid', 'Tanh', 'Tanh']),
            attr.string('direction', 'forward'),
            attr.int('hidden_size', H),
          ],
          { name: 'lstm' },
        ),
        makeNode('Squeeze', ['Y'], ['Y_sq'], [attr.ints('axes', [1])], { name: 'squeeze' }),
        makeNode('MatMul', ['Y_sq', 'head.weight'], ['logits'], [], { name: 'head' }),
      ],
    });
    return { model: modelAt(11, graph) };
  },
  inputs: () => ({ sequence: floatInput([lstmData.T, 1, lstmData.I], lstmData.x) }),
  expected: () => {
    const { H, I, T } = lstmData;
    const wb = lstmData.b.subarray(0, 4 * H);
    const rb = lstmData.b.subarray(4 * H);
    const out = ref.lstm(lstmData.x, T, 1, I, lstmData.w, lstmData.r, wb, rb, H);
    return {
      logits: { dims: [T, 1, 2], data: ref.matmul(out.y, lstmData.head, T, H, 2), tolerance: 1e-5 },
      Y_h: { dims: [1, 1, H], data: out.yh, tolerance: 1e-5 },
      Y_c: { dims: [1, 1, H], data: out.yc, tolerance: 1e-5 },
    };
  },
  weights: () => ({ 'lstm.W': lstmData.w, 'lstm.R': lstmData.r, 'lstm.B': lstmData.b }),
};

// ---------------------------------------------------------------------------------------------
// A one-head attention block (opset 17): LayerNormalization, MatMul, Transpose perm, Softmax,
// empty and absent node names, dynamic sequence length.

const att = (() => {
  const rng = seeded(4);
  const D = 8;
  return {
    D,
    S: 3,
    lnScale: ref.map(randomFloats(rng, D, 0.2), (v) => 1 + v),
    lnBias: randomFloats(rng, D, 0.1),
    wq: randomFloats(rng, D * D, 0.4),
    wk: randomFloats(rng, D * D, 0.4),
    wv: randomFloats(rng, D * D, 0.4),
    wo: randomFloats(rng, D * D, 0.4),
    x: randomFloats(seeded(104), 3 * D, 1),
  };
})();

const attentionFixture: Fixture = {
  id: 'attention-opset17',
  description: 'single-head attention block with LayerNormalization (opset 17 / IR 8), Transpose perm, Softmax, residual; empty and absent node names',
  features: ['transformer', 'layernorm', 'ints-attr', 'empty-node-names', 'symbolic-dims', 'constant-value_float', 'opset-17', 'ir-8'],
  runnable: true,
  build: () => {
    const { D } = att;
    const graph = makeGraph({
      name: 'attention',
      inputs: [vi('tokens', FLOAT, [1, 'seq', D])],
      outputs: [vi('hidden', FLOAT, [1, 'seq', D])],
      initializers: [
        f32('ln.weight', [D], att.lnScale),
        f32('ln.bias', [D], att.lnBias),
        f32('q.weight', [D, D], att.wq),
        f32('k.weight', [D, D], att.wk),
        f32('v.weight', [D, D], att.wv),
        f32('o.weight', [D, D], att.wo),
      ],
      nodes: [
        makeNode('LayerNormalization', ['tokens', 'ln.weight', 'ln.bias'], ['ln'], [attr.int('axis', -1), attr.float('epsilon', 1e-5)], { name: '' }),
        makeNode('MatMul', ['ln', 'q.weight'], ['q'], [], { name: '' }),
        makeNode('MatMul', ['ln', 'k.weight'], ['k'], [], { name: '' }),
        makeNode('MatMul', ['ln', 'v.weight'], ['v'], []),
        makeNode('Transpose', ['k'], ['kt'], [attr.ints('perm', [0, 2, 1])]),
        makeNode('MatMul', ['q', 'kt'], ['scores'], [], { name: '' }),
        makeNode('Constant', [], ['inv_sqrt_d'], [attr.float('value_float', 1 / Math.sqrt(D))], { name: '' }),
        makeNode('Mul', ['scores', 'inv_sqrt_d'], ['scaled'], []),
        makeNode('Softmax', ['scaled'], ['probs'], [attr.int('axis', -1)], { name: '' }),
        makeNode('MatMul', ['probs', 'v'], ['ctx'], []),
        makeNode('MatMul', ['ctx', 'o.weight'], ['proj'], [], { name: '' }),
        makeNode('Add', ['tokens', 'proj'], ['hidden'], []),
      ],
    });
    return { model: modelAt(17, graph) };
  },
  inputs: () => ({ tokens: floatInput([1, att.S, att.D], att.x) }),
  expected: () => {
    const { D, S } = att;
    const eps = Math.fround(1e-5);
    const ln = new Float32Array(S * D);
    for (let s = 0; s < S; s++) {
      let mean = 0;
      for (let d = 0; d < D; d++) mean += att.x[s * D + d];
      mean /= D;
      let v = 0;
      for (let d = 0; d < D; d++) v += (att.x[s * D + d] - mean) ** 2;
      v /= D;
      for (let d = 0; d < D; d++) ln[s * D + d] = ((att.x[s * D + d] - mean) / Math.sqrt(v + eps)) * att.lnScale[d] + att.lnBias[d];
    }
    const q = ref.matmul(ln, att.wq, S, D, D);
    const k = ref.matmul(ln, att.wk, S, D, D);
    const v = ref.matmul(ln, att.wv, S, D, D);
    const scores = new Float32Array(S * S);
    const scale = Math.fround(1 / Math.sqrt(D));
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[i * D + d] * k[j * D + d];
        scores[i * S + j] = s * scale;
      }
    const p = ref.softmaxRows(scores, S, S);
    const ctx = ref.matmul(p, v, S, S, D);
    const proj = ref.matmul(ctx, att.wo, S, D, D);
    return { hidden: { dims: [1, S, D], data: ref.map(proj, (o, i) => o + att.x[i]), tolerance: 1e-4 } };
  },
  weights: () => ({ 'q.weight': att.wq, inv_sqrt_d: [Math.fround(1 / Math.sqrt(att.D))] }),
};

// ---------------------------------------------------------------------------------------------
// Op-version variants: signatures that changed between opsets 9, 10 and 11.

const small = randomFloats(seeded(105), 9, 1);

const padUpsampleFixture: Fixture = {
  id: 'pad-upsample-opset9',
  description: 'opset 9 / IR 4 signatures: Pad with pads/mode/value attributes, Upsample with a scales input, Clip with min/max attributes',
  features: ['string-attr', 'float-attr', 'ints-attr', 'opset-9', 'ir-4'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'pad_upsample',
      inputs: [vi('x', FLOAT, [1, 1, 3, 3])],
      outputs: [vi('y', FLOAT, [1, 1, 10, 10]), vi('edge', FLOAT, [1, 1, 4, 4])],
      initializers: [f32('scales', [4], [1, 1, 2, 2])],
      nodes: [
        makeNode('Pad', ['x'], ['padded'], [attr.string('mode', 'constant'), attr.ints('pads', [0, 0, 1, 1, 0, 0, 1, 1]), attr.float('value', 0.5)]),
        makeNode('Upsample', ['padded', 'scales'], ['up'], [attr.string('mode', 'nearest')]),
        makeNode('Clip', ['up'], ['y'], [attr.float('min', -0.5), attr.float('max', 0.75)]),
        makeNode('Pad', ['x'], ['edge'], [attr.string('mode', 'edge'), attr.ints('pads', [0, 0, 1, 0, 0, 0, 0, 1])]),
      ],
    });
    return { model: modelAt(9, graph) };
  },
  inputs: () => ({ x: floatInput([1, 1, 3, 3], small) }),
  expected: () => {
    const padded = (r: number, c: number) => (r < 1 || r > 3 || c < 1 || c > 3 ? 0.5 : small[(r - 1) * 3 + (c - 1)]);
    const y = Float32Array.from({ length: 100 }, (_, i) => Math.min(0.75, Math.max(-0.5, padded(Math.floor(i / 10 / 2), Math.floor((i % 10) / 2)))));
    const edge = Float32Array.from({ length: 16 }, (_, i) => {
      const r = Math.min(2, Math.max(0, Math.floor(i / 4) - 1));
      const c = Math.min(2, i % 4);
      return small[r * 3 + c];
    });
    return { y: { dims: [1, 1, 10, 10], data: y }, edge: { dims: [1, 1, 4, 4], data: edge } };
  },
};

const resizeFixture: Fixture = {
  id: 'resize-opset10',
  description: 'opset 10 / IR 5: Resize(X, scales) nearest, Slice with starts/ends/axes/steps inputs, QuantizeLinear/DequantizeLinear uint8, ThresholdedRelu',
  features: ['string-attr', 'float-attr', 'uint8', 'opset-10', 'ir-5'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'resize10',
      inputs: [vi('x', FLOAT, [1, 1, 3, 3])],
      outputs: [vi('sliced', FLOAT, [1, 1, 6, 2]), vi('dq', FLOAT, [1, 1, 3, 3])],
      initializers: [
        f32('scales', [4], [1, 1, 2, 2]),
        i64('starts', [1], [1]),
        i64('ends', [1], [3]),
        i64('axes', [1], [3]),
        i64('steps', [1], [1]),
        f32('q_scale', [], [0.02]),
        makeTensor('q_zero', DataType.UINT8, [], [128]),
      ],
      nodes: [
        makeNode('Resize', ['x', 'scales'], ['up'], [attr.string('mode', 'nearest')]),
        makeNode('Slice', ['up', 'starts', 'ends', 'axes', 'steps'], ['sliced_raw']),
        makeNode('ThresholdedRelu', ['sliced_raw'], ['sliced'], [attr.float('alpha', 0.2)]),
        makeNode('QuantizeLinear', ['x', 'q_scale', 'q_zero'], ['q']),
        makeNode('DequantizeLinear', ['q', 'q_scale', 'q_zero'], ['dq']),
      ],
    });
    return { model: modelAt(10, graph) };
  },
  inputs: () => ({ x: floatInput([1, 1, 3, 3], small) }),
};

const padResizeFixture: Fixture = {
  id: 'pad-resize-opset11',
  description: 'opset 11 / IR 6: Pad(reflect) with a pads input, Resize(linear, align_corners) with an empty roi tensor, Clip with min/max inputs',
  features: ['string-attr', 'empty-tensor', 'opset-11', 'ir-6'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'pad_resize11',
      inputs: [vi('x', FLOAT, [1, 1, 3, 3])],
      outputs: [vi('y', FLOAT, [1, 1, 10, 10])],
      initializers: [
        i64('pads', [8], [0, 0, 1, 1, 0, 0, 1, 1]),
        f32('roi', [0], []),
        f32('scales', [4], [1, 1, 2, 2]),
        f32('lo', [], [-0.4]),
        f32('hi', [], [0.6]),
      ],
      nodes: [
        makeNode('Pad', ['x', 'pads'], ['padded'], [attr.string('mode', 'reflect')]),
        makeNode('Resize', ['padded', 'roi', 'scales'], ['up'], [
          attr.string('coordinate_transformation_mode', 'align_corners'),
          attr.string('mode', 'linear'),
        ]),
        makeNode('Clip', ['up', 'lo', 'hi'], ['y']),
      ],
    });
    return { model: modelAt(11, graph) };
  },
  inputs: () => ({ x: floatInput([1, 1, 3, 3], small) }),
};

export const NET_FIXTURES: Fixture[] = [
  cnnFixture,
  mlpFixture,
  lstmFixture,
  attentionFixture,
  padUpsampleFixture,
  resizeFixture,
  padResizeFixture,
];
