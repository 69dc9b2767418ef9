/**
 * How a quantized weight is written into the model, per target:
 *
 * - portable int8 ("int8-cast-mul"): int8 codes -> Cast(float) [-> Sub(zero point)] -> Mul(scale)
 *   [-> Reshape/Slice back to the layer's shape]. Only opset-7 ops: onnxruntime folds the chain
 *   into a float32 initializer at load, on every backend.
 * - portable int4 ("int4-nibbles-mul"): codes + 8 packed two per byte in planar order (byte j
 *   holds element j in its low nibble and element j + H in its high nibble, H = half the
 *   count), unpacked with Cast, Div, Floor, Mul, Sub and Concat, then Sub(8 or the zero point) and
 *   Mul(scale). Also folds at load.
 * - DequantizeLinear ("int8-dequantize-linear", "int4-dequantize-linear"): int8 / int4 codes
 *   with float scales and (asymmetric) int8 / int4 zero points, per axis or blocked.
 * - MatMulNBits ("int4-matmul-nbits", com.microsoft): B uint8 [N, blocks, blockSize / 2], low
 *   nibble first; scales [N, blocks]; zero points packed uint8 [N, ceil(blocks / 2)] (absent:
 *   8).
 */
import { attr } from '../../onnx/build';
import { DataType, type Attribute } from '../../onnx/types';
import { bytesOf, sameShape, type Emitter } from '../emit';
import { groupParamShape, type GroupLayout, type QuantizedTensor } from './quantize';

/** The opset a DequantizeLinear of this kind needs: per-tensor 10, per-axis 13, blocked or int4 21. */
export function dequantizeLinearOpset(bits: 4 | 8, layout: GroupLayout): number {
  if (bits === 4 || layout.kind === 'block') return 21;
  return layout.kind === 'channel' ? 13 : 10;
}

/** The oldest opset the portable encodings are written for (numpy-broadcasting Mul/Sub). */
export const PORTABLE_MIN_OPSET = 7;

/** Codes of a block layout padded to whole blocks: [outer, blocks * blockSize, inner]. */
function paddedBlockCodes(qt: QuantizedTensor, bs: number): Int8Array {
  const { outer, len, inner, blocks } = qt.view;
  const lp = blocks * bs;
  if (lp === len) return qt.q;
  const out = new Int8Array(outer * lp * inner);
  const row = len * inner;
  for (let o = 0; o < outer; o++) out.set(qt.q.subarray(o * row, (o + 1) * row), o * lp * inner);
  return out;
}

/**
 * Emits the portable decode chain; returns the name of a tensor of `finalShape` and type
 * `outType` equal to float32((q - zp) * scale) element for element.
 */
