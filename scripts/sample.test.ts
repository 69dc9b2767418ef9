import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel } from '../src/onnx/codec';

const dir = new URL('../public/sample/', import.meta.url);
const modelBytes = new Uint8Array(readFileSync(new URL('digits-cnn.onnx', dir)));
const meta = JSON.parse(readFileSync(new URL('digits-meta.json', dir), 'utf8'));
const test = JSON.parse(readFileSync(new URL('digits-test.json', dir), 'utf8')) as {
  inputName: string;
  shape: number[];
  labels: number[];
  inputs: number[][];
};

async function accuracy(bytes: Uint8Array): Promise<number> {
  const s = await ort.InferenceSession.create(bytes);
  const n = test.labels.length;
  const x = new Float32Array(n * 64);
  test.inputs.forEach((row, i) => x.set(row, i * 64));
  const out = await s.run({ [test.inputName]: new ort.Tensor('float32', x, [n, ...test.shape]) });
  const logits = out[s.outputNames[0]].data as Float32Array;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
    if (best === test.labels[i]) correct++;
  }
  return correct / n;
}

describe('built-in sample model', () => {
  it('is the file its metadata describes', () => {
    const sha = createHash('sha256').update(modelBytes).digest('hex');
    expect(JSON.stringify(meta)).toContain(sha);
  });

  it('has the documented float accuracy on its labeled test set, also after a decode/encode round trip', async () => {
    const acc = await accuracy(modelBytes);
    expect(test.labels.length).toBe(450);
    expect(acc).toBeCloseTo(447 / 450, 6);
    expect(await accuracy(encodeModel(decodeModel(modelBytes)))).toBe(acc);
  });
});
