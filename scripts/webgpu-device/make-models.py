"""Builds the original models for the WebGPU device benchmark (run where they are measured).

  python3 make-models.py OUTDIR [--hidden 1024] [--layers 4] [--seq 128] [--cnn]

transformer.onnx: a transformer-encoder-like stack written node by node (onnx.helper, opset 17):
per layer LayerNormalization, QKV MatMul [H, 3H], 16-head attention (MatMul, Softmax, MatMul),
output MatMul [H, H], residual Add, LayerNormalization, MLP MatMul [H, 4H] -> Gelu (Erf form)
-> MatMul [4H, H], residual Add; input x [1, S, H]. Weights: PyTorch's default Linear init
(uniform +-1/sqrt(fan_in)) from numpy's seeded generator, biases small, LayerNorm gamma 1.
--cnn: torchvision resnet18 and mobilenet_v3_small (random init, seed 0) exported at opset 17
with input [1, 3, 224, 224] (needs torch and torchvision; a failed export is reported and skipped).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def transformer(hidden, layers, seq, heads=16, seed=0):
    rng = np.random.default_rng(seed)
    hd = hidden // heads
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def linear(name, x, fin, fout):
        bound = 1.0 / np.sqrt(fin)
        w = const(f'{name}.weight', rng.uniform(-bound, bound, (fin, fout)).astype(np.float32))
        b = const(f'{name}.bias', rng.uniform(-bound, bound, (fout,)).astype(np.float32))
        nodes.append(helper.make_node('MatMul', [x, w], [f'{name}.mm'], name=name))
        nodes.append(helper.make_node('Add', [f'{name}.mm', b], [f'{name}.out'], name=f'{name}.add'))
        return f'{name}.out'

    def layernorm(name, x):
        g = const(f'{name}.weight', np.ones(hidden, np.float32))
        b = const(f'{name}.bias', np.zeros(hidden, np.float32))
        nodes.append(helper.make_node('LayerNormalization', [x, g, b], [f'{name}.out'], name=name, axis=-1, epsilon=1e-5))
        return f'{name}.out'

    const('shape.heads', np.array([1, seq, heads, hd], np.int64))
    const('shape.flat', np.array([1, seq, hidden], np.int64))
    const('split.qkv', np.array([hidden, hidden, hidden], np.int64))
    const('attn.scale', np.array(1.0 / np.sqrt(hd), np.float32))
    const('gelu.sqrt2', np.array(np.sqrt(2.0), np.float32))
    const('gelu.one', np.array(1.0, np.float32))
    const('gelu.half', np.array(0.5, np.float32))
    x = 'x'
    for i in range(layers):
        p = f'blocks.{i}'
        h = layernorm(f'{p}.ln1', x)
        qkv = linear(f'{p}.attn.qkv', h, hidden, 3 * hidden)
        nodes.append(helper.make_node('Split', [qkv, 'split.qkv'], [f'{p}.q', f'{p}.k', f'{p}.v'], name=f'{p}.split', axis=-1))
        for t, perm in (('q', [0, 2, 1, 3]), ('k', [0, 2, 3, 1]), ('v', [0, 2, 1, 3])):
            nodes.append(helper.make_node('Reshape', [f'{p}.{t}', 'shape.heads'], [f'{p}.{t}4'], name=f'{p}.{t}.reshape'))
            nodes.append(helper.make_node('Transpose', [f'{p}.{t}4'], [f'{p}.{t}t'], name=f'{p}.{t}.transpose', perm=perm))
        nodes.append(helper.make_node('MatMul', [f'{p}.qt', f'{p}.kt'], [f'{p}.scores'], name=f'{p}.attn.scores'))
        nodes.append(helper.make_node('Mul', [f'{p}.scores', 'attn.scale'], [f'{p}.scaled'], name=f'{p}.attn.scale'))
        nodes.append(helper.make_node('Softmax', [f'{p}.scaled'], [f'{p}.probs'], name=f'{p}.attn.softmax', axis=-1))
        nodes.append(helper.make_node('MatMul', [f'{p}.probs', f'{p}.vt'], [f'{p}.ctx4'], name=f'{p}.attn.context'))
        nodes.append(helper.make_node('Transpose', [f'{p}.ctx4'], [f'{p}.ctxt'], name=f'{p}.ctx.transpose', perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node('Reshape', [f'{p}.ctxt', 'shape.flat'], [f'{p}.ctx'], name=f'{p}.ctx.reshape'))
        o = linear(f'{p}.attn.out', f'{p}.ctx', hidden, hidden)
        nodes.append(helper.make_node('Add', [x, o], [f'{p}.res1'], name=f'{p}.res1'))
        h2 = layernorm(f'{p}.ln2', f'{p}.res1')
        f1 = linear(f'{p}.mlp.fc1', h2, hidden, 4 * hidden)
        nodes.append(helper.make_node('Div', [f1, 'gelu.sqrt2'], [f'{p}.g.div'], name=f'{p}.gelu.div'))
        nodes.append(helper.make_node('Erf', [f'{p}.g.div'], [f'{p}.g.erf'], name=f'{p}.gelu.erf'))
        nodes.append(helper.make_node('Add', [f'{p}.g.erf', 'gelu.one'], [f'{p}.g.add'], name=f'{p}.gelu.add'))
        nodes.append(helper.make_node('Mul', [f1, f'{p}.g.add'], [f'{p}.g.mul'], name=f'{p}.gelu.mul'))
        nodes.append(helper.make_node('Mul', [f'{p}.g.mul', 'gelu.half'], [f'{p}.gelu'], name=f'{p}.gelu.half'))
        f2 = linear(f'{p}.mlp.fc2', f'{p}.gelu', 4 * hidden, hidden)
        nodes.append(helper.make_node('Add', [f'{p}.res1', f2], [f'{p}.out'], name=f'{p}.res2'))
        x = f'{p}.out'
    y = layernorm('ln_f', x)
    nodes.append(helper.make_node('Identity', [y], ['y'], name='output'))
    graph = helper.make_graph(
        nodes, 'transformer',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, seq, hidden])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, seq, hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], producer_name='webgpu-device/make-models.py')
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def torchvision_model(name, path):
    import torch
    import torchvision
    torch.manual_seed(0)
    net = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    kw = dict(opset_version=17, input_names=['input'], output_names=['logits'])
    try:
        torch.onnx.export(net, (x,), path, dynamo=False, **kw)
    except TypeError:  # torch < 2.5 has no dynamo argument
        torch.onnx.export(net, (x,), path, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--hidden', type=int, default=1024)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--cnn', action='store_true')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    m = transformer(a.hidden, a.layers, a.seq)
    p = os.path.join(a.out, 'transformer.onnx')
    onnx.save(m, p)
    print(f'{p}: hidden {a.hidden}, {a.layers} layers, seq {a.seq}, {os.path.getsize(p) / 2**20:.1f} MiB', flush=True)
    for name in ('resnet18', 'mobilenet_v3_small') if a.cnn else ():
        p = os.path.join(a.out, f'{name}.onnx')
        try:
            torchvision_model(name, p)
            print(f'{p}: {os.path.getsize(p) / 2**20:.1f} MiB', flush=True)
        except Exception as e:  # the benchmark goes on with the other models
            print(f'{name} export failed: {type(e).__name__}: {e}', file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