export function emitPortable(e: Emitter, qt: QuantizedTensor, finalShape: number[], outType: number): string {
  const { layout, view } = qt;
  let groupShape: number[];
  let paramShape: number[];
  let codes: Int8Array;
  if (layout.kind === 'tensor') {
    groupShape = qt.bits === 8 ? qt.shape : [qt.q.length];
    paramShape = [];
    codes = qt.q;
  } else if (layout.kind === 'channel') {
    groupShape = qt.shape;
    paramShape = qt.shape.map((d, i) => (i === layout.axis ? d : 1));
    codes = qt.q;
  } else {
    // one block per row needs no padding: its length is the row's
    const bs = view.blocks === 1 ? view.len : layout.blockSize;
    groupShape = [view.outer, view.blocks, bs, view.inner];
    paramShape = [view.outer, view.blocks, 1, view.inner];
    codes = paddedBlockCodes(qt, bs);
  }

  let x: string;
  if (qt.bits === 8) {
    x = e.cast(e.init('_int8', DataType.INT8, groupShape, bytesOf(codes)), DataType.FLOAT);
  } else {
    const n = codes.length;
    const h = Math.ceil(n / 2);
    const packed = new Uint8Array(h);
    for (let j = 0; j < h; j++) {
      const lo = codes[j] + 8;
      const hi = j + h < n ? codes[j + h] + 8 : 8;
      packed[j] = lo | (hi << 4);
    }
    const p = e.cast(e.init('_int4x2', DataType.UINT8, [h], packed), DataType.FLOAT);
    const c16 = e.scalar('_16', 16);
    const hi = e.node('Floor', [e.node('Div', [p, c16])]);
    const lo = e.node('Sub', [p, e.node('Mul', [hi, c16])]);
    x = e.node('Concat', [lo, hi], [attr.int('axis', 0)]);
    let cur = [2 * h];
    if (2 * h !== n) {
      x = e.slice(x, 0, 0, n);
      cur = [n];
    }
    if (!sameShape(cur, groupShape)) x = e.reshape(x, groupShape);
  }

  if (qt.bits === 4) {
    if (qt.zeroPoints) {
      const zpu = Uint8Array.from(qt.zeroPoints, (z) => z + 8);
      x = e.node('Sub', [x, e.cast(e.init('_zero_point', DataType.UINT8, paramShape, zpu), DataType.FLOAT)]);
    } else {
      x = e.node('Sub', [x, e.scalar('_8', 8)]);
    }
  } else if (qt.zeroPoints) {
    x = e.node('Sub', [x, e.cast(e.init('_zero_point', DataType.INT8, paramShape, bytesOf(qt.zeroPoints)), DataType.FLOAT)]);
  }
  x = e.node('Mul', [x, e.floats('_scale', paramShape, qt.scales)]);

  let cur = groupShape;
  if (layout.kind === 'block') {
    const lp = view.blocks * groupShape[2];
    if (lp !== view.len) {
      x = e.reshape(x, [view.outer, lp, view.inner]);
      x = e.slice(x, 1, 0, view.len);
      cur = [view.outer, view.len, view.inner];
    }
  } else if (layout.kind === 'tensor' && qt.bits === 4) {
    cur = [qt.q.length];
  }
  if (!sameShape(cur, finalShape)) x = e.reshape(x, finalShape);
  if (outType !== DataType.FLOAT) x = e.cast(x, outType);
  return x;
}

/** INT4 tensor bytes (element 2i in the low nibble, 2i+1 in the high one): pack4, a pair per step. */
export function packNibbles(a: Int8Array): Uint8Array {
  const n = a.length;
  const out = new Uint8Array((n + 1) >> 1);
  const pairs = n >> 1;
  for (let j = 0, i = 0; j < pairs; j++, i += 2) out[j] = (a[i] & 15) | ((a[i + 1] & 15) << 4);
  if (n & 1) out[pairs] = a[n - 1] & 15;
  return out;
}

/** Emits a DequantizeLinear (per-tensor, per-axis or blocked) and any Reshape/Cast after it. */
export function emitDequantizeLinear(e: Emitter, qt: QuantizedTensor, finalShape: number[], outType: number): string {
  const { layout, view } = qt;
  const type = qt.bits === 8 ? DataType.INT8 : DataType.INT4;
  const raw = (a: Int8Array) => (qt.bits === 8 ? bytesOf(a) : packNibbles(a));
  const x = e.init('_quantized', type, qt.shape, raw(qt.q));
  const paramShape = groupParamShape(qt.shape, layout, view);
  const inputs = [x, e.floats('_scale', paramShape, qt.scales)];
  if (qt.zeroPoints) inputs.push(e.init('_zero_point', type, paramShape, raw(qt.zeroPoints)));
  const attrs: Attribute[] = [];
  if (layout.kind !== 'tensor') attrs.push(attr.int('axis', layout.axis));
  if (layout.kind === 'block') attrs.push(attr.int('block_size', layout.blockSize));
  let y = e.node('DequantizeLinear', inputs, attrs);
  if (!sameShape(qt.shape, finalShape)) y = e.reshape(y, finalShape);
  if (outType !== DataType.FLOAT) y = e.cast(y, outType);
  return y;
}

/**
 * The B, scales and zero-point initializers and the attributes of a MatMulNBits replacing
 * MatMul(A, W) with W [K, N] quantized 4-bit in blocks along K (axis 0).
 */
