/**
 * The data-driven round-trip table (src/testing/fixtures.ts plus the committed real exports in
 * src/testing/real/): every fixture decodes, re-encodes and decodes again to an equal model; the
 * runnable ones give bit-identical outputs in onnxruntime-node before and after the round trip,
 * and match outputs computed independently (reference ops, or torch for the real exports).
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, type BuiltFixture, type Fixture, type FixtureInput, type WeightValues } from '../testing/fixtures';
import { REAL_MODELS, realFixture, type RealReference } from '../testing/real-fixtures';
import { decodeModel, encodeModel } from './codec';
import { assignNodeNames } from './names';
import { tensorStrings, tensorValues } from './tensor';
import {
  AttributeType,
  DataType,
  type Attribute,
  type ExternalDataResolver,
  type Graph,
  type Model,
  type SparseTensor,
  type Tensor,
} from './types';

const REAL_DIR = fileURLToPath(new URL('../testing/real/', import.meta.url));

function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const REAL = REAL_MODELS.map((name) =>
  realFixture(name, readBytes(join(REAL_DIR, `${name}.onnx`)), JSON.parse(readFileSync(join(REAL_DIR, `${name}.json`), 'utf8')) as RealReference),
);
const ALL: Fixture[] = [...FIXTURES, ...REAL];

// ---------------------------------------------------------------------------------------------
// Helpers

interface RoundTrip {
  built: BuiltFixture;
  original: Uint8Array;
  decoded: Model;
  reencoded: Uint8Array;
  decoded2: Model;
}

const cache = new Map<string, RoundTrip>();
function roundTrip(fx: Fixture): RoundTrip {
  let rt = cache.get(fx.id);
  if (!rt) {
    const built = fx.build();
    const original = fx.source ? fx.source() : encodeModel(built.model);
    const decoded = decodeModel(original);
    const reencoded = encodeModel(decoded);
    const decoded2 = decodeModel(reencoded);
    rt = { built, original, decoded, reencoded, decoded2 };
    cache.set(fx.id, rt);
  }
  return rt;
}

/** The builder's model as the decoder must give it back: float attributes are float32 on the wire. */
function normalizeBuilt<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => normalizeBuilt(x)) as T;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = normalizeBuilt(x);
  if ('floats' in out && 'ints' in out && 'typeProtos' in out) {
    const a = out as unknown as Attribute;
    if (a.f !== undefined) a.f = Math.fround(a.f);
    a.floats = a.floats.map(Math.fround);
  }
  return out as T;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** A value's canonical text: -0 and NaN kept apart, bigints marked. */
function canon(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return JSON.stringify(v);
}
const canonList = (xs: ArrayLike<unknown>) => Array.from(xs as ArrayLike<unknown>, canon);

/** Every graph of a model: main, subgraphs at any depth, training graphs, function bodies (as node lists). */
function allGraphs(model: Model): { graph?: Graph; nodes: Graph['nodes']; depth: number }[] {
  const out: { graph?: Graph; nodes: Graph['nodes']; depth: number }[] = [];
  const visit = (g: Graph, depth: number) => {
    out.push({ graph: g, nodes: g.nodes, depth });
    for (const n of g.nodes)
      for (const a of n.attributes) {
        if (a.g) visit(a.g, depth + 1);
        for (const sg of a.graphs) visit(sg, depth + 1);
      }
  };
  if (model.graph) visit(model.graph, 0);
  for (const t of model.trainingInfo) {
    if (t.initialization) visit(t.initialization, 0);
    if (t.algorithm) visit(t.algorithm, 0);
  }
  for (const f of model.functions) out.push({ nodes: f.nodes, depth: 0 });
  return out;
}

