/**
 * Protobuf wire codec for ONNX ModelProto, driven by the tables in schema.ts.
 *
 * Decoding never copies large data: `bytes` fields (raw_data, string_data) are views into the
 * input, and packed float/double tensor data is a typed-array view where the file offset is
 * aligned (copied once otherwise). Every read is bounds-checked and every loop advances, so a
 * malformed file ends in an AppError ('truncated' | 'malformed' | 'too-deep'), never a hang.
 * Fields this code does not know keep their raw bytes and are written back on encode.
 */
import { AppError } from '../core/errors';
import { recordDecode } from './decode-log';
import type { Model } from './types';
import { SCHEMAS, isTypedKind, type FieldDef, type MessageSchema } from './schema';

/** Same nesting limit as protobuf's C++ parser (and so onnxruntime): deeper files fail there too. */
export const MAX_DEPTH = 100;
/** Protobuf cannot serialise a message of 2 GiB or more. */
export const MAX_MESSAGE_BYTES = 0x7fffffff;

type Obj = Record<string, unknown> & { unknownFields?: Uint8Array[] };

// ---------------------------------------------------------------------------------------------
// UTF-8

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n < 48) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return utf8Decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface DecodeContext {
  buf: Uint8Array;
  pos: number;
  signal?: AbortSignal;
  ticks: number;
}

// The last varint read, as two unsigned 32-bit halves (module scratch: no allocation per read).
let vLo = 0;
let vHi = 0;

function truncated(ctx: DecodeContext, what: string): AppError {
  return new AppError(
    'truncated',
    `The file is truncated: ${what} at byte ${ctx.pos} runs past the end of the file (${ctx.buf.length} bytes).`,
  );
}

function malformed(ctx: DecodeContext, what: string): AppError {
  return new AppError('malformed', `The file is not a valid ONNX model: ${what} at byte ${ctx.pos}.`);
}

function readVarint(ctx: DecodeContext, limit: number): void {
  const buf = ctx.buf;
  let pos = ctx.pos;
  let lo = 0;
  let hi: number;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= limit) throw pos >= buf.length ? truncated(ctx, 'a number') : malformed(ctx, 'a number crosses its message end');
    b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      ctx.pos = pos;
      vLo = lo >>> 0;
      vHi = 0;
      return;
    }
  }
  if (pos >= limit) throw pos >= buf.length ? truncated(ctx, 'a number') : malformed(ctx, 'a number crosses its message end');
  b = buf[pos++];
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    let shift = 3;
    for (let i = 0; ; i++) {
      if (i === 5) throw malformed(ctx, 'a varint longer than 10 bytes');
      if (pos >= limit) throw pos >= buf.length ? truncated(ctx, 'a number') : malformed(ctx, 'a number crosses its message end');
      b = buf[pos++];
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
  }
  ctx.pos = pos;
  vLo = lo >>> 0;
  vHi = hi >>> 0;
}

/** The last varint as a signed int64: a number when safe, else a bigint. */
function varintInt64(): number | bigint {
  if (vHi === 0) return vLo;
  const hiSigned = vHi | 0;
  const n = hiSigned * 4294967296 + vLo;
  if (Number.isSafeInteger(n)) return n;
  return BigInt.asIntN(64, (BigInt(vHi) << 32n) | BigInt(vLo));
}

/** The last varint as a signed int64 number (may lose precision beyond 2^53). */
function varintNumber(): number {
  if (vHi === 0) return vLo;
  return (vHi | 0) * 4294967296 + vLo;
}

function readLength(ctx: DecodeContext, limit: number, what: string): number {
  readVarint(ctx, limit);
  if (vHi !== 0 || vLo > 0x7fffffff) throw malformed(ctx, `${what} with an impossible length`);
  const len = vLo;
  if (ctx.pos + len > limit) {
    throw ctx.pos + len > ctx.buf.length
      ? truncated(ctx, `${what} of ${len} bytes`)
      : malformed(ctx, `${what} of ${len} bytes overruns its enclosing message`);
  }
  return len;
}

