/**
 * Block-wise quantization on WebAssembly SIMD (src/compress/quantize/blockwise.wat): the same
 * results as the scalar loops in quantize.ts, bit for bit, four values per instruction.
 *
 * The tensor goes through the module's memory a tile at a time: a block of rows (blocks along an
 * earlier axis, such as MatMul [K, N] in blocks along K) or a chunk of runs (blocks along the last
 * axis) is copied in, its ranges, parameters and codes are computed while it is in cache, and the
 * codes and scales are copied out. Tile rows are padded by 64 bytes, so rows of a power-of-two
 * width do not all fall into the same cache sets.
 *
 * Used when the engine runs WebAssembly SIMD (every browser since 2021, Node 16.4+); otherwise, or
 * for shapes it does not cover (block longer than 256 rows, runs not a multiple of 4 long or not
 * dividing the row), the caller keeps the scalar path.
 */
import { BLOCKWISE_WASM_BASE64 } from './blockwise-wasm';
import { embeddedKernel } from '../wasm-kernel';
import type { QuantBits } from './meta';

interface Kernel {
  memory: WebAssembly.Memory;
  rangeCols(src: number, rows: number, stride: number, cols: number, lo: number, hi: number): void;
  rangeRuns(src: number, runs: number, len: number, lo: number, hi: number): void;
  params(lo: number, hi: number, n: number, symmetric: number, half: number, scale: number, recip: number, zp: number): number;
  codesCols(src: number, rows: number, stride: number, cols: number, recip: number, zp: number, tmin: number, tmax: number, dst: number, dstStride: number): number;
  codesRuns(src: number, runs: number, len: number, recip: number, zp: number, tmin: number, tmax: number, dst: number): number;
}

let enabled = true;

/** The instantiated kernels, or null where this engine has no WebAssembly SIMD. */
const load = embeddedKernel<Kernel>(BLOCKWISE_WASM_BASE64);

/** Whether block-wise quantization runs on the SIMD kernels here. */
export function blockwiseSimdAvailable(): boolean {
  return enabled && load() !== null;
}

/** Turns the SIMD kernels off or on (tests and `npm run bench:compress` compare both paths). */
export function setBlockwiseSimd(on: boolean): void {
  enabled = on;
}

function memoryOf(k: Kernel, bytes: number): ArrayBuffer {
  const have = k.memory.buffer.byteLength;
  if (have < bytes) k.memory.grow(Math.ceil((bytes - have) / 65536));
  return k.memory.buffer;
}

/** Where each piece lives in the module's memory (byte offsets). */
interface Areas {
  lo: number;
  hi: number;
  scale: number;
  recip: number;
  zp: number;
  out: number;
  end: number;
}

function areas(inputBytes: number, groups: number, outBytes: number): Areas {
  const g = ((groups + 3) & ~3) * 4;
  const lo = (inputBytes + 15) & ~15;
  const hi = lo + g;
  const scale = hi + g;
  const recip = scale + g;
  const zp = recip + g;
  const out = zp + g;
  return { lo, hi, scale, recip, zp, out, end: out + outBytes };
}

/** The module's memory laid out as `a`, viewed as floats and bytes, and the code range of `bits`. */
function workspace(k: Kernel, a: Areas, bits: QuantBits) {
  const buffer = memoryOf(k, a.end);
  return {
    f32: new Float32Array(buffer),
    i8: new Int8Array(buffer),
    half: bits === 8 ? 128 : 8,
    tmin: bits === 8 ? -128 : -8,
    tmax: bits === 8 ? 127 : 7,
  };
}

/** Output of a block-wise quantization: codes, and per group its scale and signed zero point. */
export interface BlockwiseOut {
  q: Int8Array;
  scales: Float32Array;
  zps: Int8Array;
}

const TILE_COLS = 1024;
const MAX_ROWS = 256;
const RUN_CHUNK = 32768;

/**
 * Blocks along a non-last axis of [outer, len, inner] (inner > 1): group of column i in block b of
 * outer index o is (o * blocks + b) * inner + i. Returns false when a value is NaN or a range
 * infinite, undefined when not handled here.
 */
