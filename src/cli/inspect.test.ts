/** `inspect`'s layer list: stored-tensor pseudo-layers and already-quantized layers (issue #13). */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../onnx/codec';
import { loadModel } from '../onnx/load';
import { summarizeModel } from '../onnx/summary';
import { quantizedLayersFixture, vadFixture } from '../testing/fixtures-weights';
import { formatSummary } from './inspect';

const lines = (bytes: Uint8Array) => formatSummary(summarizeModel(loadModel(bytes)));

describe('inspect layer list', () => {
  it('lists a large float tensor no layer claims under its name, op "tensor"', () => {
    const out = lines(encodeModel(vadFixture().model));
    expect(out.filter((l) => /^\s+feature_window\s+tensor\s+1\.0k\s+float32\[1x16x64\]/.test(l))).toHaveLength(1);
    expect(out.some((l) => l.includes('op "tensor"'))).toBe(true);
    // the LSTMs are layers (their weights traced through the gate re-ordering), the Gather is not
    expect(out.filter((l) => /\sLSTM\s/.test(l))).toHaveLength(2);
    expect(out.some((l) => /\sGather\s+\d/.test(l))).toBe(false);
  });

  it('says which layers are already quantized, and with what', () => {
    const out = lines(encodeModel(quantizedLayersFixture()));
    for (const what of ['ConvInteger int8', 'QLinearConv int8', 'QLinearMatMul uint8', 'MatMulNBits 4-bit', 'DequantizeLinear int8']) {
      expect(out.filter((l) => l.endsWith(`already quantized (${what})`)), what).toHaveLength(1);
    }
  });
});