/** Skips one field value of the given wire type (used for unknown fields). */
function skipField(ctx: DecodeContext, wireType: number, fieldNo: number, limit: number, depth: number): void {
  switch (wireType) {
    case 0:
      readVarint(ctx, limit);
      return;
    case 1:
      if (ctx.pos + 8 > limit) throw ctx.pos + 8 > ctx.buf.length ? truncated(ctx, 'a 64-bit value') : malformed(ctx, 'a 64-bit value overruns its message');
      ctx.pos += 8;
      return;
    case 2: {
      const len = readLength(ctx, limit, 'a field');
      ctx.pos += len;
      return;
    }
    case 5:
      if (ctx.pos + 4 > limit) throw ctx.pos + 4 > ctx.buf.length ? truncated(ctx, 'a 32-bit value') : malformed(ctx, 'a 32-bit value overruns its message');
      ctx.pos += 4;
      return;
    case 3: {
      // deprecated group: skip to the matching end-group tag
      if (depth >= MAX_DEPTH) throw new AppError('too-deep', `The file nests fields more than ${MAX_DEPTH} levels deep.`);
      for (;;) {
        if (ctx.pos >= limit) throw ctx.pos >= ctx.buf.length ? truncated(ctx, 'a group') : malformed(ctx, 'an unterminated group');
        readVarint(ctx, limit);
        const tag = vLo;
        if (vHi !== 0) throw malformed(ctx, 'an impossible field tag');
        const wt = tag & 7;
        const no = tag >>> 3;
        if (wt === 4) {
          if (no !== fieldNo) throw malformed(ctx, 'a group closed with the wrong field number');
          return;
        }
        if (no === 0) throw malformed(ctx, 'field number 0');
        skipField(ctx, wt, no, limit, depth + 1);
      }
    }
    default:
      throw malformed(ctx, `wire type ${wireType}`);
  }
}

function wireTypeOf(f: FieldDef): number {
  switch (f.kind) {
    case 'str':
    case 'bytes':
    case 'msg':
      return 2;
    case 'f32':
    case 'F32':
      return 5;
    case 'F64':
      return 1;
    default:
      return 0;
  }
}

type TypedChunks = Map<string, ArrayLike<number | bigint>[]>;

function decodeMessage(ctx: DecodeContext, schema: MessageSchema, end: number, depth: number): Obj {
  if (depth > MAX_DEPTH) {
    throw new AppError('too-deep', `The file nests messages more than ${MAX_DEPTH} levels deep (a graph inside a graph inside ...); onnxruntime refuses it too.`);
  }
  if (ctx.signal && (++ctx.ticks & 0x3ff) === 0 && ctx.signal.aborted) throw new AppError('aborted', 'Cancelled.');
  const buf = ctx.buf;
  const obj: Obj = {};
  for (const k of schema.arrayKeys) obj[k] = [];
  let typed: TypedChunks | undefined;
  while (ctx.pos < end) {
    const tagStart = ctx.pos;
    readVarint(ctx, end);
    if (vHi !== 0) throw malformed(ctx, 'an impossible field tag');
    const tag = vLo;
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw malformed(ctx, 'field number 0');
    const f = no < schema.byNo.length ? schema.byNo[no] : undefined;
    const expected = f ? wireTypeOf(f) : -1;
    const packed = f !== undefined && f.repeated && wt === 2 && expected !== 2;
    if (!f || (wt !== expected && !packed)) {
      if (wt === 4) throw malformed(ctx, 'an unexpected end-group tag');
      skipField(ctx, wt, no, end, depth);
      (obj.unknownFields ??= []).push(buf.subarray(tagStart, ctx.pos));
      continue;
    }
    const key = f.key;
    if (isTypedKind(f.kind)) {
      typed ??= new Map();
      let chunks = typed.get(key);
      if (!chunks) typed.set(key, (chunks = []));
      chunks.push(readTypedChunk(ctx, f, wt, end));
      continue;
    }
    if (packed) {
      const len = readLength(ctx, end, `packed field ${key}`);
      const stop = ctx.pos + len;
      const arr = obj[key] as unknown[];
      if (f.kind === 'f32') {
        if (len % 4 !== 0) throw malformed(ctx, `packed floats of ${len} bytes`);
        const dv = new DataView(buf.buffer, buf.byteOffset + ctx.pos, len);
        for (let o = 0; o < len; o += 4) arr.push(dv.getFloat32(o, true));
        ctx.pos = stop;
      } else {
        while (ctx.pos < stop) {
          readVarint(ctx, stop);
          arr.push(scalarFromVarint(f));
        }
      }
      continue;
    }
    let value: unknown;
    switch (f.kind) {
      case 'str': {
        const len = readLength(ctx, end, `text field ${key}`);
        value = decodeUtf8(buf, ctx.pos, ctx.pos + len);
        ctx.pos += len;
        break;
      }
      case 'bytes': {
        const len = readLength(ctx, end, `bytes field ${key}`);
        value = buf.subarray(ctx.pos, ctx.pos + len);
        ctx.pos += len;
        break;
      }
      case 'msg': {
        const len = readLength(ctx, end, `message ${key}`);
        const stop = ctx.pos + len;
        value = decodeMessage(ctx, SCHEMAS[f.ref as string], stop, depth + 1);
        if (ctx.pos !== stop) throw malformed(ctx, `message ${key} ends at the wrong byte`);
        break;
      }
      case 'f32': {
        if (ctx.pos + 4 > end) throw ctx.pos + 4 > buf.length ? truncated(ctx, 'a float') : malformed(ctx, 'a float overruns its message');
        value = new DataView(buf.buffer, buf.byteOffset + ctx.pos, 4).getFloat32(0, true);
        ctx.pos += 4;
        break;
      }
      default:
        readVarint(ctx, end);
        value = scalarFromVarint(f);
    }
    if (f.repeated) (obj[key] as unknown[]).push(value);
    else obj[key] = value; // last one wins, as protobuf does
  }
  if (ctx.pos !== end) throw malformed(ctx, `a field overruns the end of ${schema.name}`);
  if (typed) for (const [k, chunks] of typed) obj[k] = joinTyped(schema.byNo, k, chunks);
  return obj;
}