export function quantizeBlockColumnsSimd(
  values: Float32Array, out: BlockwiseOut, outer: number, len: number, inner: number, bs: number,
  bits: QuantBits, symmetric: boolean,
): boolean | undefined {
  const k = enabled ? load() : null;
  if (!k || bs > MAX_ROWS) return undefined;
  const tc = Math.min(inner, TILE_COLS);
  const cp = (tc + 3) & ~3;
  const rowFloats = cp + 16;
  const outStride = cp + 64;
  const rowsMax = Math.min(bs, len);
  const a = areas(rowsMax * rowFloats * 4, cp, rowsMax * outStride);
  const { f32, i8, half, tmin, tmax } = workspace(k, a, bits);
  const { q, scales, zps } = out;
  let bad = 0;
  let base = 0;
  for (let o = 0; o < outer; o++) {
    for (let l0 = 0; l0 < len; l0 += bs, base += inner) {
      const rows = Math.min(bs, len - l0);
      const rowStart = (o * len + l0) * inner;
      for (let c0 = 0; c0 < inner; c0 += tc) {
        const cols = Math.min(tc, inner - c0);
        const c4 = (cols + 3) & ~3;
        for (let r = 0; r < rows; r++) {
          const src = rowStart + r * inner + c0;
          const at = r * rowFloats;
          f32.set(values.subarray(src, src + cols), at);
          if (c4 > cols) f32.fill(0, at + cols, at + c4);
        }
        k.rangeCols(0, rows, rowFloats * 4, c4, a.lo, a.hi);
        bad |= k.params(a.lo, a.hi, c4, symmetric ? 1 : 0, half, a.scale, a.recip, a.zp);
        bad |= k.codesCols(0, rows, rowFloats * 4, c4, a.recip, a.zp, tmin, tmax, a.out, outStride);
        for (let r = 0; r < rows; r++) {
          const from = a.out + r * outStride;
          q.set(i8.subarray(from, from + cols), rowStart + r * inner + c0);
        }
        scales.set(f32.subarray(a.scale >> 2, (a.scale >> 2) + cols), base + c0);
        if (!symmetric) zps.set(f32.subarray(a.zp >> 2, (a.zp >> 2) + cols), base + c0);
      }
    }
  }
  return bad === 0;
}

/**
 * Blocks along the last axis, every row a whole number of blocks: `count` contiguous runs of `bs`
 * values, group g = run g. Returns as quantizeBlockColumnsSimd.
 */
export function quantizeRunsSimd(
  values: Float32Array, out: BlockwiseOut, count: number, bs: number, bits: QuantBits, symmetric: boolean,
): boolean | undefined {
  const k = enabled ? load() : null;
  if (!k || bs % 4 !== 0) return undefined;
  const per = Math.max(1, Math.floor(RUN_CHUNK / bs));
  const per4 = (per + 3) & ~3;
  const a = areas(per * bs * 4, per4, per * bs);
  const { f32, i8, half, tmin, tmax } = workspace(k, a, bits);
  const { q, scales, zps } = out;
  let bad = 0;
  for (let g0 = 0; g0 < count; g0 += per) {
    const runs = Math.min(per, count - g0);
    const runs4 = (runs + 3) & ~3;
    const from = g0 * bs;
    f32.set(values.subarray(from, from + runs * bs), 0);
    k.rangeRuns(0, runs, bs, a.lo, a.hi);
    if (runs4 > runs) {
      f32.fill(0, (a.lo >> 2) + runs, (a.lo >> 2) + runs4);
      f32.fill(0, (a.hi >> 2) + runs, (a.hi >> 2) + runs4);
    }
    bad |= k.params(a.lo, a.hi, runs4, symmetric ? 1 : 0, half, a.scale, a.recip, a.zp);
    bad |= k.codesRuns(0, runs, bs, a.recip, a.zp, tmin, tmax, a.out);
    q.set(i8.subarray(a.out, a.out + runs * bs), from);
    scales.set(f32.subarray(a.scale >> 2, (a.scale >> 2) + runs), g0);
    if (!symmetric) zps.set(f32.subarray(a.zp >> 2, (a.zp >> 2) + runs), g0);
  }
  return bad === 0;
}
