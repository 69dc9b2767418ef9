#!/usr/bin/python3
"""Exports the real architectures session 17 tried recovery on (random weights, seeded) into OUT_DIR,
each with a folder of 40 random .npy samples (NAME-samples/), for `npm run cli -- compress ... --samples`.
Not committed: run it where you need them (Debian's python3-torch, python3-torchvision, python3-onnx):

    /usr/bin/python3 scripts/make-try-models.py OUT_DIR [NAME ...]

  resnet18, resnext (resnext50_32x4d: groups 32), mbv3 (mobilenet_v3_small), effb0 (efficientnet_b0, opset 11)
  tenc      a 4-layer nn.TransformerEncoder whose layers are equal at init: torch writes their weights once,
            behind Identity nodes (a weight several layers read)
  tencnf    the same, layers initialised apart, exported without constant folding (weights through Transpose)
  ae, ae16  Conv + ConvTranspose autoencoder; ae16: the same in float16 (weights, input, output)
  kws       Conv1d + GRU + Linear, dynamic time
  vit       patch Conv 16x16 stride 16 + 3 pre-norm encoder layers
  dw9       depthwise-separable block with BatchNormalization kept, opset 9, no constant folding
  tiedemb   Gather(wte) ... MatMul(h, Transpose(wte)): a tied embedding (onnx.helper)
"""
import os, sys, numpy as np, torch, torchvision
from torch import nn
torch.manual_seed(0); np.random.seed(0)
OUT = sys.argv[1] if len(sys.argv) > 1 else 'try-models'
os.makedirs(OUT, exist_ok=True)
def export(name, model, x, dyn, opset, names=('input',), outs=('output',)):
    model.eval()
    p = os.path.join(OUT, name + '.onnx')
    torch.onnx.export(model, x, p, opset_version=opset, input_names=list(names), output_names=list(outs), dynamic_axes=dyn)
    d = os.path.join(OUT, name + '-samples'); os.makedirs(d, exist_ok=True)
    xs = x if isinstance(x, tuple) else (x,)
    for i in range(40):
        if len(xs) == 1:
            a = np.random.randn(*xs[0].shape).astype(np.float32) if xs[0].dtype == torch.float32 else xs[0].numpy()
            np.save(os.path.join(d, f's{i:03d}.npy'), a)
    print(name, os.path.getsize(p) // 1024, 'KB')
m = sys.argv[2:] or ['resnet18', 'mbv3', 'effb0', 'tenc', 'tencnf', 'ae', 'ae16', 'resnext', 'kws', 'vit', 'dw9', 'tiedemb']
if 'resnet18' in m: export('resnet18', torchvision.models.resnet18(), torch.randn(1, 3, 224, 224), {'input': {0: 'batch'}}, 17)
if 'mbv3' in m: export('mbv3', torchvision.models.mobilenet_v3_small(), torch.randn(1, 3, 224, 224), {'input': {0: 'N'}}, 13)
if 'effb0' in m: export('effb0', torchvision.models.efficientnet_b0(), torch.randn(1, 3, 224, 224), None, 11)
class TEnc(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Linear(80, 256); s.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True), 4); s.head = nn.Linear(256, 32)
    def forward(s, x): return s.head(s.enc(s.emb(x)))
if 'tenc' in m: export('tenc', TEnc(), torch.randn(1, 50, 80), {'input': {0: 'batch', 1: 'time'}}, 14)
class AE(nn.Module):
    def __init__(s):
        super().__init__()
        s.e = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU())
        s.d = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid())
    def forward(s, x): return s.d(s.e(x))
if 'ae' in m: export('ae', AE(), torch.randn(1, 1, 64, 64), {'input': {0: 'b'}}, 12)
if 'resnext' in m: export('resnext', torchvision.models.resnext50_32x4d(), torch.randn(1, 3, 224, 224), {'input': {0: 'batch'}}, 15)
class KWS(nn.Module):
    def __init__(s):
        super().__init__(); s.conv = nn.Conv1d(40, 64, 3, padding=1); s.gru = nn.GRU(64, 64, batch_first=True); s.fc = nn.Linear(64, 12)
    def forward(s, x):
        h = torch.relu(s.conv(x)).transpose(1, 2)
        o, _ = s.gru(h)
        return s.fc(o[:, -1])