function scalarFromVarint(f: FieldDef): unknown {
  switch (f.kind) {
    case 'i64':
      return varintInt64();
    case 'n64':
      return varintNumber();
    default:
      return vLo | 0; // int32 / enum: low 32 bits, signed
  }
}

const ELEMENT_BYTES: Record<string, number> = { F32: 4, F64: 8 };

function readTypedChunk(ctx: DecodeContext, f: FieldDef, wt: number, end: number): ArrayLike<number | bigint> {
  const buf = ctx.buf;
  if (f.kind === 'F32' || f.kind === 'F64') {
    const size = ELEMENT_BYTES[f.kind];
    let len: number;
    if (wt === 2) len = readLength(ctx, end, `packed ${f.key}`);
    else {
      len = size;
      if (ctx.pos + len > end) throw ctx.pos + len > buf.length ? truncated(ctx, f.key) : malformed(ctx, `${f.key} overruns its message`);
    }
    if (len % size !== 0) throw malformed(ctx, `${f.key} of ${len} bytes is not a whole number of values`);
    const abs = buf.byteOffset + ctx.pos;
    let out: Float32Array | Float64Array;
    if (abs % size === 0) {
      out = f.kind === 'F32' ? new Float32Array(buf.buffer, abs, len / size) : new Float64Array(buf.buffer, abs, len / size);
    } else {
      const copy = buf.slice(ctx.pos, ctx.pos + len);
      out = f.kind === 'F32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
    }
    ctx.pos += len;
    return out;
  }
  // varint-encoded kinds
  if (wt !== 2) {
    readVarint(ctx, end);
    return [typedFromVarint(f.kind)];
  }
  const len = readLength(ctx, end, `packed ${f.key}`);
  const stop = ctx.pos + len;
  let count = 0;
  for (let i = ctx.pos; i < stop; i++) if (buf[i] < 0x80) count++;
  const out = f.kind === 'I32' ? new Int32Array(count) : f.kind === 'I64' ? new BigInt64Array(count) : new BigUint64Array(count);
  let n = 0;
  while (ctx.pos < stop) {
    readVarint(ctx, stop);
    if (n >= count) throw malformed(ctx, `packed ${f.key}`);
    (out as unknown as (number | bigint)[])[n++] = typedFromVarint(f.kind);
  }
  if (n !== count) throw malformed(ctx, `packed ${f.key} holds a cut-off number`);
  return out;
}

