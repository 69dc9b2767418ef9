/**
 * Fuzz test of the model-reading path: thousands of truncated, byte-mutated and hostile files
 * derived from real encoded models. Each must either load or fail with an AppError, in bounded
 * time; a model that loads must re-encode (or fail with an AppError), and what it writes must
 * decode again. Deterministic: every variant comes from a seeded PRNG.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { seeded } from '../testing/random';
import { attr, emptyTensor, makeGraph, makeModel, makeNode, makeSparseTensor, makeValueInfo } from './build';
import { decodeModel, encodeModel } from './codec';
import { loadModel } from './load';
import { SCHEMAS } from './schema';
import { summarizeModel } from './summary';
import { makeTensor } from './tensor';
import { DataType, type Model } from './types';

/**
 * A hang guard, not a speed test: every case here finishes in milliseconds; a parser that loops
 * or blows up exponentially would take minutes. Generous, so a loaded machine never trips it.
 */
const HANG_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The path under test

/**
 * The full load path, as the studio and `inspect` run it: sniff, decode, name nodes, check
 * external data (loadModel), then summarize (layers, counts) and serialize the summary.
 * summarizeModel is documented never to throw, so anything it throws is a failure.
 */
function loadPath(bytes: Uint8Array): Model {
  const loaded = loadModel(bytes);
  let json: string;
  try {
    json = JSON.stringify(summarizeModel(loaded));
  } catch (e) {
    throw new SummaryError(e);
  }
  if (!json.startsWith('{')) throw new SummaryError(new Error('summary is not an object'));
  return loaded.model;
}

class SummaryError extends Error {
  constructor(inner: unknown) {
    super(`summarizeModel threw: ${inner instanceof Error ? `${inner.name}: ${inner.message}\n${inner.stack}` : String(inner)}`);
    this.name = 'SummaryError';
  }
}

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (the fixtures' mulberry32)

function prng(seed: number) {
  const next = seeded(seed);
  return {
    next,
    int: (n: number): number => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
type Rng = ReturnType<typeof prng>;

// ---------------------------------------------------------------------------------------------
// Seed models

function floats(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next() * 2 - 1;
  return out;
}

function cnnModel(rng: Rng): Model {
  const graph = makeGraph({
    name: 'cnn',
    inputs: [makeValueInfo('x', DataType.FLOAT, ['N', 3, 8, 8])],
    outputs: [makeValueInfo('y', DataType.FLOAT, ['N', 10])],
    initializers: [
      makeTensor('conv.w', DataType.FLOAT, [4, 3, 3, 3], floats(rng, 108)),
      makeTensor('conv.b', DataType.FLOAT, [4], floats(rng, 4)),
      makeTensor('fc.w', DataType.FLOAT, [10, 64], floats(rng, 640)),
      makeTensor('fc.b', DataType.FLOAT, [10], floats(rng, 10)),
      makeTensor('shape', DataType.INT64, [2], [-1n, 64n]),
    ],
    nodes: [
      makeNode('Conv', ['x', 'conv.w', 'conv.b'], ['c'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [0, 0, 0, 0])], { name: 'conv' }),
      makeNode('Relu', ['c'], ['r'], [], { name: 'relu' }),
      makeNode('MaxPool', ['r'], ['p'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2])], { name: 'pool' }),
      makeNode('Reshape', ['p', 'shape'], ['f'], [], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'fc.w', 'fc.b'], ['y'], [attr.int('transB', 1), attr.float('alpha', 1)], { name: 'fc' }),
    ],
    valueInfo: [makeValueInfo('c', DataType.FLOAT, ['N', 4, 6, 6])],
  });
  return makeModel({ graph, opsetImport: [{ domain: '', version: 13 }], docString: 'small cnn', metadataProps: [{ key: 'k', value: 'v' }] });
}

