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
Session 18:
  gpt2      GPT-2-style: Conv1D as addmm (Gemm without transB), a tied LM head that constant folding
            writes as a transposed copy of the table; samples: folders of input_ids.npy
  bert      BERT-style: input_ids, attention_mask (padding), token_type_ids
  wfirst    MatMul with its weight first (W @ x on [B, C, T]) and an Einsum linear layer
  unet      Conv/BatchNorm blocks, MaxPool, ConvTranspose and bilinear Upsample, skip Concats
  yolo      Conv/BatchNorm/SiLU, Split, SPPF max pools, nearest Upsample
  cond      torch.jit.script with a data-dependent if: Convs in both branches of an If
  lstm      Linear + 2-layer LSTM + Linear
  loop      an RNN cell as a scripted Python loop: Linear layers in a Loop body
Trained exports with nested Ifs and LSTMs: silero-vad (npm pack @ricky0123/vad-web@0.0.31, its
dist/silero_vad_*.onnx), with audio (--samples DIR --sample-rate 16000 --dims input[1]=512).
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
m = sys.argv[2:] or ['resnet18', 'mbv3', 'effb0', 'tenc', 'tencnf', 'ae', 'ae16', 'resnext', 'kws', 'vit', 'dw9', 'tiedemb', 'gpt2', 'bert', 'wfirst', 'unet', 'yolo', 'cond', 'lstm', 'loop']
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

# Session 18: more shapes a real export takes.
def save_sets(name, sets):
    """40 samples, each a folder of <input>.npy (several inputs)."""
    d = os.path.join(OUT, name + '-samples'); os.makedirs(d, exist_ok=True)
    for i in range(40):
        sd = os.path.join(d, f's{i:03d}'); os.makedirs(sd, exist_ok=True)
        for k, v in sets(i).items(): np.save(os.path.join(sd, k + '.npy'), v)
class Conv1D(nn.Module):
    """GPT-2's Conv1D: addmm(bias, x.view(-1, nx), w) with w [nx, nf] (a Gemm without transB)."""
    def __init__(s, nx, nf):
        super().__init__(); s.w = nn.Parameter(torch.randn(nx, nf) * 0.02); s.b = nn.Parameter(torch.zeros(nf))
    def forward(s, x):
        sh = x.size()[:-1] + (s.w.size(1),)
        return torch.addmm(s.b, x.view(-1, x.size(-1)), s.w).view(sh)