function typedFromVarint(kind: string): number | bigint {
  if (kind === 'I32') return vLo | 0;
  const u = (BigInt(vHi) << 32n) | BigInt(vLo);
  return kind === 'I64' ? BigInt.asIntN(64, u) : u;
}

function joinTyped(byNo: (FieldDef | undefined)[], key: string, chunks: ArrayLike<number | bigint>[]): unknown {
  const f = byNo.find((d) => d?.key === key) as FieldDef;
  const make = (n: number) => {
    switch (f.kind) {
      case 'F32':
        return new Float32Array(n);
      case 'F64':
        return new Float64Array(n);
      case 'I32':
        return new Int32Array(n);
      case 'I64':
        return new BigInt64Array(n);
      default:
        return new BigUint64Array(n);
    }
  };
  if (chunks.length === 1 && ArrayBuffer.isView(chunks[0])) return chunks[0];
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = make(total) as unknown as { [i: number]: number | bigint; set?: unknown };
  let o = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++) out[o++] = c[i];
  return out;
}

export interface DecodeOptions {
  signal?: AbortSignal;
  /** the file's name, for the decode log (decode-log.ts) */
  name?: string;
}

/** Decodes a serialized ModelProto. Throws AppError on any malformed input. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): Model {
  const ctx: DecodeContext = { buf: bytes, pos: 0, signal: options.signal, ticks: 0 };
  recordDecode(options.name, bytes.length);
  try {
    return decodeMessage(ctx, SCHEMAS.Model, bytes.length, 0) as unknown as Model;
  } catch (e) {
    if (e instanceof AppError) throw e;
    if (e instanceof RangeError) {
      // e.g. "Maximum call stack size exceeded" in a small worker stack, or an impossible allocation
      throw new AppError('malformed', `The file could not be read: ${e.message}.`, { cause: e });
    }
    throw e;
  }
}

/** Decodes any message of the schema (tests, tools). */
export function decodeMessageOf<T>(schemaName: string, bytes: Uint8Array): T {
  const ctx: DecodeContext = { buf: bytes, pos: 0, ticks: 0 };
  return decodeMessage(ctx, SCHEMAS[schemaName], bytes.length, 0) as unknown as T;
}

// ---------------------------------------------------------------------------------------------
// Encoding: pass 1 computes every message's size in pre-order, pass 2 writes in the same order.

function varintSize32(v: number): number {
  // v: unsigned 32-bit
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** Splits an int64 (number or bigint) into unsigned 32-bit halves in vLo/vHi. */
function setInt64(v: number | bigint): void {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    vLo = Number(u & 0xffffffffn);
    vHi = Number(u >> 32n);
    return;
  }
  if (v >= 0 && v <= 0xffffffff) {
    vLo = v >>> 0;
    vHi = 0;
    return;
  }
  const t = Math.trunc(v);
  const hi = Math.floor(t / 4294967296);
  vLo = (t - hi * 4294967296) >>> 0;
  vHi = hi >>> 0;
}

function varintSize64(): number {
  if (vHi === 0) return varintSize32(vLo);
  // bits needed: 32 + bits(hi)
  const bits = 32 + (32 - Math.clz32(vHi));
  return Math.ceil(bits / 7);
}

function int32ToInt64(v: number): void {
  const x = v | 0;
  vLo = x >>> 0;
  vHi = x < 0 ? 0xffffffff : 0;
}

function scalarSize(kind: string, v: unknown): number {
  switch (kind) {
    case 'i64':
    case 'n64':
      setInt64(v as number | bigint);
      return varintSize64();
    case 'i32':
      int32ToInt64(v as number);
      return varintSize64();
    case 'f32':
      return 4;
    default:
      return 0;
  }
}

interface SizeState {
  sizes: number[];
}

function typedPayload(kind: string, arr: ArrayLike<number | bigint>): number {
  switch (kind) {
    case 'F32':
      return arr.length * 4;
    case 'F64':
      return arr.length * 8;
    case 'I32': {
      let n = 0;
      for (let i = 0; i < arr.length; i++) {
        int32ToInt64(arr[i] as number);
        n += varintSize64();
      }
      return n;
    }
    default: {
      let n = 0;
      for (let i = 0; i < arr.length; i++) {
        setInt64(arr[i] as bigint);
        n += varintSize64();
      }
      return n;
    }
  }
}