function ifModel(rng: Rng): Model {
  const thenBranch = makeGraph({
    name: 'then',
    initializers: [makeTensor('then.w', DataType.FLOAT, [2, 3], floats(rng, 6))],
    nodes: [
      makeNode('Constant', [], ['then.k'], [attr.floats('value_floats', [1.5, -2, 3.25])]),
      makeNode('MatMul', ['x', 'then.w'], ['then.m']),
      makeNode('Add', ['then.m', 'then.k'], ['out']),
    ],
    outputs: [makeValueInfo('out', DataType.FLOAT, [1, 3])],
  });
  const innerIf = makeGraph({
    name: 'inner_else',
    nodes: [makeNode('Constant', [], ['out'], [attr.tensor('value', makeTensor('c', DataType.FLOAT, [1, 3], [0, 1, 2]))])],
    outputs: [makeValueInfo('out', DataType.FLOAT, [1, 3])],
  });
  const elseBranch = makeGraph({
    name: 'else',
    nodes: [
      makeNode('Constant', [], ['else.i'], [attr.ints('value_ints', [1, 3])]),
      makeNode('Constant', [], ['else.f'], [attr.float('value_float', 0.5)]),
      makeNode('If', ['cond'], ['out'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', innerIf)]),
    ],
    outputs: [makeValueInfo('out', DataType.FLOAT, [1, 3])],
  });
  const sparse = makeSparseTensor(
    makeTensor('sv', DataType.FLOAT, [2], [4, 5]),
    makeTensor('si', DataType.INT64, [2], [1n, 5n]),
    [2, 3],
  );
  const graph = makeGraph({
    name: 'if_model',
    inputs: [makeValueInfo('cond', DataType.BOOL, []), makeValueInfo('x', DataType.FLOAT, [1, 2])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [1, 3])],
    nodes: [
      makeNode('If', ['cond'], ['out'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)]),
      makeNode('Constant', [], ['sp'], [attr.sparseTensor('sparse_value', sparse)]),
      makeNode('Add', ['out', 'sp'], ['y']),
    ],
  });
  return makeModel({ graph, opsetImport: [{ domain: '', version: 17 }] });
}

function typedFieldModel(): Model {
  const graph = makeGraph({
    name: 'typed',
    inputs: [makeValueInfo('x', DataType.FLOAT, [2, 2])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [2, 2])],
    initializers: [
      emptyTensor({ name: 'f', dataType: DataType.FLOAT, dims: [2, 2], floatData: new Float32Array([1, -2, 3.5, 1e-8]) }),
      emptyTensor({ name: 'i64', dataType: DataType.INT64, dims: [3], int64Data: new BigInt64Array([-1n, 9223372036854775807n, 7n]) }),
      emptyTensor({ name: 'i32', dataType: DataType.INT32, dims: [3], int32Data: new Int32Array([-5, 0, 2147483647]) }),
      emptyTensor({ name: 'd', dataType: DataType.DOUBLE, dims: [2], doubleData: new Float64Array([Math.PI, -0]) }),
      emptyTensor({ name: 'u64', dataType: DataType.UINT64, dims: [2], uint64Data: new BigUint64Array([0n, 18446744073709551615n]) }),
      emptyTensor({ name: 'h', dataType: DataType.FLOAT16, dims: [2], int32Data: new Int32Array([0x3c00, 0xc000]) }),
      makeTensor('s', DataType.STRING, [2], ['alpha', 'βeta']),
    ],
    nodes: [makeNode('Add', ['x', 'f'], ['y'])],
  });
  return makeModel({ graph, producerName: 'typed-fields', modelVersion: 3 });
}

function sparseFunctionModel(rng: Rng): Model {
  const sparse = makeSparseTensor(
    makeTensor('sp.values', DataType.FLOAT, [3], floats(rng, 3)),
    makeTensor('sp.indices', DataType.INT64, [3], [0n, 4n, 11n]),
    [3, 4],
  );
  sparse.values!.name = 'sp';
  const graph = makeGraph({
    name: 'with_function',
    inputs: [makeValueInfo('x', DataType.FLOAT, [3, 4])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [3, 4])],
    sparseInitializers: [sparse],
    initializers: [makeTensor('scale', DataType.FLOAT, [4], floats(rng, 4))],
    nodes: [
      makeNode('ScaleAdd', ['x', 'scale'], ['t'], [attr.float('alpha', 0.25)], { domain: 'custom', name: 'fn_call' }),
      makeNode('Add', ['t', 'sp'], ['y'], [], { name: '' }),
      makeNode('Identity', ['y'], ['z'], [], { name: 'fn_call' }), // duplicate name
    ],
    quantizationAnnotation: [{ tensorName: 'x', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 'scale' }] }],
  });
  const fn = {
    name: 'ScaleAdd',
    domain: 'custom',
    inputs: ['a', 'b'],
    outputs: ['c'],
    attribute: ['alpha'],
    attributeProto: [attr.float('beta', 2)],
    nodes: [
      makeNode('Constant', [], ['al'], [attr.ref('value_float', 'alpha', 1)]),
      makeNode('Mul', ['a', 'b'], ['m']),
      makeNode('Mul', ['m', 'al'], ['c']),
    ],
    opsetImport: [{ domain: '', version: 18 }],
    valueInfo: [],
    metadataProps: [],
  };
  const training = {
    initialization: makeGraph({ name: 'init', nodes: [makeNode('Constant', [], ['z0'], [attr.ints('value_ints', [0])])] }),
    algorithm: makeGraph({ name: 'algo' }),
    initializationBinding: [{ key: 'scale', value: 'z0' }],
    updateBinding: [],
  };
  const model = makeModel({
    graph,
    irVersion: 10,
    opsetImport: [
      { domain: '', version: 18 },
      { domain: 'custom', version: 1 },
    ],
    functions: [fn],
    trainingInfo: [training],
  });
  // A field from a "newer ONNX": unknown field 99 (varint) on the model, kept as raw bytes.
  model.unknownFields = [new Uint8Array([0x98, 0x06, 0x2a])];
  return model;
}

