/** Pages of a tensor's values: exact values and indices per type, only the page's bytes read, malformed data refused. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { makeTensor } from './tensor';
import { MAX_PAGE, tensorValuesPage, unflattenIndex } from './tensor-page';
import { DataLocation, DataType, type ExternalDataResolver, type Tensor } from './types';

const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

describe('tensorValuesPage', () => {
  it('pages float32 values with their indices: first 256, the next page, a clipped last page', () => {
    const t = makeTensor('w', DataType.FLOAT, [4, 3, 5, 7], range(420, (i) => i * 0.5 - 3));
    const first = tensorValuesPage(t, 0, 256);
    expect(first).toMatchObject({ dtype: 'float32', shape: [4, 3, 5, 7], total: 420, offset: 0 });
    expect(first.values).toEqual(range(256, (i) => i * 0.5 - 3));
    expect(first.indices[0]).toEqual([0, 0, 0, 0]);
    expect(first.indices[36]).toEqual([0, 1, 0, 1]);
    const next = tensorValuesPage(t, 256, 256);
    expect(next.values).toEqual(range(164, (i) => (256 + i) * 0.5 - 3));
    expect(next.indices.at(-1)).toEqual([3, 2, 4, 6]);
    expect(tensorValuesPage(t, 420, 256).values).toEqual([]);
  });

  it('decodes float16 and bfloat16, unpacks int4 and uint4 from any offset, keeps int64 exact', () => {
    expect(tensorValuesPage(makeTensor('h', DataType.FLOAT16, [4], [1.5, -2, 65504, 0.000061035156]), 1, 3).values).toEqual([-2, 65504, 0.00006103515625]);
    expect(tensorValuesPage(makeTensor('b', DataType.BFLOAT16, [3], [1, -0.5, 256]), 0, 10).values).toEqual([1, -0.5, 256]);
    const int4 = makeTensor('q', DataType.INT4, [7], [-8, 7, -1, 0, 3, -5, 6]);
    expect(tensorValuesPage(int4, 0, 7).values).toEqual([-8, 7, -1, 0, 3, -5, 6]);
    expect(tensorValuesPage(int4, 1, 3).values).toEqual([7, -1, 0]);
    expect(tensorValuesPage(int4, 5, 9).values).toEqual([-5, 6]);
    expect(tensorValuesPage(makeTensor('u', DataType.UINT4, [3], [15, 0, 9]), 1, 2).values).toEqual([0, 9]);
    const big = makeTensor('i', DataType.INT64, [3], [-5n, 2n ** 60n, 42n]);
    expect(tensorValuesPage(big, 0, 3).values).toEqual([-5, '1152921504606846976', 42]);
    expect(tensorValuesPage(makeTensor('i8', DataType.INT8, [2, 2], [-128, 127, 0, -1]), 2, 2)).toMatchObject({ values: [0, -1], indices: [[1, 0], [1, 1]] });
    expect(tensorValuesPage(makeTensor('s', DataType.STRING, [2], ['a', 'b']), 1, 5).values).toEqual(['b']);
    expect(tensorValuesPage(makeTensor('f8', DataType.FLOAT8E4M3FN, [2], [0x38, 0xb8]), 0, 2)).toMatchObject({ values: [0x38, 0xb8], note: 'float8e4m3fn values are shown as their 8-bit codes' });
  });

  it('reads typed fields (float_data, int32_data for float16 and int4)', () => {
    const base = { stringData: [], externalData: [], metadataProps: [] };
    const floats: Tensor = { ...base, name: 'f', dims: [3], dataType: DataType.FLOAT, floatData: Float32Array.of(1, 2, 3) };
    expect(tensorValuesPage(floats, 1, 5).values).toEqual([2, 3]);
    const halves: Tensor = { ...base, name: 'h', dims: [2], dataType: DataType.FLOAT16, int32Data: Int32Array.of(0x3c00, 0xc000) };
    expect(tensorValuesPage(halves, 0, 2).values).toEqual([1, -2]);
    const packed: Tensor = { ...base, name: 'q', dims: [3], dataType: DataType.INT4, int32Data: Int32Array.of(0x7f, 0x08) };
    expect(tensorValuesPage(packed, 0, 3).values).toEqual([-1, 7, -8]);
  });

  it('reads only the page from external data', () => {
    const data = new Uint8Array(new Float32Array(range(10_000, (i) => i / 4)).buffer);
    const reads: [number, number | undefined][] = [];
    const external: ExternalDataResolver = {
      read(location, offset, length) {
        expect(location).toBe('w.bin');
        reads.push([offset, length]);
        return data.subarray(offset, length === undefined ? undefined : offset + length);
      },
    };
    const t: Tensor = {
      name: 'w',
      dims: [100, 100],
      dataType: DataType.FLOAT,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'w.bin' },
        { key: 'length', value: String(data.length) },
      ],
      stringData: [],
      metadataProps: [],
    };
    const page = tensorValuesPage(t, 512, 256, external);
    expect(page.values).toEqual(range(256, (i) => (512 + i) / 4));
    expect(page.indices[0]).toEqual([5, 12]);
    expect(reads).toEqual([[2048, 1024]]);
    expect(() => tensorValuesPage(t, 0, 1)).toThrow(/external data file that was not provided/);
  });

  it('refuses bad ranges and malformed data with an AppError, never a crash', () => {
    const t = makeTensor('w', DataType.FLOAT, [2, 3], range(6));
    expect(tensorValuesPage(t, 0, 1e9).values).toHaveLength(6);
    expect(tensorValuesPage(makeTensor('big', DataType.UINT8, [MAX_PAGE * 2], range(MAX_PAGE * 2, (i) => i % 256)), 0, 1e9).values).toHaveLength(MAX_PAGE);
    for (const [offset, count] of [[-1, 4], [7, 4], [0.5, 4], [0, -2], [Number.NaN, 1]]) {
      expect(() => tensorValuesPage(t, offset, count)).toThrow(AppError);
    }
    const short = { ...t, rawData: t.rawData!.subarray(0, 10) };
    expect(() => tensorValuesPage(short, 0, 6)).toThrow(/holds 10 bytes but its shape needs 24/);
    const badDims = { ...t, dims: [-1, 3] };
    expect(tensorValuesPage(badDims, 0, 6)).toMatchObject({ total: 0, values: [] });
    const complex = { ...t, dataType: DataType.COMPLEX64 };
    expect(() => tensorValuesPage(complex, 0, 1)).toThrow(/not shown/);
    const unknown = { ...t, dataType: 999 };
    expect(() => tensorValuesPage(unknown, 0, 1)).toThrow(AppError);
    const shortFloats: Tensor = { ...t, rawData: undefined, floatData: Float32Array.of(1) };
    expect(() => tensorValuesPage(shortFloats, 0, 6)).toThrow(AppError);
  });

  it('unflattens row-major indices', () => {
    expect(unflattenIndex(0, [])).toEqual([]);
    expect(unflattenIndex(23, [2, 3, 4])).toEqual([1, 2, 3]);
    expect(unflattenIndex(5, [1, 1, 6])).toEqual([0, 0, 5]);
  });
});
