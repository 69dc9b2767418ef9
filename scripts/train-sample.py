#!/usr/bin/python3
"""Trains the studio's built-in sample model and writes it, with its labeled test set, to public/sample/.

Run with Debian's python (apt-get install -y python3-sklearn python3-torch python3-onnx python3-numpy):
    /usr/bin/python3 scripts/train-sample.py [OUT_DIR]        (default public/sample)

Data: the 8x8 handwritten digits that python3-sklearn ships (sklearn.datasets.load_digits reads
sklearn/datasets/data/digits.csv.gz from the package; nothing is downloaded). 1,797 images, pixels
0..16, scaled to [0,1] by /16. Split 75/25 with train_test_split(random_state=0, stratify=labels).

Model: a small CNN on [batch,1,8,8]:
    Conv 3x3 16 (pad 1) -> BatchNormalization -> Relu
    Conv 3x3 32 (pad 1) -> BatchNormalization -> Relu -> MaxPool 2x2
    Flatten -> Gemm 512x64 -> Relu -> Gemm 64x10 -> logits

torch's exporter in eval mode folds each BatchNormalization into the Conv before it, and the studio's
fold-BN pass should have something to do, so the ONNX graph is written here with onnx.helper from the
trained weights: opset 13, input "input" [batch,1,8,8] float32, output "logits" [batch,10], scoped node
names (/features/conv1/Conv ...), weights as raw little-endian initializers, value_info from onnx's
shape inference. The script checks that a numpy forward pass of the written graph gives the same
predictions as torch, then writes:
    digits-cnn.onnx    the model
    digits-test.json   the held-out test set: inputName, shape, classNames, labels, inputs (64 floats each)
    digits-meta.json   float test accuracy, parameter count, opset, training settings, sha256 of the .onnx

Everything is seeded and runs on one CPU thread with deterministic algorithms, so a rerun with the same
torch/numpy/sklearn versions gives the same bytes.
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
import torch
from torch import nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'public', 'sample')
OPSET = 13
SEED = 0
SETTINGS = {
    'seed': SEED,
    'split': 'sklearn train_test_split(test_size=0.25, random_state=0, stratify=y)',
    'inputScaling': 'pixel / 16 (pixels are integers 0..16)',
    'optimizer': 'Adam',
    'learningRate': 0.002,
    'weightDecay': 0.0001,
    'batchSize': 32,
    'epochs': 40,
    'lrSchedule': 'cosine annealing to 0 over the epochs',
    'loss': 'cross-entropy',
    'torchThreads': 1,
}
MODEL_LIMIT = 200 * 1024
TEST_LIMIT = 300 * 1024


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module('conv1', nn.Conv2d(1, 16, 3, padding=1))
        self.features.add_module('bn1', nn.BatchNorm2d(16))
        self.features.add_module('relu1', nn.ReLU())
        self.features.add_module('conv2', nn.Conv2d(16, 32, 3, padding=1))
        self.features.add_module('bn2', nn.BatchNorm2d(32))
        self.features.add_module('relu2', nn.ReLU())
        self.features.add_module('pool', nn.MaxPool2d(2))
        self.classifier = nn.Sequential()
        self.classifier.add_module('fc1', nn.Linear(32 * 4 * 4, 64))
        self.classifier.add_module('relu', nn.ReLU())
        self.classifier.add_module('fc2', nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def load_data():
    digits = load_digits()
    x = (digits.data.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def train(x_train, y_train):
    torch.manual_seed(SEED)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=SETTINGS['learningRate'], weight_decay=SETTINGS['weightDecay'])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=SETTINGS['epochs'])
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    bs = SETTINGS['batchSize']
    for epoch in range(SETTINGS['epochs']):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), bs):
            idx = order[i:i + bs]
            if len(idx) < 2:  # BatchNorm needs more than one sample per batch in training mode
                continue
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if (epoch + 1) % 10 == 0:
            print(f'epoch {epoch + 1}: train loss {total / len(xt):.4f}')
    model.eval()
    return model


def to_onnx(model):
    """Writes the eval-mode model as an ONNX graph with onnx.helper, keeping BatchNormalization as nodes."""
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    inits = [numpy_helper.from_array(np.ascontiguousarray(v.astype(np.float32)), k) for k, v in sd.items()]
    n = helper.make_node
    nodes = [
        n('Conv', ['input', 'features.conv1.weight', 'features.conv1.bias'], ['/features/conv1/Conv_output_0'],
          name='/features/conv1/Conv', kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        n('BatchNormalization', ['/features/conv1/Conv_output_0', 'features.bn1.weight', 'features.bn1.bias',
                                 'features.bn1.running_mean', 'features.bn1.running_var'],
          ['/features/bn1/BatchNormalization_output_0'], name='/features/bn1/BatchNormalization',
          epsilon=1e-5, momentum=0.9),
        n('Relu', ['/features/bn1/BatchNormalization_output_0'], ['/features/relu1/Relu_output_0'],
          name='/features/relu1/Relu'),
        n('Conv', ['/features/relu1/Relu_output_0', 'features.conv2.weight', 'features.conv2.bias'],
          ['/features/conv2/Conv_output_0'],
          name='/features/conv2/Conv', kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        n('BatchNormalization', ['/features/conv2/Conv_output_0', 'features.bn2.weight', 'features.bn2.bias',
                                 'features.bn2.running_mean', 'features.bn2.running_var'],
          ['/features/bn2/BatchNormalization_output_0'], name='/features/bn2/BatchNormalization',
          epsilon=1e-5, momentum=0.9),
        n('Relu', ['/features/bn2/BatchNormalization_output_0'], ['/features/relu2/Relu_output_0'],
          name='/features/relu2/Relu'),
        n('MaxPool', ['/features/relu2/Relu_output_0'], ['/features/pool/MaxPool_output_0'],
          name='/features/pool/MaxPool', kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0),
        n('Flatten', ['/features/pool/MaxPool_output_0'], ['/Flatten_output_0'], name='/Flatten', axis=1),
        n('Gemm', ['/Flatten_output_0', 'classifier.fc1.weight', 'classifier.fc1.bias'],
          ['/classifier/fc1/Gemm_output_0'], name='/classifier/fc1/Gemm', alpha=1.0, beta=1.0, transB=1),
        n('Relu', ['/classifier/fc1/Gemm_output_0'], ['/classifier/relu/Relu_output_0'], name='/classifier/relu/Relu'),
        n('Gemm', ['/classifier/relu/Relu_output_0', 'classifier.fc2.weight', 'classifier.fc2.bias'],
          ['logits'], name='/classifier/fc2/Gemm', alpha=1.0, beta=1.0, transB=1),
    ]
    graph = helper.make_graph(
        nodes, 'digits-cnn',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['batch', 1, 8, 8])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['batch', 10])],
        initializer=inits,
        doc_string='8x8 handwritten digit classifier (sklearn digits); input pixel/16 in [0,1], output class logits')
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                          producer_name='onnx-compression-studio/scripts/train-sample.py', producer_version='1')
    m.ir_version = 7  # the IR of opset 13
    helper.set_model_props(m, {'dataset': 'UCI Optical Recognition of Handwritten Digits (sklearn load_digits), CC BY 4.0',
                               'classNames': ','.join(str(i) for i in range(10))})
    m = shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    onnx.checker.check_model(m, full_check=True)
    return m


def numpy_forward(m, x):
    """Runs the written graph in numpy (float64), node by node, to check the export against torch."""
    w = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    v = {'input': x.astype(np.float64)}

    def conv(a, k, b):  # 3x3, pad 1, stride 1
        n_, c, h, wd = a.shape
        p = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
        cols = np.stack([p[:, :, i:i + h, j:j + wd] for i in range(3) for j in range(3)], axis=2)  # n,c,9,h,w
        return np.einsum('ncshw,ocs->nohw', cols, k.reshape(k.shape[0], c, 9)) + b[None, :, None, None]

    for node in m.graph.node:
        a = [v.get(i, w.get(i)) for i in node.input]
        if node.op_type == 'Conv':
            r = conv(a[0], a[1], a[2])
        elif node.op_type == 'BatchNormalization':
            s = a[1] / np.sqrt(a[4] + 1e-5)
            r = (a[0] - a[3][None, :, None, None]) * s[None, :, None, None] + a[2][None, :, None, None]
        elif node.op_type == 'Relu':
            r = np.maximum(a[0], 0)
        elif node.op_type == 'MaxPool':
            n_, c, h, wd = a[0].shape
            r = a[0].reshape(n_, c, h // 2, 2, wd // 2, 2).max(axis=(3, 5))
        elif node.op_type == 'Flatten':
            r = a[0].reshape(a[0].shape[0], -1)
        elif node.op_type == 'Gemm':
            r = a[0] @ a[1].T + a[2]
        else:
            raise SystemExit(f'numpy_forward: no rule for {node.op_type}')
        v[node.output[0]] = r
    return v['logits']


def num(x):
    """A pixel k/16 as the shortest JSON number that reads back as the same float32 (0, 1, 0.5, 0.0625)."""
    s = f'{float(x):.4f}'.rstrip('0').rstrip('.')
    return s if s not in ('', '-0') else '0'


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    np.random.seed(SEED)
    x_train, x_test, y_train, y_test = load_data()
    print(f'train {len(x_train)}, test {len(x_test)}')
    model = train(x_train, y_train)
    with torch.no_grad():
        logits = model(torch.from_numpy(x_test)).numpy()
    pred = logits.argmax(1)
    correct = int((pred == y_test).sum())
    acc = correct / len(y_test)
    print(f'torch test accuracy {acc:.6f} ({correct}/{len(y_test)})')

    m = to_onnx(model)
    ref = numpy_forward(m, x_test)
    diff = float(np.abs(ref - logits).max())
    if not np.array_equal(ref.argmax(1), pred) or diff > 1e-3:
        raise SystemExit(f'the written graph disagrees with torch (max |diff| {diff})')
    print(f'numpy forward of the ONNX graph matches torch (max |logit diff| {diff:.2e})')

    os.makedirs(OUT, exist_ok=True)
    data = m.SerializeToString()
    if len(data) > MODEL_LIMIT:
        raise SystemExit(f'model is {len(data)} bytes, over {MODEL_LIMIT}')
    model_path = os.path.join(OUT, 'digits-cnn.onnx')
    with open(model_path, 'wb') as f:
        f.write(data)

    rows = ','.join('[' + ','.join(num(p) for p in img.reshape(-1)) + ']' for img in x_test)
    test_json = ('{"inputName":"input","shape":[1,8,8],"classNames":' + json.dumps([str(i) for i in range(10)],
                 separators=(',', ':')) + ',"labels":' + json.dumps([int(t) for t in y_test], separators=(',', ':'))
                 + ',"inputs":[' + rows + ']}\n')
    parsed = json.loads(test_json)  # the JSON numbers must read back as exactly the inputs torch saw
    if not np.array_equal(np.array(parsed['inputs'], dtype=np.float32).reshape(x_test.shape), x_test):
        raise SystemExit('digits-test.json does not round-trip the test inputs')
    if len(test_json) > TEST_LIMIT:
        raise SystemExit(f'digits-test.json is {len(test_json)} bytes, over {TEST_LIMIT}')
    with open(os.path.join(OUT, 'digits-test.json'), 'w') as f:
        f.write(test_json)

    params = {t.name: int(np.prod(t.dims)) for t in m.graph.initializer}
    trainable = sum(p.numel() for p in model.parameters())
    meta = {
        'model': 'digits-cnn.onnx',
        'testSet': 'digits-test.json',
        'task': '8x8 handwritten digit classification, 10 classes',
        'dataset': {
            'name': 'UCI Optical Recognition of Handwritten Digits (the copy in scikit-learn, sklearn.datasets.load_digits)',
            'license': 'CC BY 4.0',
            'source': 'Debian package python3-sklearn, file sklearn/datasets/data/digits.csv.gz',
            'samples': int(len(x_train) + len(x_test)),
            'train': int(len(x_train)),
            'test': int(len(x_test)),
        },
        'floatAccuracy': acc,
        'correct': correct,
        'total': int(len(y_test)),
        'parameters': int(sum(params.values())),
        'trainableParameters': int(trainable),
        'opset': OPSET,
        'irVersion': int(m.ir_version),
        'nodes': len(m.graph.node),
        'opTypes': sorted({nd.op_type for nd in m.graph.node}),
        'bytes': len(data),
        'sha256': hashlib.sha256(data).hexdigest(),
        'training': SETTINGS,
        'versions': {'torch': torch.__version__, 'numpy': np.__version__, 'sklearn': sklearn.__version__,
                     'onnx': onnx.__version__},
        'command': 'python3 scripts/train-sample.py',
    }
    with open(os.path.join(OUT, 'digits-meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'wrote {model_path} ({len(data)} bytes, {meta["parameters"]} parameters, sha256 {meta["sha256"]})')
    print(f'wrote digits-test.json ({len(test_json)} bytes) and digits-meta.json')


if __name__ == '__main__':
    main()