function seedModels(): { name: string; bytes: Uint8Array }[] {
  const rng = prng(0x5eed);
  return [
    { name: 'cnn', bytes: encodeModel(cnnModel(rng)) },
    { name: 'if', bytes: encodeModel(ifModel(rng)) },
    { name: 'typed', bytes: encodeModel(typedFieldModel()) },
    { name: 'sparse+function', bytes: encodeModel(sparseFunctionModel(rng)) },
  ];
}

// ---------------------------------------------------------------------------------------------
// Wire helpers: a tiny independent walker that finds every field of a valid seed (tags, length
// prefixes, scalar varints), so mutations can aim at the structure, not just at random bytes.

interface Span {
  tagPos: number;
  tagLen: number;
  no: number;
  wt: number;
  /** where the value starts (the length prefix for wire type 2) */
  valPos: number;
  /** byte count of the varint value or length prefix (wire types 0 and 2) */
  valLen: number;
  end: number;
}

function readVarintAt(buf: Uint8Array, pos: number): { value: number; len: number } {
  let value = 0;
  let mul = 1;
  let len = 0;
  for (;;) {
    const b = buf[pos + len++];
    value += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) return { value, len };
  }
}

function walk(buf: Uint8Array, schemaName: string | undefined, start: number, end: number, out: Span[]): void {
  let pos = start;
  while (pos < end) {
    const tag = readVarintAt(buf, pos);
    const no = Math.floor(tag.value / 8);
    const wt = tag.value % 8;
    const valPos = pos + tag.len;
    let valLen = 0;
    let next: number;
    if (wt === 0) {
      valLen = readVarintAt(buf, valPos).len;
      next = valPos + valLen;
    } else if (wt === 1) next = valPos + 8;
    else if (wt === 5) next = valPos + 4;
    else if (wt === 2) {
      const l = readVarintAt(buf, valPos);
      valLen = l.len;
      next = valPos + l.len + l.value;
      const f = schemaName ? SCHEMAS[schemaName].byNo[no] : undefined;
      if (f && f.kind === 'msg') walk(buf, f.ref, valPos + l.len, next, out);
    } else throw new Error(`seed has wire type ${wt}`);
    out.push({ tagPos: pos, tagLen: tag.len, no, wt, valPos, valLen, end: next });
    pos = next;
  }
}

function varint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

function splice(buf: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(buf.length - remove + insert.length);
  out.set(buf.subarray(0, at), 0);
  out.set(insert, at);
  out.set(buf.subarray(at + remove), at + insert.length);
  return out;
}

/** Writes protobuf back to front, so deep nesting costs one pass (lengths are known when needed). */
class ReverseWriter {
  buf = new Uint8Array(1 << 16);
  start = this.buf.length;
  private ensure(n: number): void {
    if (this.start >= n) return;
    const size = Math.max(this.buf.length * 2, this.buf.length + n);
    const grown = new Uint8Array(size);
    const used = this.buf.length - this.start;
    grown.set(this.buf.subarray(this.start), size - used);
    this.buf = grown;
    this.start = size - used;
  }
  get length(): number {
    return this.buf.length - this.start;
  }
  bytes(b: ArrayLike<number>): void {
    this.ensure(b.length);
    this.start -= b.length;
    this.buf.set(b, this.start);
  }
  /** Prefixes everything written since `mark` (a length) with tag(no, 2) and its length. */
  wrap(no: number, mark: number): void {
    const len = this.length - mark;
    this.bytes(varint(BigInt(len)));
    this.bytes(varint(BigInt(no * 8 + 2)));
  }
  str(no: number, s: string): void {
    const b = new TextEncoder().encode(s);
    this.bytes(b);
    this.bytes(varint(BigInt(b.length)));
    this.bytes(varint(BigInt(no * 8 + 2)));
  }
  int(no: number, v: number): void {
    this.bytes(varint(BigInt(v)));
    this.bytes(varint(BigInt(no * 8)));
  }
  result(): Uint8Array {
    return this.buf.slice(this.start);
  }
}

