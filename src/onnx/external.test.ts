import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from './build';
import { decodeModel, encodeModel } from './codec';
import {
  BIG_ALIGN,
  SMALL_ALIGN,
  checkExternalData,
  checkLocation,
  externalReferences,
  externalizeData,
  filesResolver,
  forEachTensor,
  inlineExternalData,
} from './external';
import { externalInfo, isExternal, makeTensor, tensorRawBytes } from './tensor';
import { DataLocation, DataType, type Model, type Tensor } from './types';

const F = DataType.FLOAT;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-external-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function values(n: number, seed: number, scale: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}
const w = (name: string, dims: number[], seed: number) =>
  makeTensor(name, F, dims, values(dims.reduce((a, b) => a * b, 1), seed, 1 / Math.sqrt(dims[0])));

/**
 * Weights everywhere: raw_data and float_data initializers, int8 in int32_data, a Constant
 * node's tensor, an If branch's own initializer and an outer-scope reference, a 1 MB tensor,
 * and a small bias that stays inline.
 */
function weightyModel(): Model {
  const typed: Tensor = { ...w('W_typed', [64, 64], 2) };
  typed.floatData = new Float32Array(typed.rawData!.slice().buffer);
  typed.rawData = undefined;
  const q = makeTensor('Q', DataType.INT8, [64, 64], values(4096, 3, 100).map(Math.round));
  const qTyped: Tensor = { ...q, rawData: undefined, int32Data: Int32Array.from(new Int8Array(q.rawData!.buffer)) };
  const thenBranch = makeGraph({
    nodes: [makeNode('MatMul', ['h4', 'W_then'], ['t'])],
    initializers: [w('W_then', [64, 64], 5)],
    outputs: [makeValueInfo('t', F, [1, 64])],
  });
  const elseBranch = makeGraph({
    nodes: [makeNode('MatMul', ['h4', 'W1'], ['t'])],
    outputs: [makeValueInfo('t', F, [1, 64])],
  });
  const graph = makeGraph({
    nodes: [
      makeNode('MatMul', ['x', 'W1'], ['h1']),
      makeNode('MatMul', ['h1', 'W_typed'], ['h2']),
      makeNode('Constant', [], ['Wc'], [attr.tensor('value', w('Wc', [64, 64], 4))]),
      makeNode('MatMul', ['h2', 'Wc'], ['h3']),
      makeNode('Cast', ['Q'], ['Qf'], [attr.int('to', F)]),
      makeNode('Mul', ['Qf', 'q_scale'], ['Qd']),
      makeNode('MatMul', ['h3', 'Qd'], ['h3q']),
      makeNode('Add', ['h3q', 'bias'], ['h4']),
      makeNode('If', ['cond'], ['t'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)]),
      makeNode('MatMul', ['t', 'W_mid'], ['m1']),
      makeNode('MatMul', ['m1', 'W_big'], ['m2']),
      makeNode('MatMul', ['m2', 'W_out'], ['y']),
    ],
    initializers: [
      w('W1', [64, 64], 1),
      typed,
      qTyped,
      makeTensor('q_scale', F, [], [0.01]),
      w('bias', [64], 6),
      w('W_mid', [64, 512], 7),
      w('W_big', [512, 512], 8),
      w('W_out', [512, 64], 9),
    ],
    inputs: [makeValueInfo('x', F, [1, 64]), makeValueInfo('cond', DataType.BOOL, [])],
    outputs: [makeValueInfo('y', F, [1, 64])],
  });
  return makeModel({ graph });
}

async function run(model: Uint8Array | string): Promise<Uint8Array[]> {
  const s = await ort.InferenceSession.create(model as string);
  const outs: Uint8Array[] = [];
  for (const cond of [true, false]) {
    const r = await s.run({
      x: new ort.Tensor('float32', Float32Array.from(values(64, 11, 1)), [1, 64]),
      cond: new ort.Tensor('bool', Uint8Array.from([cond ? 1 : 0]), []),
    });
    const y = r.y.data as Float32Array;
    outs.push(new Uint8Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength)));
  }
  await s.release();
  return outs;
}