class GPTBlock(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h; s.ln1 = nn.LayerNorm(d); s.attn = Conv1D(d, 3 * d); s.proj = Conv1D(d, d); s.ln2 = nn.LayerNorm(d); s.fc = Conv1D(d, 4 * d); s.fc2 = Conv1D(4 * d, d)
    def forward(s, x):
        B, T, D = x.shape
        q, k, v = s.attn(s.ln1(x)).split(D, dim=2)
        q = q.view(B, T, s.h, D // s.h).transpose(1, 2); k = k.view(B, T, s.h, D // s.h).transpose(1, 2); v = v.view(B, T, s.h, D // s.h).transpose(1, 2)
        a = q @ k.transpose(-1, -2) / (D // s.h) ** 0.5
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        a = a.masked_fill(~mask, -1e4).softmax(-1)
        x = x + s.proj((a @ v).transpose(1, 2).reshape(B, T, D))
        hh = s.fc(s.ln2(x))
        hh = 0.5 * hh * (1 + torch.tanh(0.7978845608 * (hh + 0.044715 * hh ** 3)))
        return x + s.fc2(hh)
class GPT(nn.Module):
    def __init__(s, V=2000, D=128, L=2):
        super().__init__(); s.wte = nn.Embedding(V, D); s.wpe = nn.Embedding(64, D); s.blocks = nn.ModuleList([GPTBlock(D, 4) for _ in range(L)]); s.ln = nn.LayerNorm(D)
    def forward(s, ids):
        x = s.wte(ids) + s.wpe(torch.arange(ids.shape[1]).unsqueeze(0))
        for b in s.blocks: x = b(x)
        return s.ln(x) @ s.wte.weight.t()
if 'gpt2' in m:
    mod = GPT(); mod.eval(); p = os.path.join(OUT, 'gpt2.onnx')
    torch.onnx.export(mod, torch.randint(0, 2000, (1, 16)), p, opset_version=14, input_names=['input_ids'], output_names=['logits'], dynamic_axes={'input_ids': {0: 'b', 1: 't'}})
    save_sets('gpt2', lambda i: {'input_ids': np.random.randint(0, 2000, (1, 16)).astype(np.int64)})
    print('gpt2', os.path.getsize(p) // 1024, 'KB')
class Bert(nn.Module):
    def __init__(s, V=3000, D=128):
        super().__init__(); s.we = nn.Embedding(V, D); s.pe = nn.Embedding(64, D); s.te = nn.Embedding(2, D); s.ln = nn.LayerNorm(D)
        s.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, 4, 512, activation='gelu', batch_first=True), 2); s.pool = nn.Linear(D, D); s.cls = nn.Linear(D, 3)
        for l in s.enc.layers:
            for q in l.parameters():
                if q.dim() > 1: nn.init.xavier_uniform_(q)
    def forward(s, ids, mask, tt):
        x = s.ln(s.we(ids) + s.pe(torch.arange(ids.shape[1]).unsqueeze(0)) + s.te(tt))
        x = s.enc(x, src_key_padding_mask=mask == 0)
        return s.cls(torch.tanh(s.pool(x[:, 0])))
if 'bert' in m:
    mod = Bert(); mod.eval(); p = os.path.join(OUT, 'bert.onnx')
    T = 24; ids = torch.randint(0, 3000, (1, T)); mask = torch.ones(1, T, dtype=torch.int64); tt = torch.zeros(1, T, dtype=torch.int64)
    torch.onnx.export(mod, (ids, mask, tt), p, opset_version=14, input_names=['input_ids', 'attention_mask', 'token_type_ids'], output_names=['logits'], dynamic_axes={k: {0: 'batch', 1: 'seq'} for k in ['input_ids', 'attention_mask', 'token_type_ids']})
    def bset(i):
        n = np.random.randint(8, T + 1); mk = np.zeros((1, T), np.int64); mk[0, :n] = 1
        t2 = np.zeros((1, T), np.int64); t2[0, n // 2:n] = 1
        return {'input_ids': np.random.randint(0, 3000, (1, T)).astype(np.int64), 'attention_mask': mk, 'token_type_ids': t2}
    save_sets('bert', bset)
    print('bert', os.path.getsize(p) // 1024, 'KB')
class WFirst(nn.Module):
    """Weights as MatMul's first input: y = W @ x on [B, C, T] (a 1x1 conv written as a product), and an Einsum linear."""
    def __init__(s):
        super().__init__(); s.w1 = nn.Parameter(torch.randn(128, 64) * 0.1); s.w2 = nn.Parameter(torch.randn(96, 128) * 0.1); s.w3 = nn.Parameter(torch.randn(10, 96) * 0.1)
    def forward(s, x):
        h = torch.relu(torch.matmul(s.w1, x))
        h = torch.relu(torch.matmul(s.w2, h))
        return torch.einsum('bct,oc->bto', h, s.w3)
if 'wfirst' in m: export('wfirst', WFirst(), torch.randn(1, 64, 50), {'input': {0: 'b', 2: 't'}}, 13)
class UNet(nn.Module):
    def __init__(s):
        super().__init__()
        cb = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())
        s.e1 = cb(3, 16); s.e2 = cb(16, 32); s.e3 = cb(32, 64); s.up2 = nn.ConvTranspose2d(64, 32, 2, 2); s.d2 = cb(64, 32); s.up1 = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False); s.d1 = cb(48, 16); s.out = nn.Conv2d(16, 2, 1)
    def forward(s, x):
        a = s.e1(x); b = s.e2(nn.functional.max_pool2d(a, 2)); c = s.e3(nn.functional.max_pool2d(b, 2))
        d = s.d2(torch.cat([s.up2(c), b], 1)); return s.out(s.d1(torch.cat([s.up1(d), a], 1)))
if 'unet' in m: export('unet', UNet(), torch.randn(1, 3, 64, 64), {'input': {0: 'b', 2: 'h', 3: 'w'}}, 13)
class YoloBlock(nn.Module):
    def __init__(s):
        super().__init__()
        c = lambda i, o, k=1, st=1: nn.Sequential(nn.Conv2d(i, o, k, st, k // 2, bias=False), nn.BatchNorm2d(o), nn.SiLU())
        s.stem = c(3, 16, 3, 2); s.d1 = c(16, 32, 3, 2); s.cv1 = c(32, 32); s.m = nn.Sequential(c(16, 16, 3), c(16, 16, 3)); s.cv2 = c(48, 32)
        s.d2 = c(32, 64, 3, 2); s.sppf1 = c(64, 32); s.sppf2 = c(128, 64); s.up = nn.Upsample(scale_factor=2, mode='nearest'); s.head = nn.Conv2d(96, 21, 1)
    def forward(s, x):
        x = s.d1(s.stem(x)); y = list(s.cv1(x).chunk(2, 1)); y.append(s.m(y[-1])); p3 = s.cv2(torch.cat(y, 1))
        z = s.sppf1(s.d2(p3)); y1 = nn.functional.max_pool2d(z, 5, 1, 2); y2 = nn.functional.max_pool2d(y1, 5, 1, 2); y3 = nn.functional.max_pool2d(y2, 5, 1, 2)
        p4 = s.sppf2(torch.cat([z, y1, y2, y3], 1))
        return s.head(torch.cat([s.up(p4), p3], 1))
if 'yolo' in m: export('yolo', YoloBlock(), torch.randn(1, 3, 128, 128), {'input': {0: 'b'}}, 12)
class Cond(nn.Module):
    """An If with Conv and Linear layers in its branches (torch.jit.script)."""
    def __init__(s):
        super().__init__(); s.stem = nn.Conv2d(3, 16, 3, 1, 1); s.a = nn.Conv2d(16, 32, 3, 1, 1); s.b = nn.Conv2d(16, 32, 1); s.fc = nn.Linear(32, 10)
    def forward(s, x):
        h = torch.relu(s.stem(x))
        if bool(h.mean() > 0.3): h = torch.relu(s.a(h))
        else: h = torch.relu(s.b(h))
        return s.fc(h.mean([2, 3]))
if 'cond' in m:
    mod = torch.jit.script(Cond().eval()); p = os.path.join(OUT, 'cond.onnx')
    torch.onnx.export(mod, (torch.randn(1, 3, 32, 32),), p, opset_version=13, input_names=['input'], output_names=['output'])
    d = os.path.join(OUT, 'cond-samples'); os.makedirs(d, exist_ok=True)
    for i in range(40): np.save(os.path.join(d, f's{i:03d}.npy'), (np.random.randn(1, 3, 32, 32) + (0.6 if i % 2 else -0.6)).astype(np.float32))
    print('cond', os.path.getsize(p) // 1024, 'KB')
class LSTMm(nn.Module):
    def __init__(s):
        super().__init__(); s.inp = nn.Linear(40, 96); s.lstm = nn.LSTM(96, 96, num_layers=2, batch_first=True); s.out = nn.Linear(96, 20)
    def forward(s, x): return s.out(s.lstm(torch.relu(s.inp(x)))[0])
if 'lstm' in m: export('lstm', LSTMm(), torch.randn(1, 30, 40), {'input': {0: 'b', 1: 't'}}, 14)
class CellLoop(nn.Module):
    """An RNN cell written as a Python loop over time (torch.jit.script): Linear layers in a Loop body."""
    def __init__(s):
        super().__init__(); s.ih = nn.Linear(20, 48); s.hh = nn.Linear(48, 48); s.out = nn.Linear(48, 5)
    def forward(s, x):
        h = torch.zeros(x.size(0), 48)
        for t in range(x.size(1)):
            h = torch.tanh(s.ih(x[:, t]) + s.hh(h))
        return s.out(h)
if 'loop' in m:
    mod = torch.jit.script(CellLoop().eval()); p = os.path.join(OUT, 'loop.onnx')
    torch.onnx.export(mod, (torch.randn(1, 15, 20),), p, opset_version=13, input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'b', 1: 't'}})
    d = os.path.join(OUT, 'loop-samples'); os.makedirs(d, exist_ok=True)
    for i in range(40): np.save(os.path.join(d, f's{i:03d}.npy'), np.random.randn(1, 15, 20).astype(np.float32))
    print('loop', os.path.getsize(p) // 1024, 'KB')