/** A model whose main graph holds an If whose then_branch holds an If ... `levels` deep. */
function nestedIfModel(levels: number): Uint8Array {
  const w = new ReverseWriter();
  // innermost graph: one Identity node
  w.str(2, 'leaf');
  const leafNode = w.length;
  w.str(2, 'y');
  w.str(1, 'x');
  w.str(4, 'Identity');
  w.wrap(1, leafNode); // Graph.node
  for (let i = 0; i < levels; i++) {
    // Graph bytes so far form the then_branch: Attribute{name, g, type}, inside Node{op_type, attribute}, inside Graph{node}
    const graphStart = 0; // everything written so far is the inner graph
    w.wrap(6, graphStart); // Attribute.g
    w.str(1, 'then_branch'); // Attribute.name (field order does not matter)
    w.int(20, 5); // Attribute.type = GRAPH
    w.wrap(5, 0); // Node.attribute
    w.str(4, 'If');
    w.str(1, 'cond');
    w.wrap(1, 0); // Graph.node
  }
  w.wrap(7, 0); // Model.graph
  w.int(1, 8); // ir_version
  return w.result();
}

/** A value_info whose type is sequence(sequence(...(tensor))) `levels` deep. */
function nestedTypeModel(levels: number): Uint8Array {
  const w = new ReverseWriter();
  w.int(1, 1); // TypeProto.Tensor.elem_type = FLOAT
  w.wrap(1, 0); // TypeProto.tensor_type
  for (let i = 0; i < levels; i++) {
    w.wrap(1, 0); // TypeProto.Sequence.elem_type
    w.wrap(4, 0); // TypeProto.sequence_type
  }
  w.wrap(2, 0); // ValueInfo.type
  w.str(1, 'x');
  w.wrap(11, 0); // Graph.input
  w.wrap(7, 0); // Model.graph
  w.int(1, 8);
  return w.result();
}

/** Unknown field 50 on the model holding `levels` nested groups (wire types 3 and 4). */
function nestedGroupsModel(levels: number): Uint8Array {
  const open = varint(BigInt(50 * 8 + 3));
  const close = varint(BigInt(50 * 8 + 4));
  const out = new Uint8Array(2 + levels * (open.length + close.length));
  out.set([0x08, 0x08], 0); // ir_version 8
  let p = 2;
  for (let i = 0; i < levels; i++) {
    out.set(open, p);
    p += open.length;
  }
  for (let i = 0; i < levels; i++) {
    out.set(close, p);
    p += close.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The harness

interface Failure {
  strategy: string;
  variant: string;
  stage: string;
  error: string;
}

class Harness {
  failures: Failure[] = [];
  maxMs = 0;
  lastMs = 0;
  maxWhere = '';
  calls = 0;
  loaded = 0;
  rejected = 0;
  reencoded = 0;
  codes = new Map<string, number>();
  perStrategy = new Map<string, { ok: number; rejected: number }>();

  private fail(strategy: string, variant: string, stage: string, e: unknown): void {
    if (this.failures.length >= 20) return;
    const error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 5).join('\n')}` : String(e);
    this.failures.push({ strategy, variant, stage, error });
  }

  /** Returns the decoded model, or the AppError code it was rejected with. */
  check(strategy: string, variant: string, bytes: Uint8Array): Model | string {
    const stats = this.perStrategy.get(strategy) ?? { ok: 0, rejected: 0 };
    this.perStrategy.set(strategy, stats);
    this.calls++;
    let model: Model | undefined;
    let decoded: Model | undefined;
    let code = '';
    const t0 = performance.now();
    // the bare decoder (no sniffing in front of it) ...
    try {
      decoded = decodeModel(bytes);
    } catch (e) {
      if (!(e instanceof AppError)) this.fail(strategy, variant, 'decode', e);
    }
    const t1 = performance.now();
    // ... and the whole load path
    try {
      model = loadPath(bytes);
    } catch (e) {
      if (e instanceof AppError) code = e.code;
      else this.fail(strategy, variant, 'load+summary', e);
    }
    const ms = Math.max(t1 - t0, performance.now() - t1);
    this.lastMs = ms;
    if (ms > this.maxMs) {
      this.maxMs = ms;
      this.maxWhere = `${strategy} ${variant} (${bytes.length} bytes)`;
    }
    if (model) {
      this.loaded++;
      stats.ok++;
    } else {
      this.rejected++;
      stats.rejected++;
      if (code) this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    }
    // whatever decoded (after load's renaming, where load succeeded) must re-encode or fail
    // with an AppError, and what the encoder writes must decode again
    for (const [stage, m] of [['loaded', model], ['decoded', model ? undefined : decoded]] as const) {
      if (!m) continue;
      let out: Uint8Array | undefined;
      try {
        out = encodeModel(m);
      } catch (e) {
        if (!(e instanceof AppError)) this.fail(strategy, variant, `encode ${stage}`, e);
      }
      if (out) {
        try {
          decodeModel(out);
          this.reencoded++;
        } catch (e) {
          this.fail(strategy, variant, `re-decode ${stage}`, e);
        }
      }
    }
    return model ?? (code || 'untyped');
  }
}

// ---------------------------------------------------------------------------------------------
// Strategies

const SEEDS = seedModels();
/** FUZZ_SCALE=20 npx vitest run src/onnx/fuzz.test.ts runs 20x the random variants (new ones, same determinism). */
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);
const HUGE_LENGTHS = [0x7fffffffn, 0x80000000n, 0xffffffffn, 0xffffffffffffffffn, 1n << 35n, 0x7ffffff0n];
const EXTREME_VARINTS = [0n, -1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 53n, (1n << 63n) - 1n, -(1n << 63n), 1_000_000_000_000n];

function truncations(h: Harness): void {
  for (const seed of SEEDS) {
    const n = seed.bytes.length;
    const lengths = new Set<number>();
    if (n <= 4096) for (let l = 0; l < n; l++) lengths.add(l);
    else {
      const rng = prng(n);
      for (let l = 0; l < 64; l++) {
        lengths.add(l);
        lengths.add(n - 1 - l);
      }
      while (lengths.size < 2000) lengths.add(rng.int(n));
    }
    for (const l of lengths) h.check('truncate', `${seed.name}[0:${l}]`, seed.bytes.subarray(0, l));
  }
}

function byteMutations(h: Harness, strategy: string, perSeed: number, mutate: (rng: Rng, b: Uint8Array) => Uint8Array): void {
  for (const [si, seed] of SEEDS.entries()) {
    for (let v = 0; v < perSeed; v++) {
      const rng = prng((si + 1) * 1_000_003 + v * 7919 + strategy.length);
      h.check(strategy, `${seed.name}#${v}`, mutate(rng, seed.bytes));
    }
  }
}