/** Byte equality without vitest's element-by-element diff (slow on megabytes). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

function tensorsByName(m: Model): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  forEachTensor(m, (t) => out.set(t.name ?? '', t));
  return out;
}

describe('externalizeData / inlineExternalData', () => {
  it('moves every tensor of 1 KB or more into one aligned data file; onnxruntime gives bit-identical outputs; inlining restores them', async () => {
    const model = weightyModel();
    const original = encodeModel(model);
    const want = await run(original);

    const { model: ext, data } = externalizeData(model, 'weights.bin');
    expect(sameBytes(encodeModel(model), original)).toBe(true); // the input model is untouched

    const moved = externalReferences(ext);
    expect(moved.map((r) => r.tensor.name).sort()).toEqual(['Q', 'W1', 'W_big', 'W_mid', 'W_out', 'W_then', 'W_typed', 'Wc']);
    for (const r of moved) {
      expect(r.location).toBe('weights.bin');
      expect(r.offset % SMALL_ALIGN).toBe(0);
      expect(r.tensor.rawData).toBeUndefined();
      expect(r.tensor.floatData).toBeUndefined();
      expect(r.tensor.int32Data).toBeUndefined();
    }
    const big = moved.find((r) => r.tensor.name === 'W_big')!;
    expect(big.offset % BIG_ALIGN).toBe(0);
    expect(big.length).toBe(512 * 512 * 4);
    const spans = moved.map((r) => [r.offset, r.offset + (r.length ?? 0)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    expect(data.length).toBe(spans[spans.length - 1][1]);
    const inline = tensorsByName(ext);
    expect(isExternal(inline.get('bias')!)).toBe(false);
    expect(isExternal(inline.get('q_scale')!)).toBe(false);
    // int8 kept in int32_data moves as one byte per value
    expect(moved.find((r) => r.tensor.name === 'Q')!.length).toBe(4096);

    const modelPath = path.join(tmp, 'model.onnx');
    const encoded = encodeModel(ext);
    expect(encoded.length).toBeLessThan(4096);
    fs.writeFileSync(modelPath, encoded);
    fs.writeFileSync(path.join(tmp, 'weights.bin'), data);
    expect(await run(modelPath)).toEqual(want);

    // back into one file
    const reread = decodeModel(fs.readFileSync(modelPath));
    const resolver = filesResolver({ 'weights.bin': data });
    checkExternalData(reread, resolver);
    const back = inlineExternalData(reread, resolver);
    expect(externalReferences(back)).toHaveLength(0);
    expect(externalReferences(reread)).toHaveLength(8); // not mutated
    const before = tensorsByName(model);
    for (const [name, t] of tensorsByName(back)) {
      expect(t.externalData, name).toEqual([]);
      expect(t.dataLocation, name).toBeUndefined();
      expect(sameBytes(tensorRawBytes(t), tensorRawBytes(before.get(name)!)), name).toBe(true);
    }
    expect(await run(encodeModel(back))).toEqual(want);
  });

  it('moves data that is already external into the new file when given a resolver', async () => {
    const { model: ext, data } = externalizeData(weightyModel(), 'a.bin');
    expect(() => externalizeData(ext, 'b.bin')).toThrow(/already external/);
    const { model: again, data: data2 } = externalizeData(ext, 'sub/b.bin', { resolver: filesResolver({ 'a.bin': data }), sizeThreshold: 1 << 30 });
    const refs = externalReferences(again);
    expect(refs).toHaveLength(8);
    expect(new Set(refs.map((r) => r.location))).toEqual(new Set(['sub/b.bin']));
    const back = inlineExternalData(again, filesResolver([{ name: 'sub/b.bin', bytes: data2 }]));
    expect(await run(encodeModel(back))).toEqual(await run(encodeModel(weightyModel())));
  });

  it('refuses to inline past 2 GB before reading anything', () => {
    const t: Tensor = {
      ...makeTensor('huge', F, [1], [0]),
      rawData: undefined,
      dims: [600_000_000],
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'huge.bin' },
        { key: 'length', value: String(2_400_000_000) },
      ],
    };
    const m = makeModel({ graph: makeGraph({ initializers: [t] }) });
    let reads = 0;
    const resolver = {
      read: () => {
        reads++;
        return new Uint8Array(0);
      },
    };
    expect(() => inlineExternalData(m, resolver)).toThrow(expect.objectContaining({ code: 'too-large', message: expect.stringMatching(/2 GB/) }));
    expect(reads).toBe(0);
  });
});

describe('external data validation', () => {
  it('accepts plain relative locations and refuses ones that escape the model folder', () => {
    expect(checkLocation('w.bin')).toBe('w.bin');
    expect(checkLocation('./data/w.bin')).toBe('data/w.bin');
    expect(checkLocation('data\\w.bin')).toBe('data/w.bin');
    for (const bad of ['../w.bin', 'data/../../w.bin', '/etc/passwd', '\\\\server\\share\\w.bin', 'C:\\w.bin', 'c:/w.bin', '', './']) {
      expect(() => checkLocation(bad), bad).toThrow(AppError);
    }
  });

  const extTensor = (location: string, offset: number, length: number | undefined, dims = [4]): Tensor => ({
    ...makeTensor('t', F, [4], [0, 0, 0, 0]),
    dims,
    rawData: undefined,
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      ...(length === undefined ? [] : [{ key: 'length', value: String(length) }]),
    ],
  });
  const modelWith = (t: Tensor) => makeModel({ graph: makeGraph({ initializers: [t] }) });
  const files = filesResolver({ 'w.bin': new Uint8Array(32) });
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('external-data');
      return (e as AppError).message;
    }
    throw new Error('expected an error');
  };

  it('names a missing file', () => {
    expect(err(() => checkExternalData(modelWith(extTensor('weights.data', 0, 16)), files))).toMatch(/"weights\.data".*missing/);
    expect(err(() => checkExternalData(modelWith(extTensor('weights.data', 0, 16)), undefined))).toMatch(/weights\.data/);
  });

  it('refuses a location outside the model folder', () => {
    expect(err(() => checkExternalData(modelWith(extTensor('../w.bin', 0, 16)), files))).toMatch(/outside the model's folder/);
    expect(err(() => checkExternalData(modelWith(extTensor('/tmp/w.bin', 0, 16)), files))).toMatch(/absolute path/);
  });

  it('refuses offsets and lengths beyond the file, and lengths that do not fit the shape', () => {
    expect(err(() => checkExternalData(modelWith(extTensor('w.bin', 40, 16)), files))).toMatch(/offset 40 is beyond the end.*32 bytes/);
    expect(err(() => checkExternalData(modelWith(extTensor('w.bin', 24, 16)), files))).toMatch(/runs past the end/);
    expect(err(() => checkExternalData(modelWith(extTensor('w.bin', 0, 12)), files))).toMatch(/reads 12 bytes.*needs 16/);
    // no length: to the end of the file (32 bytes from offset 16 = 16, fits [4] floats)
    expect(() => checkExternalData(modelWith(extTensor('w.bin', 16, undefined)), files)).not.toThrow();
    expect(err(() => files.read('w.bin', 30, 8))).toMatch(/runs past the end/);
  });

  it('finds dropped files by base name and reads views of them', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i);
    const r = filesResolver([{ name: 'folder/w.bin', bytes }]);
    expect(r.size('w.bin')).toBe(32);
    const v = r.read('w.bin', 4, 4);
    expect(Array.from(v)).toEqual([4, 5, 6, 7]);
    expect(v.buffer).toBe(bytes.buffer);
    const t = extTensor('w.bin', 16, 16);
    expect(externalInfo(t)).toMatchObject({ location: 'w.bin', offset: 16, length: 16 });
  });
});
