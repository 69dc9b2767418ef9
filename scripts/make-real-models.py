#!/usr/bin/python3
"""Makes small, realistic ONNX exports for the fixture table (src/onnx/fixtures.test.ts).

Run with Debian's python (apt-get install -y python3-onnx python3-torch):
    /usr/bin/python3 scripts/make-real-models.py [OUT_DIR]        (default src/testing/real)

Each model NAME.onnx is written next to NAME.json: the inputs the test feeds and the outputs
torch computed for them, as plain JSON numbers (no numpy formats), so the test checks our
decode + encode against torch, within tolerance. Everything is seeded: rerunning gives the same
weights, inputs and model bytes (with this torch); the reference outputs may move in the last
bits between runs (BLAS summation order), far inside the test tolerance (1e-4).

Models (all tiny, each well under 300 KB):
  cnn-opset9         torch CNN (Conv, BatchNormalization, Relu, MaxPool, Flatten, Gemm), opset 9,
                     constant folding off; the conv kernels are plain tensors, so the exporter
                     writes them as Constant nodes; dynamic batch axis.
  transformer-opset17  one pre-norm transformer block (LayerNormalization, MatMul, Softmax, GELU
                     as Erf), dynamic batch and sequence axes; node names blanked afterwards, as
                     several exporters write them.
  helper-opset13     built with onnx.helper the way hand-written converters do it: weights in the
                     typed fields (float_data, int64_data, int32_data), a Constant with
                     value_floats, a sparse_initializer, doc strings and metadata_props; the
                     reference outputs are computed with numpy.
  lstm-opset11       scripted module: nn.LSTM, then a data-dependent If and a Loop over the
                     sequence (TorchScript control flow), dynamic sequence axis.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
import torch
from torch import nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'src', 'testing', 'real')
LIMIT = 300 * 1024


def tensor_json(t):
    t = t.detach().contiguous()
    dtype = {torch.float32: 'float32', torch.int64: 'int64', torch.bool: 'bool'}[t.dtype]
    data = t.reshape(-1).tolist()
    if dtype == 'bool':
        data = [1 if v else 0 for v in data]
    return {'type': dtype, 'dims': list(t.shape), 'data': data}


def export(name, model, args, input_names, output_names, opset, dynamic_axes, **kw):
    model.eval()
    path = os.path.join(OUT, name + '.onnx')
    with torch.no_grad():
        outputs = model(*args)
        if not isinstance(outputs, (tuple, list)):
            outputs = (outputs,)
        torch.onnx.export(
            model,
            args,
            path,
            input_names=input_names,
            output_names=output_names,
            opset_version=opset,
            dynamic_axes=dynamic_axes,
            **kw,
        )
    return path, outputs


def finish(name, path, args, input_names, output_names, outputs, note, post=None):
    m = onnx.load(path)
    if post is not None:
        post(m)
        onnx.save(m, path)
    onnx.checker.check_model(m)
    size = os.path.getsize(path)
    if size > LIMIT:
        raise SystemExit(f'{name}: {size} bytes is over the {LIMIT}-byte limit for committed fixtures')
    ref = {
        'model': name + '.onnx',
        'note': note,
        'producer': f'{m.producer_name} {m.producer_version}',
        'irVersion': m.ir_version,
        'opset': {o.domain: o.version for o in m.opset_import},
        'inputs': {n: tensor_json(a) for n, a in zip(input_names, args)},
        'outputs': {n: tensor_json(o) for n, o in zip(output_names, outputs)},
    }
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(ref, f, indent=None, separators=(',', ':'))
        f.write('\n')
    ops = sorted({n.op_type for n in m.graph.node})
    print(f'{name}: {size} bytes, IR {m.ir_version}, opsets {ref["opset"]}, ops {ops}')


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        # plain tensors (not parameters): traced as constants -> Constant nodes
        self.k1 = torch.randn(8, 3, 3, 3) * 0.3
        self.b1 = torch.randn(8) * 0.1
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 4 * 4, 10)
        with torch.no_grad():
            for bn in (self.bn1, self.bn2):
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.uniform_(0.8, 1.2)
                bn.bias.uniform_(-0.1, 0.1)

    def forward(self, x):
        # conv -> relu -> BN: the BN stays a BatchNormalization node (nothing to fuse it into)
        x = F.max_pool2d(self.bn1(F.relu(F.conv2d(x, self.k1, self.b1, padding=1))), 2)
        # conv -> BN -> relu: the exporter folds this BN into the conv
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


class Block(nn.Module):
    def __init__(self, d=32, heads=4, hidden=64):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        b, s, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, s, h, d // h).transpose(1, 2)
        k = k.reshape(b, s, h, d // h).transpose(1, 2)
        v = v.reshape(b, s, h, d // h).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // h) ** 0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class LstmWithControlFlow(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=6, hidden_size=12, num_layers=1, batch_first=False)
        self.head = nn.Linear(12, 4)

    def forward(self, x: torch.Tensor):
        y, (h, c) = self.lstm(x)
        # data-dependent branch -> If
        if bool(h.sum() > 0):
            z = y * 2.0
        else:
            z = y - 1.0
        # a loop over the sequence -> Loop
        acc = torch.zeros_like(z[0])
        for t in range(z.size(0)):
            acc = torch.tanh(acc + z[t])
        return self.head(acc), h


def blank_names(m):
    for n in m.graph.node:
        n.name = ''


def helper_model():
    rng = np.random.default_rng(11)
    w1 = rng.standard_normal((6, 8)).astype(np.float32) * 0.5
    b1 = rng.standard_normal(8).astype(np.float32) * 0.1
    w2 = rng.standard_normal((8, 3)).astype(np.float32) * 0.5
    scale = [0.5, 2.0, -1.0]
    # sparse 8x3 additive mask: values at flat positions 1, 9, 22
    sp_idx = np.array([1, 9, 22], dtype=np.int64)
    sp_val = np.array([0.25, -0.75, 1.5], dtype=np.float32)
    dense = np.zeros(24, dtype=np.float32)
    dense[sp_idx] = sp_val
    w2_eff = w2 + dense.reshape(8, 3)
    inits = [
        helper.make_tensor('w1', TensorProto.FLOAT, w1.shape, w1.flatten().tolist()),  # float_data
        helper.make_tensor('b1', TensorProto.FLOAT, b1.shape, b1.tolist()),
        helper.make_tensor('w2', TensorProto.FLOAT, w2.shape, w2.flatten().tolist()),
        helper.make_tensor('shape', TensorProto.INT64, [2], [-1, 3]),  # int64_data
        helper.make_tensor('gather_idx', TensorProto.INT32, [2], [2, 0]),  # int32_data
    ]
    sparse = helper.make_sparse_tensor(
        helper.make_tensor('w2_delta', TensorProto.FLOAT, [3], sp_val.tolist()),
        helper.make_tensor('w2_delta_idx', TensorProto.INT64, [3], sp_idx.tolist()),
        [8, 3])
    nodes = [
        helper.make_node('MatMul', ['x', 'w1'], ['h0'], name='fc1'),
        helper.make_node('Add', ['h0', 'b1'], ['h1'], name='fc1_bias'),
        helper.make_node('Relu', ['h1'], ['h2'], name='act'),
        helper.make_node('Add', ['w2', 'w2_delta'], ['w2_eff'], name='merge_sparse'),
        helper.make_node('MatMul', ['h2', 'w2_eff'], ['h3'], name='fc2'),
        helper.make_node('Constant', [], ['scale'], name='scale_const', value_floats=scale),
        helper.make_node('Mul', ['h3', 'scale'], ['h4'], name='scale'),
        helper.make_node('Reshape', ['h4', 'shape'], ['y'], name='flatten'),
        helper.make_node('Gather', ['y', 'gather_idx'], ['picked'], name='pick', axis=1),
    ]
    graph = helper.make_graph(
        nodes, 'helper-mlp',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 6])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 3]),
         helper.make_tensor_value_info('picked', TensorProto.FLOAT, ['batch', 2])],
        initializer=inits, doc_string='an MLP written by hand with onnx.helper',
        sparse_initializer=[sparse])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='onnx.helper',
                          doc_string='typed-field weights, Constant value_floats, sparse initializer')
    m.ir_version = 7
    helper.set_model_props(m, {'author': 'make-real-models.py', 'license': 'MIT'})
    x = rng.standard_normal((4, 6)).astype(np.float32)
    h = np.maximum(x @ w1 + b1, 0)
    y = (h @ w2_eff) * np.array(scale, dtype=np.float32)
    picked = y[:, [2, 0]]
    return m, x, y, picked


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)

    cnn = SmallCnn()
    x = torch.randn(2, 3, 16, 16)
    path, out = export('cnn-opset9', cnn, (x,), ['image'], ['logits'], 9,
                       {'image': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=False,
                       keep_initializers_as_inputs=True)
    finish('cnn-opset9', path, (x,), ['image'], ['logits'], out,
           'torch CNN, opset 9, constant folding off: conv kernels in Constant nodes, BN params as initializers that are also listed as graph inputs')

    block = Block()
    x = torch.randn(2, 5, 32)
    path, out = export('transformer-opset17', block, (x,), ['tokens'], ['hidden'], 17,
                       {'tokens': {0: 'batch', 1: 'seq'}, 'hidden': {0: 'batch', 1: 'seq'}})
    finish('transformer-opset17', path, (x,), ['tokens'], ['hidden'], out,
           'pre-norm transformer block, opset 17 (LayerNormalization), node names blanked', post=blank_names)

    m, x, y, picked = helper_model()
    path = os.path.join(OUT, 'helper-opset13.onnx')
    onnx.save(m, path)
    finish('helper-opset13', path, (torch.from_numpy(x),), ['x'], ['y', 'picked'],
           (torch.from_numpy(y), torch.from_numpy(picked)),
           'onnx.helper MLP: typed-field weights, Constant value_floats, sparse initializer; reference from numpy')

    lstm = torch.jit.script(LstmWithControlFlow())
    x = torch.randn(7, 1, 6)
    path, out = export('lstm-opset11', lstm, (x,), ['sequence'], ['logits', 'state'], 11,
                       {'sequence': {0: 'steps'}})
    finish('lstm-opset11', path, (x,), ['sequence'], ['logits', 'state'], out,
           'scripted LSTM + If + Loop, opset 11, dynamic sequence axis')


if __name__ == '__main__':
    main()