function flipBytes(rng: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const k = 1 + rng.int(4);
  for (let i = 0; i < k; i++) out[rng.int(out.length)] = rng.int(256);
  return out;
}

function flipBits(rng: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const k = 1 + rng.int(3);
  for (let i = 0; i < k; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}

function insertDelete(rng: Rng, b: Uint8Array): Uint8Array {
  let out = b;
  const k = 1 + rng.int(3);
  for (let i = 0; i < k; i++) {
    const at = rng.int(out.length + 1);
    if (rng.next() < 0.5 && at < out.length) out = splice(out, at, 1 + rng.int(Math.min(8, out.length - at)), []);
    else out = splice(out, at, 0, Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)));
  }
  return out;
}

function structured(h: Harness): void {
  for (const [si, seed] of SEEDS.entries()) {
    const spans: Span[] = [];
    walk(seed.bytes, 'Model', 0, seed.bytes.length, spans);
    const rng = prng(0xabc + si);
    const sample = <T>(xs: T[], n: number): T[] => (xs.length <= n ? xs : Array.from({ length: n }, () => rng.pick(xs)));
    const lenSpans = spans.filter((s) => s.wt === 2);
    const intSpans = spans.filter((s) => s.wt === 0);

    // length prefixes set to huge values (re-encoded, so the varint may grow) ...
    for (const s of sample(lenSpans, 120)) {
      for (const v of HUGE_LENGTHS) {
        h.check('huge-length', `${seed.name}@${s.valPos}=${v}`, splice(seed.bytes, s.valPos, s.valLen, varint(v)));
      }
      // ... and to the largest value of the same width, and to one past the real end
      const same = Array.from({ length: s.valLen }, (_, i) => (i === s.valLen - 1 ? 0x7f : 0xff));
      h.check('huge-length', `${seed.name}@${s.valPos}=max${s.valLen}`, splice(seed.bytes, s.valPos, s.valLen, same));
      const real = readVarintAt(seed.bytes, s.valPos).value;
      h.check('huge-length', `${seed.name}@${s.valPos}=+1`, splice(seed.bytes, s.valPos, s.valLen, varint(BigInt(real + 1))));
      if (real > 0) h.check('huge-length', `${seed.name}@${s.valPos}=-1`, splice(seed.bytes, s.valPos, s.valLen, varint(BigInt(real - 1))));
    }

    // tags re-typed to every wire type, including the group (3/4) and invalid (6/7) ones
    for (const s of sample(spans, 150)) {
      for (const wt of [0, 1, 2, 3, 4, 5, 6, 7]) {
        if (wt === s.wt) continue;
        const out = seed.bytes.slice();
        out[s.tagPos] = (out[s.tagPos] & ~7) | wt;
        h.check('wire-type', `${seed.name}@${s.tagPos}:wt${wt}`, out);
      }
    }

    // stray group / end-group / invalid tags inserted at field boundaries
    const boundaries = [0, ...spans.map((s) => s.end)];
    for (let v = 0; v < 150 * SCALE; v++) {
      const at = rng.pick(boundaries);
      const no = rng.pick([1, 2, 5, 7, 15, 99, 536870911]);
      const wt = rng.pick([3, 4, 6, 7]);
      const extra = rng.next() < 0.5 ? [] : varint(BigInt(no * 8 + (wt === 3 ? 4 : 3)));
      h.check('stray-tag', `${seed.name}@${at}:${no}/${wt}`, splice(seed.bytes, at, 0, [...varint(BigInt(no * 8 + wt)), ...extra]));
    }

    // scalar values (dims, data types, versions, attribute ints ...) set to extremes
    for (const s of sample(intSpans, 150)) {
      for (const v of EXTREME_VARINTS) {
        h.check('extreme-int', `${seed.name}@${s.valPos}=${v}`, splice(seed.bytes, s.valPos, s.valLen, varint(v)));
      }
    }

    // a length-delimited field duplicated many times in place (repeated-field blowup)
    for (const s of sample(lenSpans, 40 * SCALE)) {
      const field = seed.bytes.subarray(s.tagPos, s.end);
      const times = 1 + rng.int(200);
      const rep = new Uint8Array(field.length * times);
      for (let i = 0; i < times; i++) rep.set(field, i * field.length);
      // only top-level fields can grow freely; inner ones break their parents' lengths (still a valid test)
      h.check('duplicate-field', `${seed.name}@${s.tagPos}x${times}`, splice(seed.bytes, s.tagPos, field.length, rep));
    }
  }
}