function densify(s: SparseTensor, external?: ExternalDataResolver): number[] {
  const dims = s.dims;
  const n = dims.reduce((p, d) => p * d, 1);
  const dense = new Array<number>(n).fill(0);
  const values = Array.from(tensorValues(s.values!, external) as ArrayLike<number>);
  const idx = Array.from(tensorValues(s.indices!, external) as BigInt64Array, Number);
  const rank2 = s.indices!.dims.length === 2;
  values.forEach((v, k) => {
    let flat = idx[k];
    if (rank2) {
      flat = 0;
      for (let r = 0; r < dims.length; r++) flat = flat * dims[r] + idx[k * dims.length + r];
    }
    dense[flat] = v;
  });
  return dense;
}

function tensorList(t: Tensor, external?: ExternalDataResolver): string[] {
  if (t.dataType === DataType.STRING) return tensorStrings(t).map(canon);
  return canonList(tensorValues(t, external));
}

/** Stored weights by initializer / sparse initializer name or Constant output name, in any graph. */
function storedWeights(model: Model, external?: ExternalDataResolver): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const dec = new TextDecoder();
  for (const { graph, nodes } of allGraphs(model)) {
    for (const t of graph?.initializers ?? []) out.set(t.name ?? '', tensorList(t, external));
    for (const s of graph?.sparseInitializers ?? []) out.set(s.values?.name ?? '', densify(s, external).map(canon));
    for (const n of nodes) {
      if (n.opType !== 'Constant' || (n.domain ?? '') !== '') continue;
      const a = n.attributes[0];
      const name = n.outputs[0];
      switch (a.name) {
        case 'value':
          out.set(name, tensorList(a.t!, external));
          break;
        case 'value_float':
          out.set(name, [canon(a.f)]);
          break;
        case 'value_floats':
          out.set(name, a.floats.map(canon));
          break;
        case 'value_int':
          out.set(name, [canon(BigInt(a.i!))]);
          break;
        case 'value_ints':
          out.set(name, a.ints.map((i) => canon(BigInt(i))));
          break;
        case 'value_string':
          out.set(name, [canon(dec.decode(a.s))]);
          break;
        case 'value_strings':
          out.set(name, a.strings.map((s) => canon(dec.decode(s))));
          break;
        case 'sparse_value':
          out.set(name, densify(a.sparseTensor!, external).map(canon));
          break;
      }
    }
  }
  return out;
}

function resolver(files?: Record<string, Uint8Array>): ExternalDataResolver | undefined {
  if (!files) return undefined;
  return {
    read(location, offset, length) {
      const f = files[location];
      if (!f) throw new Error(`no external file ${location}`);
      return f.subarray(offset, length === undefined ? undefined : offset + length);
    },
  };
}

/** Every unknownFields entry anywhere in the tree, as hex, in traversal order. */
function unknownFieldsOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) unknownFieldsOf(x, out);
  else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'unknownFields' && Array.isArray(x)) for (const u of x as Uint8Array[]) out.push(Buffer.from(u).toString('hex'));
      else unknownFieldsOf(x, out);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// onnxruntime

const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

type Level = ort.InferenceSession.SessionOptions['graphOptimizationLevel'];

async function createSession(bytes: Uint8Array, files: Record<string, Uint8Array> | undefined, level: Level): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, graphOptimizationLevel: level };
  if (!files) return ort.InferenceSession.create(bytes, options);
  const dir = mkdtempSync(join(tmpdir(), 'fixture-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, 'model.onnx'), bytes);
  for (const [loc, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, loc)), { recursive: true });
    writeFileSync(join(dir, loc), data);
  }
  return ort.InferenceSession.create(join(dir, 'model.onnx'), options);
}

function feeds(inputs: Record<string, FixtureInput>): Record<string, ort.Tensor> {
  // fresh tensors for every run
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, new ort.Tensor(v.type, v.data.slice() as ort.Tensor['data'], v.dims)]),
  );
}

async function run(bytes: Uint8Array, fx: Fixture, files: Record<string, Uint8Array> | undefined, level: Level = 'all'): Promise<Record<string, ort.Tensor>> {
  const session = await createSession(bytes, files, level);
  try {
    return await session.run(feeds(fx.inputs()));
  } finally {
    await session.release();
  }
}

