import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { AppError } from '../core/errors';
import { attr, emptyTensor, makeGraph, makeModel, makeNode, makeValueInfo } from './build';
import { decodeMessageOf, decodeModel, encodeMessageOf, encodeModel, encodeModelInto, MAX_DEPTH } from './codec';
import { makeTensor, tensorValues } from './tensor';
import { DataType, type Attribute, type Model, type Tensor } from './types';

/** Hand-written protobuf pieces, independent of the codec under test. */
function varint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return out;
}
const tag = (no: number, wt: number) => varint(BigInt((no << 3) | wt));
const lenField = (no: number, body: number[]) => [...tag(no, 2), ...varint(BigInt(body.length)), ...body];
const str = (s: string) => [...new TextEncoder().encode(s)];

function smallModel(): Model {
  return makeModel({
    graph: makeGraph({
      nodes: [makeNode('Relu', ['x'], ['y'], [], { name: 'r' })],
      inputs: [makeValueInfo('x', DataType.FLOAT, [2])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [2])],
    }),
  });
}

describe('codec', () => {
  it('reads a ModelProto written by hand, field by field', () => {
    const bytes = new Uint8Array([
      ...tag(1, 0), ...varint(9n), // ir_version
      ...lenField(2, str('hand')), // producer_name
      ...lenField(8, [...lenField(1, str('')), ...tag(2, 0), ...varint(21n)]), // opset_import
      ...lenField(7, [
        ...lenField(1, [...lenField(1, str('x')), ...lenField(2, str('y')), ...lenField(4, str('Relu'))]),
        ...lenField(2, str('g')),
      ]),
    ]);
    const m = decodeModel(bytes);
    expect(m.irVersion).toBe(9);
    expect(m.producerName).toBe('hand');
    expect(m.opsetImport).toEqual([{ domain: '', version: 21 }]);
    expect(m.graph?.nodes[0]).toMatchObject({ inputs: ['x'], outputs: ['y'], opType: 'Relu' });
    expect(m.graph?.name).toBe('g');
  });

  it('encodes into a resizable ArrayBuffer (browsers refuse TextEncoder.encodeInto there): the same bytes, non-ASCII names included', () => {
    const graph = makeGraph({
      nodes: [makeNode('Relu', ['x'], ['y·é'], [], { name: 'relu — ü' })],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 'batch ñ'])],
      outputs: [makeValueInfo('y·é', DataType.FLOAT)],
    });
    const model = makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
    const make = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resizable: boolean };
    const into = encodeModelInto(model, (n) => new Uint8Array(new make(n, { maxByteLength: n })));
    expect((into.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(true);
    expect(Array.from(into)).toEqual(Array.from(encodeModel(model)));
    expect(decodeModel(into).graph?.nodes[0].name).toBe('relu — ü');
  });

  it('keeps int64 extremes and negative ints exactly', () => {
    const a: Attribute = attr.ints('v', [0, -1, 2 ** 53 - 1, 9223372036854775807n, -9223372036854775808n, -(2 ** 40)]);
    const b = encodeMessageOf('Attribute', a);
    const back = decodeMessageOf<Attribute>('Attribute', b);
    expect(back.ints).toEqual([0, -1, 2 ** 53 - 1, 9223372036854775807n, -9223372036854775808n, -(2 ** 40)]);
    const neg = decodeMessageOf<Attribute>('Attribute', encodeMessageOf('Attribute', attr.int('axis', -1)));
    expect(neg.i).toBe(-1);
    // negative int32 (data_type is int32) is written as a 10-byte varint like protobuf does
    const t = emptyTensor({ dataType: -5 });
    const tb = encodeMessageOf('Tensor', t);
    expect(tb.length).toBe(11);
    expect(decodeMessageOf<Tensor>('Tensor', tb).dataType).toBe(-5);
  });

  it('accepts both packed and unpacked repeated scalars', () => {
    const unpacked = new Uint8Array([...tag(1, 0), 2, ...tag(1, 0), 3, ...tag(2, 0), 1]);
    const packed = new Uint8Array([...lenField(1, [2, 3]), ...tag(2, 0), 1]);
    expect(decodeMessageOf<Tensor>('Tensor', unpacked).dims).toEqual([2, 3]);
    expect(decodeMessageOf<Tensor>('Tensor', packed).dims).toEqual([2, 3]);
    // float_data: unpacked fixed32 entries and a packed run, concatenated in order
    const f = new Float32Array([1.5, -2]);
    const fb = [...new Uint8Array(f.buffer)];
    const mixed = new Uint8Array([...tag(4, 5), ...fb.slice(0, 4), ...lenField(4, fb.slice(4))]);
    expect(Array.from(decodeMessageOf<Tensor>('Tensor', mixed).floatData ?? [])).toEqual([1.5, -2]);
  });

  it('keeps unknown fields (varint, fixed, length-delimited, group) and writes them back', () => {
    const unknown = [
      ...tag(999, 0), ...varint(12345n),
      ...tag(998, 1), 1, 2, 3, 4, 5, 6, 7, 8,
      ...lenField(997, str('from the future')),
      ...tag(996, 3), ...tag(1, 0), 7, ...tag(996, 4),
      ...tag(995, 5), 9, 9, 9, 9,
    ];
    const base = encodeModel(smallModel());
    const withUnknown = new Uint8Array([...base, ...unknown]);
    const m = decodeModel(withUnknown);
    expect(m.unknownFields?.length).toBe(5);
    const again = encodeModel(m);
    expect(Array.from(again.subarray(again.length - unknown.length))).toEqual(unknown);
    expect(decodeModel(again)).toEqual(m);
  });

  it('treats a known field with the wrong wire type as unknown, as protobuf does', () => {
    const bytes = new Uint8Array([...tag(1, 2), ...varint(1n), 0x41]); // ir_version as bytes
    const m = decodeModel(bytes);
    expect(m.irVersion).toBeUndefined();
    expect(m.unknownFields?.length).toBe(1);
  });

  it('views raw_data in place instead of copying it', () => {
    const m = smallModel();
    m.graph!.initializers.push(makeTensor('w', DataType.FLOAT, [1000], new Float32Array(1000).fill(0.5)));
    const bytes = encodeModel(m);
    const d = decodeModel(bytes);
    const raw = d.graph!.initializers[0].rawData!;
    expect(raw.buffer).toBe(bytes.buffer);
    expect(tensorValues(d.graph!.initializers[0])[999]).toBe(0.5);
  });

  it('rejects truncated files with a message naming the problem', () => {
    const m = smallModel();
    m.graph!.initializers.push(makeTensor('w', DataType.FLOAT, [64], new Float32Array(64)));
    const bytes = encodeModel(m);
    let truncatedCount = 0;
    for (let n = 1; n < bytes.length; n++) {
      try {
        decodeModel(bytes.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        if ((e as AppError).code === 'truncated') {
          truncatedCount++;
          expect((e as AppError).message).toMatch(/truncated/);
        }
      }
    }
    expect(truncatedCount).toBeGreaterThan(bytes.length / 2);
  });

  it('refuses nesting deeper than protobuf allows, without overflowing the stack', () => {
    // graph -> node -> attribute -> graph ... built as raw bytes, 1,000 levels
    let body: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const attribute = lenField(6, body); // AttributeProto.g
      const node = lenField(5, attribute); // NodeProto.attribute
      body = lenField(1, node); // GraphProto.node
    }
    const bytes = new Uint8Array(lenField(7, body));
    expect(() => decodeModel(bytes)).toThrowError(AppError);
    try {
      decodeModel(bytes);
    } catch (e) {
      expect((e as AppError).code).toBe('too-deep');
      expect((e as AppError).message).toContain(String(MAX_DEPTH));
    }
  });

  it('rejects a length that overruns its message and wire types 6/7', () => {
    expect(() => decodeModel(new Uint8Array([...tag(7, 2), 5, ...tag(1, 0), 1]))).toThrowError(AppError);
    expect(() => decodeModel(new Uint8Array([...tag(3, 6), 0]))).toThrowError(AppError);
    expect(() => decodeModel(new Uint8Array([...tag(3, 7), 0]))).toThrowError(AppError);
    expect(() => decodeModel(new Uint8Array([0]))).toThrowError(/field number 0/);
  });

  it('round-trips every value kind and the re-encoded model runs bit-identically in onnxruntime', async () => {
    const w = makeTensor('W', DataType.FLOAT, [3, 2], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
    const m = makeModel({
      irVersion: 8,
      docString: 'doc ✓ unicode',
      metadataProps: [{ key: 'k', value: 'v' }],
      graph: makeGraph({
        nodes: [
          makeNode('MatMul', ['x', 'W'], ['a'], [], { name: 'mm', docString: 'matmul' }),
          makeNode('LeakyRelu', ['a'], ['b'], [attr.float('alpha', 0.125)]),
          makeNode('Slice', ['b', 'starts', 'ends'], ['y']),
        ],
        initializers: [
          w,
          makeTensor('starts', DataType.INT64, [1], [0n]),
          makeTensor('ends', DataType.INT64, [1], [9223372036854775807n]),
        ],
        inputs: [makeValueInfo('x', DataType.FLOAT, ['batch', 3])],
        outputs: [makeValueInfo('y', DataType.FLOAT, ['batch', 2])],
      }),
    });
    const bytes = encodeModel(m);
    const d = decodeModel(bytes);
    expect(d).toEqual(decodeModel(encodeModel(d)));
    expect(d.docString).toBe('doc ✓ unicode');
    expect(d.graph!.nodes[1].attributes[0].f).toBe(0.125);
    const x = new Float32Array([1, 2, 3, -1, 0.5, 2]);
    const run = async (b: Uint8Array) => {
      const s = await ort.InferenceSession.create(b);
      const out = await s.run({ x: new ort.Tensor('float32', x.slice(), [2, 3]) });
      return out.y.data as Float32Array;
    };
    const y1 = await run(bytes);
    const y2 = await run(encodeModel(d));
    expect(Array.from(y2)).toEqual(Array.from(y1));
    // independent reference: x @ W, then LeakyRelu(0.125)
    const ref = [0, 1].flatMap((r) =>
      [0, 1].map((c) => {
        let s = 0;
        for (let k = 0; k < 3; k++) s += x[r * 3 + k] * [0.1, -0.2, 0.3, 0.4, -0.5, 0.6][k * 2 + c];
        return s >= 0 ? s : s * 0.125;
      }),
    );
    y1.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 5));
  });

  it('refuses to write a single file past 2 GB with a clear message', () => {
    const m = smallModel();
    // a fake 2.1 GB tensor: a typed array whose length claims the size without allocating per element
    const huge = { length: 2.1 * 2 ** 30 } as unknown as Uint8Array;
    m.graph!.initializers.push(emptyTensor({ name: 'huge', dataType: DataType.UINT8, dims: [1], rawData: huge }));
    expect(() => encodeModel(m)).toThrowError(/2 GB/);
  });
});

describe('codec on files written by protobuf (torch/onnx exports)', () => {
  it('re-encodes them byte for byte', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const root = new URL('../../', import.meta.url);
    const files = [
      'public/sample/digits-cnn.onnx',
      ...readdirSync(new URL('src/testing/real/', root))
        .filter((f) => f.endsWith('.onnx'))
        .map((f) => `src/testing/real/${f}`),
    ];
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const b = new Uint8Array(readFileSync(new URL(f, root)));
      const again = encodeModel(decodeModel(b));
      expect(again.length, f).toBe(b.length);
      expect(Buffer.compare(Buffer.from(again), Buffer.from(b)), f).toBe(0);
    }
  });
});