function havoc(h: Harness, count: number): void {
  const ops = [flipBytes, flipBits, insertDelete];
  for (let v = 0; v < count; v++) {
    const rng = prng(0x4a0c + v);
    const seed = rng.pick(SEEDS);
    let b = seed.bytes;
    const rounds = 2 + rng.int(6);
    for (let r = 0; r < rounds; r++) {
      const op = rng.int(5);
      if (op < 3) b = ops[op](rng, b);
      else if (op === 3 && b.length > 1) b = b.subarray(0, rng.int(b.length));
      else {
        // copy a random chunk of the file somewhere else
        const from = rng.int(b.length);
        const len = rng.int(Math.min(64, b.length - from));
        b = splice(b, rng.int(b.length + 1), 0, b.slice(from, from + len));
      }
    }
    h.check('havoc', `${seed.name}#${v}`, b);
  }
}

// ---------------------------------------------------------------------------------------------

function report(h: Harness): string {
  const lines = [...h.perStrategy].map(([s, c]) => `  ${s.padEnd(16)} ok ${String(c.ok).padStart(5)}  rejected ${String(c.rejected).padStart(5)}`);
  return [
    `fuzz: ${h.calls} variants, ${h.loaded} loaded, ${h.rejected} rejected, ${h.reencoded} re-encoded and re-decoded; max ${h.maxMs.toFixed(1)} ms per call (${h.maxWhere})`,
    ...lines,
    `  error codes: ${[...h.codes].map(([c, n]) => `${c} ${n}`).join(', ')}`,
  ].join('\n');
}

function expectAppError(fn: () => unknown, code?: string): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an AppError').toBeInstanceOf(AppError);
  if (code) expect((caught as AppError).code).toBe(code);
  return caught as AppError;
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

