import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { makeGraph, makeModel, makeNode, makeValueInfo } from './build';
import { encodeModel } from './codec';
import { externalizeData } from './external';
import { loadModel } from './load';
import { makeTensor, tensorValues } from './tensor';
import { DataType } from './types';

const F = DataType.FLOAT;

function modelBytes(): Uint8Array {
  const graph = makeGraph({
    nodes: [makeNode('MatMul', ['x', 'W'], ['h']), makeNode('Relu', ['h'], ['y'])],
    initializers: [makeTensor('W', F, [32, 32], Array.from({ length: 1024 }, (_, i) => i))],
    inputs: [makeValueInfo('x', F, [1, 32])],
    outputs: [makeValueInfo('y', F, [1, 32])],
  });
  return encodeModel(makeModel({ graph }));
}

function externalPair() {
  const graph = makeGraph({
    nodes: [makeNode('MatMul', ['x', 'W'], ['y'])],
    initializers: [makeTensor('W', F, [32, 32], Array.from({ length: 1024 }, (_, i) => i))],
    inputs: [makeValueInfo('x', F, [1, 32])],
    outputs: [makeValueInfo('y', F, [1, 32])],
  });
  const { model, data } = externalizeData(makeModel({ graph }), 'model.onnx.data');
  return { model: encodeModel(model), data };
}

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
};

describe('loadModel', () => {
  it('decodes bytes, names every node and reports progress', () => {
    const stages: [number, string][] = [];
    const loaded = loadModel(modelBytes(), { onProgress: (f, s) => stages.push([f, s]) });
    expect(loaded.fileName).toBe('model.onnx');
    expect(loaded.fileSize).toBe(modelBytes().length);
    expect(loaded.renamedNodes).toBe(2);
    expect(loaded.model.graph?.nodes.map((n) => n.name)).toEqual(['MatMul_0', 'Relu_1']);
    expect(loaded.external).toBeUndefined();
    expect(stages[0][0]).toBe(0);
    expect(stages[stages.length - 1]).toEqual([1, 'done']);
    for (let i = 1; i < stages.length; i++) expect(stages[i][0]).toBeGreaterThanOrEqual(stages[i - 1][0]);
  });

  it('picks the model among dropped files, in any order, and reads its external data', () => {
    const { model, data } = externalPair();
    for (const files of [
      [
        { name: 'model.onnx', bytes: model },
        { name: 'model.onnx.data', bytes: data },
      ],
      [
        { name: 'model.onnx.data', bytes: data },
        { name: 'model.onnx', bytes: model },
      ],
    ]) {
      const loaded = loadModel(files);
      expect(loaded.fileName).toBe('model.onnx');
      const w = loaded.model.graph!.initializers[0];
      const v = tensorValues(w, loaded.external);
      expect(v.length).toBe(1024);
      expect(v[1023]).toBe(1023);
    }
  });

  it('resolves locations relative to the model inside a dropped folder', () => {
    const graph = makeGraph({
      nodes: [makeNode('MatMul', ['x', 'W'], ['y'])],
      initializers: [makeTensor('W', F, [32, 32], Array.from({ length: 1024 }, (_, i) => -i))],
    });
    const { model, data } = externalizeData(makeModel({ graph }), 'weights/w.bin');
    const decoy = new Uint8Array(data.length); // same base name, elsewhere in the folder
    const loaded = loadModel([
      { name: 'net/other/w.bin', bytes: decoy },
      { name: 'net/weights/w.bin', bytes: data },
      { name: 'net/model.onnx', bytes: encodeModel(model) },
    ]);
    expect(tensorValues(loaded.model.graph!.initializers[0], loaded.external)[5]).toBe(-5);
  });

  it('names a missing external data file', () => {
    const { model } = externalPair();
    expect(codeOf(() => loadModel([{ name: 'model.onnx', bytes: model }]))).toMatch(/^external-data: .*"model\.onnx\.data".*missing/);
    expect(codeOf(() => loadModel(model))).toMatch(/^external-data: .*model\.onnx\.data/);
    expect(codeOf(() => loadModel([{ name: 'model.onnx', bytes: model }, { name: 'other.bin', bytes: new Uint8Array(10) }]))).toMatch(
      /model\.onnx\.data/,
    );
  });

  it('says what a non-ONNX file is, and what an empty or truncated one is', () => {
    const tflite = Uint8Array.from([0x1c, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33, 0, 0, 0, 0]);
    expect(codeOf(() => loadModel(tflite))).toMatch(/^not-onnx: This is a TensorFlow Lite model/);
    expect(codeOf(() => loadModel(new Uint8Array(0)))).toMatch(/^empty-file: /);
    const m = modelBytes();
    expect(codeOf(() => loadModel(m.subarray(0, m.length - 300)))).toMatch(/^truncated: /);
    expect(codeOf(() => loadModel([{ name: 'a.png', bytes: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) }]))).toMatch(
      /^not-onnx: .*PNG/,
    );
    // several files, none of them a model: the .onnx one is reported
    expect(
      codeOf(() =>
        loadModel([
          { name: 'notes.txt', bytes: new TextEncoder().encode('hello') },
          { name: 'net.onnx', bytes: new TextEncoder().encode('<html><body>404</body></html>') },
        ]),
      ),
    ).toMatch(/^not-onnx: net\.onnx: .*HTML/);
    expect(
      codeOf(() =>
        loadModel([
          { name: 'a.onnx', bytes: modelBytes() },
          { name: 'b.onnx', bytes: modelBytes() },
        ]),
      ),
    ).toMatch(/^invalid-argument: Several ONNX models.*a\.onnx, b\.onnx/);
  });

  it('stops when the signal is aborted', () => {
    const c = new AbortController();
    c.abort();
    expect(codeOf(() => loadModel(modelBytes(), { signal: c.signal }))).toMatch(/^aborted: /);
  });
});