function outputBytes(t: ort.Tensor): Uint8Array | string[] {
  const d = t.data;
  if (Array.isArray(d)) return d as string[];
  const v = d as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function expectClose(name: string, actual: ort.Tensor, data: ArrayLike<number | bigint> | string[], tolerance: number) {
  const got = Array.from(actual.data as ArrayLike<number | bigint | string>);
  expect(got.length, `${name}: element count`).toBe(data.length);
  for (let i = 0; i < got.length; i++) {
    const a = got[i];
    const b = (data as ArrayLike<unknown>)[i];
    if (typeof a === 'number' && typeof b === 'number' && tolerance > 0) {
      if (!(Math.abs(a - b) <= tolerance)) expect.fail(`${name}[${i}]: got ${a}, expected ${b} (tolerance ${tolerance})`);
    } else if (typeof a === 'boolean') {
      expect(Number(a), `${name}[${i}]`).toBe(Number(b));
    } else {
      expect(canon(a), `${name}[${i}]`).toBe(canon(b));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The table

describe.each(ALL.map((fx) => [fx.id, fx] as const))('fixture %s', (_id, fx) => {
  it('decodes, re-encodes and decodes again to an equal model', () => {
    const { decoded, decoded2, reencoded } = roundTrip(fx);
    expect(decoded2).toEqual(decoded);
    // and re-encoding that is a fixed point, byte for byte
    expect(equalBytes(encodeModel(decoded2), reencoded)).toBe(true);
  });

  if (!fx.source) {
    it('decodes to exactly what the builder made, bytes included', () => {
      const { built, decoded, original, reencoded } = roundTrip(fx);
      expect(decoded).toEqual(normalizeBuilt(built.model));
      expect(equalBytes(reencoded, original)).toBe(true);
    });
  }

  it('keeps unknown fields', () => {
    const { built, decoded, decoded2 } = roundTrip(fx);
    const want = fx.source ? unknownFieldsOf(decoded) : unknownFieldsOf(built.model);
    expect(unknownFieldsOf(decoded)).toEqual(want);
    expect(unknownFieldsOf(decoded2)).toEqual(want);
  });

  if (fx.weights) {
    const weights = fx.weights;
    it('decodes stored weights (initializers, Constant nodes, typed fields, external, sparse) to the values the builder put in', () => {
      const { built, decoded, decoded2 } = roundTrip(fx);
      const ext = resolver(built.externalFiles);
      for (const model of [decoded, decoded2]) {
        const stored = storedWeights(model, ext);
        for (const [name, values] of Object.entries(weights() as Record<string, WeightValues>)) {
          expect(stored.has(name), `weight ${name} found`).toBe(true);
          expect(stored.get(name), `weight ${name}`).toEqual(canonList(values));
        }
      }
    });
  }

  if (fx.runnable) {
    it('runs in onnxruntime-node with bit-identical outputs before and after the round trip', async () => {
      const { built, original, reencoded } = roundTrip(fx);
      const before = await run(original, fx, built.externalFiles);
      const after = await run(reencoded, fx, built.externalFiles);
      expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
      for (const [name, t] of Object.entries(before)) {
        const u = after[name];
        expect(u.type, `${name}: type`).toBe(t.type);
        expect(u.dims, `${name}: dims`).toEqual(t.dims);
        const a = outputBytes(t);
        const b = outputBytes(u);
        if (Array.isArray(a)) expect(b, `${name}: strings`).toEqual(a);
        else expect(equalBytes(a, b as Uint8Array), `${name}: bytes`).toBe(true);
      }
    });
  }

  if (fx.runnable) {
    it('runs bit-identically after every node gets a unique name (what the loader does)', async () => {
      const { built, original } = roundTrip(fx);
      const named = decodeModel(original);
      assignNodeNames(named);
      const names = allGraphs(named).flatMap((g) => g.nodes.map((n) => n.name ?? ''));
      expect(names.every((n) => n !== '')).toBe(true);
      expect(new Set(names).size).toBe(names.length);
      const before = await run(original, fx, built.externalFiles);
      const after = await run(encodeModel(named), fx, built.externalFiles);
      for (const [name, t] of Object.entries(before)) {
        const a = outputBytes(t);
        const b = outputBytes(after[name]);
        if (Array.isArray(a)) expect(b, `${name}: strings`).toEqual(a);
        else expect(equalBytes(a, b as Uint8Array), `${name}: bytes`).toBe(true);
      }
    });
  }

  if (fx.runsAfterNaming) {
    it('is refused by onnxruntime as written, and runs with the expected outputs once its nodes are named', async () => {
      const { built, original } = roundTrip(fx);
      await expect(run(original, fx, built.externalFiles)).rejects.toThrow(/same node name/);
      const named = decodeModel(original);
      expect(assignNodeNames(named)).toBeGreaterThan(0);
      const out = await run(encodeModel(named), fx, built.externalFiles);
      for (const [name, e] of Object.entries(fx.expected?.() ?? {})) expectClose(name, out[name], e.data, e.tolerance ?? 0);
    });
  }

  if (fx.runnable && fx.expected) {
    const expected = fx.expected;
    it('gives the outputs computed independently (reference ops or the exporting framework)', async () => {
      const { built, reencoded } = roundTrip(fx);
      // optimizations off: ORT's deliberate approximations (MatMulNBits with int8 activations) stay out
      const after = await run(reencoded, fx, built.externalFiles, 'disabled');
      for (const [name, e] of Object.entries(expected())) {
        const t = after[name];
        expect(t, `output ${name}`).toBeDefined();
        if (e.dims) expect(t.dims, `${name}: dims`).toEqual(e.dims);
        expectClose(name, t, e.data, e.tolerance ?? 0);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// What the table must keep covering (measured on the decoded models, not on declared tags)

describe('the fixture table', () => {
  const runnable = ALL.filter((f) => f.runnable);
  const models = (list: Fixture[]) => list.map((f) => roundTrip(f).decoded);

  it('has unique ids and runnable fixtures with inputs', () => {
    expect(new Set(ALL.map((f) => f.id)).size).toBe(ALL.length);
    for (const f of runnable) expect(Object.keys(f.inputs()).length, f.id).toBeGreaterThan(0);
  });

  it('covers every attribute type, runnable where a standard op uses it', () => {
    const types = (list: Fixture[]) => {
      const s = new Set<number>();
      for (const m of models(list)) for (const { nodes } of allGraphs(m)) for (const n of nodes) for (const a of n.attributes) if (a.type) s.add(a.type);
      return s;
    };
    const everywhere = types(ALL);
    for (const t of Object.values(AttributeType).filter((t) => t !== 0)) expect(everywhere.has(t), `attribute type ${t}`).toBe(true);
    const run = types(runnable);
    const standard = ['FLOAT', 'INT', 'STRING', 'TENSOR', 'GRAPH', 'FLOATS', 'INTS', 'STRINGS', 'SPARSE_TENSOR', 'TYPE_PROTO'] as const;
    for (const k of standard) expect(run.has(AttributeType[k]), `runnable ${k}`).toBe(true);
  });

  it('runs opsets 9 to 21 at their IR versions 4 to 10', () => {
    const pairs = new Set(models(runnable).map((m) => `${m.opsetImport.find((o) => (o.domain ?? '') === '')?.version}/${m.irVersion}`));
    for (const p of ['9/4', '10/5', '11/6', '13/7', '17/8', '19/9', '21/10']) expect(pairs.has(p), `opset/IR ${p}`).toBe(true);
  });

  it('runs every way of storing weights', () => {
    const seen = new Set<string>();
    const note = (t: Tensor) => {
      if (t.rawData) seen.add('rawData');
      if (t.floatData) seen.add('floatData');
      if (t.int32Data) seen.add(t.dataType === DataType.FLOAT16 ? 'fp16-int32Data' : t.dataType === DataType.INT4 ? 'int4-int32Data' : 'int32Data');
      if (t.int64Data) seen.add('int64Data');
      if (t.doubleData) seen.add('doubleData');
      if (t.uint64Data) seen.add('uint64Data');
      if (t.stringData.length) seen.add('stringData');
      if (t.dataLocation === 1) seen.add('external');
    };
    for (const m of models(runnable))
      for (const { graph, nodes } of allGraphs(m)) {
        graph?.initializers.forEach(note);
        if (graph?.sparseInitializers.length) seen.add('sparseInitializer');
        for (const n of nodes)
          for (const a of n.attributes) {
            if (n.opType === 'Constant') seen.add(`Constant.${a.name}`);
            if (a.t) note(a.t);
          }
      }
    for (const k of [
      'rawData', 'floatData', 'int32Data', 'fp16-int32Data', 'int4-int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData', 'external',
      'sparseInitializer', 'Constant.value', 'Constant.value_float', 'Constant.value_floats', 'Constant.value_int', 'Constant.value_ints',
      'Constant.value_string', 'Constant.value_strings', 'Constant.sparse_value',
    ])
      expect(seen.has(k), k).toBe(true);
  });

  it('runs subgraphs nested at least two deep with initializers inside, functions with defaults and ref_attr_name, odd node names', () => {
    let depth = 0;
    let subInit = false;
    let defaults = false;
    let refs = false;
    let empty = false;
    let absent = false;
    let duplicate = false;
    for (const m of models(runnable)) {
      for (const { graph, nodes, depth: d } of allGraphs(m)) {
        depth = Math.max(depth, d);
        if (d > 0 && graph?.initializers.length) subInit = true;
        for (const n of nodes) if (n.attributes.some((a) => a.refAttrName)) refs = true;
      }
      if (m.functions.some((f) => f.attributeProto.length)) defaults = true;
      const names = allGraphs(m).flatMap((g) => g.nodes.map((n) => n.name));
      if (names.includes('')) empty = true;
      if (names.includes(undefined)) absent = true;
      const named = names.filter((n): n is string => !!n);
      if (new Set(named).size < named.length) duplicate = true;
    }
    expect(depth).toBeGreaterThanOrEqual(2);
    expect({ subInit, defaults, refs, empty, absent, duplicate }).toEqual({ subInit: true, defaults: true, refs: true, empty: true, absent: true, duplicate: true });
  });

  it('carries the model-level extras: metadata, value_info, quantization annotations, training info, unknown fields, symbolic dims, bool/int64/float16 inputs', () => {
    const ms = models(runnable);
    expect(ms.some((m) => m.metadataProps.length > 0)).toBe(true);
    expect(ms.some((m) => (m.graph?.valueInfo.length ?? 0) > 0)).toBe(true);
    expect(ms.some((m) => (m.graph?.quantizationAnnotation.length ?? 0) > 0)).toBe(true);
    expect(ms.some((m) => m.trainingInfo.length > 0)).toBe(true);
    expect(ms.some((m) => m.docString)).toBe(true);
    expect(ms.some((m) => unknownFieldsOf(m).length >= 10)).toBe(true);
    expect(ms.some((m) => m.graph?.inputs.some((i) => i.type?.tensorType?.shape?.dim.some((d) => d.dimParam)))).toBe(true);
    const inputTypes = new Set(runnable.flatMap((f) => Object.values(f.inputs()).map((i) => i.type)));
    for (const t of ['float32', 'int64', 'bool', 'float16']) expect(inputTypes.has(t as FixtureInput['type']), t).toBe(true);
    expect(runnable.some((f) => Object.keys(f.expected?.() ?? {}).length > 1)).toBe(true);
  });
});