describe('fuzz: the model reader never crashes, never hangs', () => {
  it('seed models load and round-trip byte-exact', () => {
    for (const seed of SEEDS) {
      const model = loadPath(seed.bytes);
      expect(encodeModel(decodeModel(seed.bytes))).toEqual(seed.bytes);
      expect(model.graph?.nodes.length).toBeGreaterThan(0);
    }
  });

  it('thousands of mutated files each load or fail with an AppError, in bounded time', () => {
    const h = new Harness();
    truncations(h);
    byteMutations(h, 'byte-flip', 400 * SCALE, flipBytes);
    byteMutations(h, 'bit-flip', 400 * SCALE, flipBits);
    byteMutations(h, 'insert-delete', 300 * SCALE, insertDelete);
    structured(h);
    havoc(h, 1500 * SCALE);
    console.log(report(h));

    expect(h.failures, JSON.stringify(h.failures.slice(0, 5), null, 2)).toEqual([]);
    expect(h.calls).toBeGreaterThanOrEqual(5000);
    expect(h.maxMs, `slowest: ${h.maxWhere}`).toBeLessThan(HANG_MS);
    // the mutations really exercised both outcomes and the main error kinds
    expect(h.loaded).toBeGreaterThan(100);
    expect(h.rejected).toBeGreaterThan(1000);
    for (const code of ['truncated', 'malformed']) expect(h.codes.get(code) ?? 0).toBeGreaterThan(0);
    for (const [s, c] of h.perStrategy) expect(c.ok + c.rejected, s).toBeGreaterThan(0);
  });

  it('a cut inside the last field is reported as truncated', () => {
    for (const seed of SEEDS) {
      const spans: Span[] = [];
      walk(seed.bytes, 'Model', 0, seed.bytes.length, spans);
      const top = spans.filter((s) => s.end === seed.bytes.length).sort((a, b) => a.tagPos - b.tagPos)[0];
      for (let l = top.tagPos + 1; l < seed.bytes.length; l += Math.max(1, Math.floor((seed.bytes.length - top.tagPos) / 50))) {
        expectAppError(() => loadPath(seed.bytes.subarray(0, l)), 'truncated');
      }
    }
  });

  it('10,000 levels of nested If graphs are rejected as too deep; 20 levels load', () => {
    const deep = nestedIfModel(10_000);
    expect(deep.length).toBeGreaterThan(300_000);
    const r = timed(() => expectAppError(() => loadPath(deep), 'too-deep'));
    expect(r.ms).toBeLessThan(HANG_MS);
    expect(r.value.message).toMatch(/deep/);

    const ok = loadPath(nestedIfModel(20));
    let depth = 0;
    let g = ok.graph;
    while (g && g.nodes[0]?.opType === 'If') {
      depth++;
      g = g.nodes[0].attributes[0].g;
    }
    expect(depth).toBe(20);
    expect(g?.nodes[0]?.opType).toBe('Identity');
    const plain = decodeModel(nestedIfModel(20));
    expect(decodeModel(encodeModel(plain))).toEqual(plain);
  });

  it('10,000 levels of nested sequence types and of nested groups are rejected as too deep', () => {
    const types = nestedTypeModel(10_000);
    expect(timed(() => expectAppError(() => loadPath(types), 'too-deep')).ms).toBeLessThan(HANG_MS);
    // groups (wire types 3/4) at the top level: the decoder finds the nesting too deep; the load
    // path's sniffer already refuses a group in a ModelProto
    const groups = nestedGroupsModel(10_000);
    expect(timed(() => expectAppError(() => decodeModel(groups), 'too-deep')).ms).toBeLessThan(HANG_MS);
    expect(timed(() => expectAppError(() => loadPath(groups))).ms).toBeLessThan(HANG_MS);
    // shallow versions are fine
    const t = loadPath(nestedTypeModel(10));
    expect(t.graph?.inputs[0].type?.sequenceType?.elemType?.sequenceType).toBeDefined();
    const g = decodeModel(nestedGroupsModel(10));
    expect(g.irVersion).toBe(8);
    expect(g.unknownFields?.length).toBe(1);
  });

  it('repeated-field blowups (50k empty nodes, 1M packed ints, 100k dims, 150k strings, 50k opsets, 2x500k int64s) stay bounded', () => {
    const h = new Harness();
    const times: string[] = [];
    // a graph of 50,000 empty nodes (decode, naming and summary cost a few us per node)
    const nodes = new Uint8Array(100_000);
    for (let i = 0; i < nodes.length; i += 2) nodes[i] = 0x0a; // Graph.node, length 0
    const w1 = new ReverseWriter();
    w1.bytes(nodes);
    w1.wrap(7, 0);
    w1.int(1, 8);
    const m1 = h.check('blowup', 'empty-nodes', w1.result());
    times.push(`empty-nodes ${h.lastMs.toFixed(0)} ms`);
    expect(typeof m1 === 'object' ? m1.graph?.nodes.length : m1).toBe(50_000);
    if (typeof m1 === 'object') expect(new Set(m1.graph?.nodes.map((n) => n.name)).size).toBe(50_000);

    // an attribute with 1,000,000 packed ints (all zero) and a tensor with 100,000 dims of 1
    const w2 = new ReverseWriter();
    w2.bytes(new Uint8Array(100_000).fill(1));
    w2.wrap(1, 0); // Tensor.dims packed
    w2.str(8, 't');
    w2.int(2, DataType.FLOAT);
    w2.wrap(5, 0); // Graph.initializer
    const mark = w2.length;
    w2.bytes(new Uint8Array(1_000_000));
    w2.wrap(8, mark); // Attribute.ints packed
    w2.str(1, 'axes');
    w2.int(20, 7);
    w2.wrap(5, mark); // Node.attribute
    w2.str(4, 'Unsqueeze');
    w2.wrap(1, mark); // Graph.node
    w2.wrap(7, 0);
    w2.int(1, 8);
    const m2 = h.check('blowup', 'packed', w2.result());
    times.push(`packed ${h.lastMs.toFixed(0)} ms`);
    if (typeof m2 === 'object') {
      expect(m2.graph?.nodes[0].attributes[0].ints.length).toBe(1_000_000);
      expect(m2.graph?.initializers[0].dims.length).toBe(100_000);
    }

    // 150,000 empty string_data entries, then 50,000 opset imports (after the graph, in field order)
    const w3 = new ReverseWriter();
    const ops = new Uint8Array(200_000);
    for (let i = 0; i < ops.length; i += 4) ops.set([0x42, 0x02, 0x10, 0x0d], i); // opset_import {version: 13}
    w3.bytes(ops);
    const afterOps = w3.length;
    const strs = new Uint8Array(300_000);
    for (let i = 0; i < strs.length; i += 2) strs[i] = 0x32; // Tensor.string_data (6), length 0
    w3.bytes(strs);
    w3.int(2, DataType.STRING);
    w3.wrap(5, afterOps);
    w3.wrap(7, afterOps);
    const m3 = h.check('blowup', 'strings+opsets', w3.result());
    times.push(`strings+opsets ${h.lastMs.toFixed(0)} ms`);
    expect(typeof m3 === 'object' ? m3.opsetImport.length : m3).toBe(50_000);
    if (typeof m3 === 'object') expect(m3.graph?.initializers[0].stringData.length).toBe(150_000);

    // a tensor with 500,000 packed int64_data values and 500,000 packed uint64_data values
    const w4 = new ReverseWriter();
    w4.bytes(new Uint8Array(500_000).fill(0x7f));
    w4.wrap(11, 0); // Tensor.uint64_data
    const afterU64 = w4.length;
    w4.bytes(new Uint8Array(500_000));
    w4.wrap(7, afterU64); // Tensor.int64_data
    w4.bytes(varint(500_000n));
    w4.bytes([0x08]); // Tensor.dims (one, not packed)
    w4.int(2, DataType.INT64);
    w4.wrap(5, 0);
    w4.wrap(7, 0);
    w4.int(1, 8);
    const m4 = h.check('blowup', 'int64_data', w4.result());
    times.push(`int64_data ${h.lastMs.toFixed(0)} ms`);
    if (typeof m4 === 'object') {
      expect(m4.graph?.initializers[0].int64Data?.length).toBe(500_000);
      expect(m4.graph?.initializers[0].uint64Data?.[499_999]).toBe(127n);
    }

    console.log(`${report(h)}\n  ${times.join(', ')}`);
    expect(h.failures, JSON.stringify(h.failures, null, 2)).toEqual([]);
    expect(h.maxMs, h.maxWhere).toBeLessThan(HANG_MS);
  });

  it('decodes the same at every byte alignment of the input (file buffers start anywhere)', () => {
    for (const seed of SEEDS) {
      const reference = decodeModel(seed.bytes);
      for (let offset = 1; offset < 8; offset++) {
        const host = new Uint8Array(seed.bytes.length + 16);
        host.set(seed.bytes, offset);
        const view = host.subarray(offset, offset + seed.bytes.length);
        const model = decodeModel(view);
        expect(model).toEqual(reference);
        expect(encodeModel(model)).toEqual(seed.bytes);
      }
    }
  });

  it('1 MB of random bytes and 1 MB of zeros are rejected with an AppError, quickly', () => {
    const rng = prng(1234);
    const noise = new Uint8Array(1 << 20);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.int(256);
    const zeros = new Uint8Array(1 << 20);
    for (const bytes of [noise, zeros]) {
      expect(timed(() => expectAppError(() => decodeModel(bytes))).ms).toBeLessThan(HANG_MS);
      const r = timed(() => expectAppError(() => loadPath(bytes)));
      expect(r.ms).toBeLessThan(HANG_MS);
      expect(r.value.message.length).toBeGreaterThan(0);
      expect(r.value.message).not.toMatch(/\n/);
    }
  });
});
