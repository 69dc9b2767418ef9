import { describe, expect, it } from 'vitest';
import { float16ToFloat32 } from '../core/float16';
import { defaultDimValue, inputSpecs, resolveDims, symbolicDims, synthesizeInputs } from './inputs';
import { concatBatch } from './tensor';

describe('inputs for any model', () => {
  const inputs = [
    { name: 'x', dtype: 'float32', shape: ['batch', 3, 'height', 'width'] },
    { name: 'ids', dtype: 'int64', shape: ['batch', 'sequence', '?'] },
    { name: 'h', dtype: 'float16', shape: [2] },
    { name: 'm', dtype: 'bool', shape: [] },
    { name: 'q', dtype: 'uint8', shape: [4] },
  ];

  it('lists symbolic dims once, with defaults from their names', () => {
    const dims = symbolicDims(inputSpecs(inputs));
    expect(dims.map((d) => [d.name, d.value])).toEqual([
      ['batch', 1],
      ['height', 224],
      ['width', 224],
      ['sequence', 32],
      ['ids[2]', 1],
    ]);
    expect(dims[0].usedBy).toEqual(['x[0]', 'ids[0]']);
    expect(defaultDimValue('N')).toBe(1);
    expect(defaultDimValue('num_channels')).toBe(3);
  });

  it('resolves dims with user values and rejects bad ones', () => {
    const [x, ids] = inputSpecs(inputs);
    expect(resolveDims(x, { batch: 4, height: 8, width: 6 })).toEqual([4, 3, 8, 6]);
    expect(resolveDims(ids, { 'ids[2]': 5 })).toEqual([1, 32, 5]);
    expect(() => resolveDims(x, { batch: 0 })).toThrow(/dim "batch" of input "x" must be a whole number of at least 1, not 0/);
  });

  it('synthesizes every dtype deterministically', () => {
    const a = synthesizeInputs(inputs, 7, { height: 2, width: 2, sequence: 3 });
    const b = synthesizeInputs(inputs, 7, { height: 2, width: 2, sequence: 3 });
    expect(a.map((t) => [t.name, t.dtype, t.dims])).toEqual([
      ['x', 'float32', [1, 3, 2, 2]],
      ['ids', 'int64', [1, 3, 1]],
      ['h', 'float16', [2]],
      ['m', 'bool', []],
      ['q', 'uint8', [4]],
    ]);
    expect(Array.from(a[0].data as Float32Array)).toEqual(Array.from(b[0].data as Float32Array));
    for (const v of a[0].data as Float32Array) expect(v >= -1 && v < 1).toBe(true);
    expect(new Set(a[0].data as Float32Array).size).toBe(12);
    for (const bits of a[2].data as Uint16Array) expect(Math.abs(float16ToFloat32(bits))).toBeLessThanOrEqual(1);
    expect(Array.from(a[1].data as BigInt64Array)).toEqual([0n, 0n, 0n]);
    expect(a[3].data).toEqual(new Uint8Array(1));
    expect(() => synthesizeInputs([{ name: 's', dtype: 'string', shape: [1] }], 1)).toThrow(/input "s" is string/);
    expect(() => synthesizeInputs([{ name: 'r', dtype: 'float32', shape: null }], 1)).toThrow(/no declared shape/);
    expect(() => synthesizeInputs([{ name: 'big', dtype: 'float32', shape: ['n', 'n2'] }], 1, { n: 1 << 15, n2: 1 << 15 })).toThrow(/would have 1073741824 elements/);
  });

  it('batches same-shaped tensors', () => {
    const t = concatBatch([
      { name: 'x', dtype: 'float32', dims: [1, 2], data: Float32Array.from([1, 2]) },
      { name: 'x', dtype: 'float32', dims: [2, 2], data: Float32Array.from([3, 4, 5, 6]) },
    ]);
    expect(t.dims).toEqual([3, 2]);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => concatBatch([t, { name: 'x', dtype: 'float32', dims: [1, 3], data: new Float32Array(3) }])).toThrow(/cannot be batched/);
  });
});