export function emitMatMulNBits(e: Emitter, qt: QuantizedTensor): { inputs: string[]; attributes: Attribute[] } {
  const layout = qt.layout;
  if (qt.bits !== 4 || layout.kind !== 'block' || layout.axis !== 0 || qt.shape.length !== 2) {
    throw new Error('emitMatMulNBits needs a 4-bit [K, N] tensor blocked along axis 0');
  }
  const [k, n] = qt.shape;
  const bs = layout.blockSize;
  const nb = qt.view.blocks;
  const blob = bs / 2;
  const zps = qt.zeroPoints;
  const q = qt.q;
  const b = new Uint8Array(n * nb * blob);
  const scales = new Float32Array(n * nb);
  // A transpose ([K, N] codes to [N, blocks, bs / 2] bytes) by strips of TILE columns, block by
  // block. Full blocks, when N is a multiple of 4: four codes of two rows are read as one int32
  // each and turned into four packed bytes at once (code + 8 = (code & 15) ^ 8 in each byte), into
  // a small column-major stage; each column's bs / 2 bytes are then copied out as int32 words. The
  // stage avoids scattering single bytes at a stride of blocks * bs / 2 (often a power of two,
  // which maps every write of a strip to the same few cache sets). Everything else (a last block
  // running past K, odd N) goes value by value.
  const TILE = 64;
  const stride = nb * blob;
  const swar = n % 4 === 0 && q.byteOffset % 4 === 0;
  const q32 = swar ? new Int32Array(q.buffer, q.byteOffset, q.length >> 2) : undefined;
  const b32 = new Int32Array(b.buffer, 0, b.length >> 2);
  const stage = new Uint8Array(TILE * blob);
  const s32 = new Int32Array(stage.buffer);
  const words = blob >> 2;
  for (let c0 = 0; c0 < n; c0 += TILE) {
    const c1 = c0 + TILE < n ? c0 + TILE : n;
    for (let kb = 0; kb < nb; kb++) {
      const r0 = kb * bs;
      for (let col = c0; col < c1; col++) scales[col * nb + kb] = qt.scales[kb * n + col];
      if (q32 && r0 + bs <= k) {
        const n4 = n >> 2;
        for (let w = 0; w < bs; w += 2) {
          let ia = ((r0 + w) * n + c0) >> 2;
          let ib = ia + n4;
          for (let col = c0, o = w >> 1; col < c1; col += 4, ia++, ib++, o += 4 * blob) {
            const v = ((q32[ia] & 0x0f0f0f0f) ^ 0x08080808) | (((q32[ib] & 0x0f0f0f0f) ^ 0x08080808) << 4);
            stage[o] = v;
            stage[o + blob] = v >>> 8;
            stage[o + 2 * blob] = v >>> 16;
            stage[o + 3 * blob] = v >>> 24;
          }
        }
        for (let col = c0, d = (c0 * stride + kb * blob) >> 2, src = 0; col < c1; col++, d += stride >> 2) {
          for (let i = 0; i < words; i++, src++) b32[d + i] = s32[src];
        }
        continue;
      }
      // value by value; padding rows past K hold the zero point (they dequantize to 0)
      for (let w = 0; w < bs; w += 2) {
        const ra = (r0 + w) * n;
        const rb = ra + n;
        for (let col = c0, o = c0 * stride + kb * blob + (w >> 1); col < c1; col++, o += stride) {
          const zpu = zps ? zps[kb * n + col] + 8 : 8;
          const lo = r0 + w < k ? q[ra + col] + 8 : zpu;
          const hi = r0 + w + 1 < k ? q[rb + col] + 8 : zpu;
          b[o] = lo | (hi << 4);
        }
      }
    }
  }
  const inputs = [e.init('_matmul_nbits', DataType.UINT8, [n, nb, blob], b), e.floats('_scale', [n, nb], scales)];
  if (zps) {
    const zb = Math.ceil(nb / 2);
    const z = new Uint8Array(n * zb);
    for (let kb = 0; kb < nb; kb++) {
      const shift = (kb & 1) * 4;
      for (let col = 0, o = kb >> 1; col < n; col++, o += zb) z[o] |= (zps[kb * n + col] + 8) << shift;
    }
    inputs.push(e.init('_zero_point', DataType.UINT8, [n, zb], z));
  }
  return {
    inputs,
    attributes: [attr.int('K', k), attr.int('N', n), attr.int('bits', 4), attr.int('block_size', bs)],
  };
}