function messageSize(st: SizeState, schema: MessageSchema, obj: Obj, depth: number): number {
  if (depth > MAX_DEPTH) throw new AppError('too-deep', `The model nests more than ${MAX_DEPTH} levels deep and cannot be written.`);
  const idx = st.sizes.length;
  st.sizes.push(0);
  let size = 0;
  for (const f of schema.fields) {
    const v = obj[f.key];
    if (v === undefined || v === null) continue;
    const tagSize = varintSize32((f.no << 3) >>> 0);
    if (isTypedKind(f.kind)) {
      const payload = typedPayload(f.kind, v as ArrayLike<number | bigint>);
      size += tagSize + varintSize32(payload) + payload;
      st.sizes.push(payload);
      continue;
    }
    if (f.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      if (f.kind === 'str' || f.kind === 'bytes' || f.kind === 'msg') {
        for (const item of arr) size += tagSize + lenFieldSize(st, f, item, depth);
      } else {
        // onnx.proto (proto2) declares these unpacked: one tag per value, as protobuf writes them
        for (const item of arr) size += tagSize + scalarSize(f.kind, item);
      }
      continue;
    }
    if (f.kind === 'str' || f.kind === 'bytes' || f.kind === 'msg') size += tagSize + lenFieldSize(st, f, v, depth);
    else size += tagSize + scalarSize(f.kind, v);
  }
  if (obj.unknownFields) for (const u of obj.unknownFields) size += u.length;
  if (size > MAX_MESSAGE_BYTES) {
    throw new AppError('too-large', `The model would be ${(size / 2 ** 30).toFixed(2)} GB; a single ONNX file is limited to 2 GB. Store the weights as external data.`);
  }
  st.sizes[idx] = size;
  return size;
}

function lenFieldSize(st: SizeState, f: FieldDef, v: unknown, depth: number): number {
  let len: number;
  if (f.kind === 'str') {
    len = utf8Length(v as string);
    st.sizes.push(len);
  } else if (f.kind === 'bytes') len = (v as Uint8Array).length;
  else len = messageSize(st, SCHEMAS[f.ref as string], v as Obj, depth + 1);
  return varintSize32(len) + len;
}