if 'kws' in m: export('kws', KWS(), torch.randn(1, 40, 98), {'input': {0: 'b', 2: 't'}}, 13)
class ViT(nn.Module):
    def __init__(s):
        super().__init__(); s.patch = nn.Conv2d(3, 192, 16, 16); s.pos = nn.Parameter(torch.randn(1, 196, 192) * 0.02)
        s.enc = nn.ModuleList([nn.TransformerEncoderLayer(192, 3, 768, batch_first=True, norm_first=True, activation='gelu') for _ in range(3)])
        for l in s.enc:
            for p in l.parameters():
                if p.dim() > 1: nn.init.xavier_uniform_(p)
        s.head = nn.Linear(192, 10)
    def forward(s, x):
        t = s.patch(x).flatten(2).transpose(1, 2) + s.pos
        for l in s.enc: t = l(t)
        return s.head(t.mean(1))
if 'vit' in m: export('vit', ViT(), torch.randn(1, 3, 224, 224), {'input': {0: 'b'}}, 14)
class DW(nn.Module):
    def __init__(s):
        super().__init__()
        s.f = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(), nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU6(), nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
        for mod in s.f:
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2); mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.2, 0.2)
    def forward(s, x): return s.f(x)
if 'dw9' in m:
    mod = DW(); mod.eval()
    p = os.path.join(OUT, 'dw9.onnx')
    torch.onnx.export(mod, torch.randn(1, 3, 64, 64), p, opset_version=9, input_names=['input'], output_names=['output'], do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    d = os.path.join(OUT, 'dw9-samples'); os.makedirs(d, exist_ok=True)
    for i in range(40): np.save(os.path.join(d, f's{i:03d}.npy'), np.random.randn(1, 3, 64, 64).astype(np.float32))
    print('dw9', os.path.getsize(p) // 1024, 'KB')

if 'tencnf' in m:
    torch.manual_seed(1)
    mod = TEnc()
    for l in mod.enc.layers:
        for p in l.parameters():
            if p.dim() > 1: nn.init.xavier_uniform_(p)
    mod.eval()
    p = os.path.join(OUT, 'tencnf.onnx')
    torch.onnx.export(mod, torch.randn(1, 50, 80), p, opset_version=14, input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'b', 1: 't'}}, do_constant_folding=False)
    print('tencnf', os.path.getsize(p) // 1024, 'KB')
if 'ae16' in m:
    import onnx
    from onnx import numpy_helper, TensorProto
    if not os.path.exists(os.path.join(OUT, 'ae.onnx')): export('ae', AE(), torch.randn(1, 1, 64, 64), {'input': {0: 'b'}}, 12)
    mm = onnx.load(os.path.join(OUT, 'ae.onnx'))
    for t in mm.graph.initializer: t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for v in list(mm.graph.input) + list(mm.graph.output): v.type.tensor_type.elem_type = TensorProto.FLOAT16
    del mm.graph.value_info[:]
    onnx.save(mm, os.path.join(OUT, 'ae16.onnx'))
    d = os.path.join(OUT, 'ae16-samples'); os.makedirs(d, exist_ok=True)
    for i in range(40): np.save(os.path.join(d, f's{i:03d}.npy'), np.random.randn(1, 1, 64, 64).astype(np.float16))
    print('ae16', os.path.getsize(os.path.join(OUT, 'ae16.onnx')) // 1024, 'KB')
if 'tiedemb' in m:
    import onnx
    from onnx import helper, TensorProto, numpy_helper
    V, D = 1000, 64
    wte = numpy_helper.from_array((np.random.randn(V, D) * 0.1).astype(np.float32), 'wte')
    w1 = numpy_helper.from_array((np.random.randn(D, D) * 0.1).astype(np.float32), 'w1')
    nodes = [helper.make_node('Gather', ['wte', 'ids'], ['e'], name='embed'), helper.make_node('MatMul', ['e', 'w1'], ['h0'], name='fc'),
             helper.make_node('Relu', ['h0'], ['h'], name='relu'), helper.make_node('Transpose', ['wte'], ['wte_t'], perm=[1, 0], name='tie'),
             helper.make_node('MatMul', ['h', 'wte_t'], ['logits'], name='lm_head')]
    g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('ids', TensorProto.INT64, [1, 8])], [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 8, V])], [wte, w1])
    mm = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); mm.ir_version = 8
    onnx.save(mm, os.path.join(OUT, 'tiedemb.onnx'))
    print('tiedemb', os.path.getsize(os.path.join(OUT, 'tiedemb.onnx')) // 1024, 'KB')