class Writer {
  buf: Uint8Array;
  pos = 0;
  dv: DataView;
  sizes: number[];
  si = 0;
  /** whether TextEncoder may write into `buf` (browsers' encodeInto refuses a view of a resizable ArrayBuffer; Node's accepts it) */
  readonly textInto: boolean;
  constructor(total: number, sizes: number[], alloc: (size: number) => Uint8Array = (n) => new Uint8Array(n)) {
    this.buf = alloc(total);
    this.dv = new DataView(this.buf.buffer);
    this.sizes = sizes;
    this.textInto = !(this.buf.buffer as ArrayBuffer & { resizable?: boolean }).resizable;
  }
  varint32(v: number): void {
    v >>>= 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  varint64(): void {
    let lo = vLo;
    let hi = vHi;
    while (hi !== 0 || lo >= 0x80) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }
  scalar(kind: string, v: unknown): void {
    if (kind === 'f32') {
      this.dv.setFloat32(this.pos, v as number, true);
      this.pos += 4;
      return;
    }
    if (kind === 'i32') int32ToInt64(v as number);
    else setInt64(v as number | bigint);
    this.varint64();
  }
}

function writeMessage(w: Writer, schema: MessageSchema, obj: Obj): void {
  w.si++; // this message's own size entry (already written by the caller as its length)
  for (const f of schema.fields) {
    const v = obj[f.key];
    if (v === undefined || v === null) continue;
    const tag = (f.no << 3) >>> 0;
    if (isTypedKind(f.kind)) {
      const payload = w.sizes[w.si++];
      w.varint32(tag | 2);
      w.varint32(payload);
      writeTyped(w, f.kind, v as ArrayLike<number | bigint>);
      continue;
    }
    const wt = wireTypeOf(f);
    if (f.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      if (wt === 2) {
        for (const item of arr) {
          w.varint32(tag | 2);
          writeLenField(w, f, item);
        }
      } else {
        for (const item of arr) {
          w.varint32(tag | wt);
          w.scalar(f.kind, item);
        }
      }
      continue;
    }
    w.varint32(tag | wt);
    if (wt === 2) writeLenField(w, f, v);
    else w.scalar(f.kind, v);
  }
  if (obj.unknownFields) {
    for (const u of obj.unknownFields) {
      w.buf.set(u, w.pos);
      w.pos += u.length;
    }
  }
}

function writeLenField(w: Writer, f: FieldDef, v: unknown): void {
  if (f.kind === 'str') {
    const len = w.sizes[w.si++];
    w.varint32(len);
    let written: number;
    if (w.textInto) written = utf8Encoder.encodeInto(v as string, w.buf.subarray(w.pos, w.pos + len)).written;
    else {
      const b = utf8Encoder.encode(v as string);
      if (b.length === len) w.buf.set(b, w.pos);
      written = b.length;
    }
    if (written !== len) throw new AppError('malformed', `A text field could not be encoded (${f.key}).`);
    w.pos += len;
  } else if (f.kind === 'bytes') {
    const b = v as Uint8Array;
    w.varint32(b.length);
    w.buf.set(b, w.pos);
    w.pos += b.length;
  } else {
    const len = w.sizes[w.si];
    w.varint32(len);
    const start = w.pos;
    writeMessage(w, SCHEMAS[f.ref as string], v as Obj);
    if (w.pos - start !== len) throw new Error(`codec: ${f.ref} wrote ${w.pos - start} bytes, sized ${len}`);
  }
}

function writeTyped(w: Writer, kind: string, arr: ArrayLike<number | bigint>): void {
  if (kind === 'F32' || kind === 'F64') {
    const ta = arr as Float32Array | Float64Array;
    if (ArrayBuffer.isView(ta)) {
      w.buf.set(new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength), w.pos);
      w.pos += ta.byteLength;
    } else {
      for (let i = 0; i < arr.length; i++) {
        if (kind === 'F32') w.dv.setFloat32(w.pos, arr[i] as number, true);
        else w.dv.setFloat64(w.pos, arr[i] as number, true);
        w.pos += kind === 'F32' ? 4 : 8;
      }
    }
    return;
  }
  for (let i = 0; i < arr.length; i++) {
    if (kind === 'I32') int32ToInt64(arr[i] as number);
    else setInt64(arr[i] as bigint);
    w.varint64();
  }
}

function encodeWith(schemaName: string, obj: object, alloc?: (size: number) => Uint8Array): Uint8Array {
  const st: SizeState = { sizes: [] };
  const total = messageSize(st, SCHEMAS[schemaName], obj as Obj, 0);
  const w = new Writer(total, st.sizes, alloc);
  writeMessage(w, SCHEMAS[schemaName], obj as Obj);
  if (w.pos !== total) throw new Error(`codec: wrote ${w.pos} bytes, sized ${total}`);
  return w.buf;
}

/** Serializes a model to ModelProto bytes. Throws AppError('too-large') past protobuf's 2 GB. */
export function encodeModel(model: Model): Uint8Array {
  return encodeWith('Model', model);
}

/** encodeModel into the zeroed array `alloc` gives for the exact size (e.g. one over a resizable ArrayBuffer). */
export function encodeModelInto(model: Model, alloc: (size: number) => Uint8Array): Uint8Array {
  return encodeWith('Model', model, alloc);
}

/**
 * The number of bytes encodeModel would write, from the sizing pass alone (nothing is allocated);
 * Infinity when the model, or any message in it, would pass protobuf's 2 GB.
 */
export function encodedModelSize(model: Model): number {
  try {
    return messageSize({ sizes: [] }, SCHEMAS.Model, model as unknown as Obj, 0);
  } catch (e) {
    if (e instanceof AppError && e.code === 'too-large') return Infinity;
    throw e;
  }
}

/** Encodes any message of the schema (tests, tools). */
export function encodeMessageOf(schemaName: string, obj: object): Uint8Array {
  return encodeWith(schemaName, obj);
}
