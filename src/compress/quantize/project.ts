/** The quantize method's part of the size projection (project.ts): int8 / int4 codes, scales and zero points. */
import type { LayerSettings, Target } from '../recipe';
import type { ProjectionWeight } from '../types';

/** How the compressor stores a quantized weight for the target (see quantize/step.ts planQuantizedWeight). */
type Storage = 'portable' | 'dequantize-linear' | 'matmul-nbits';

function storageOf(w: ProjectionWeight, s: LayerSettings, target: Target): Storage {
  if (target !== 'webgpu') return 'portable';
  if (s.weights === 'int4' && s.granularity === 'block' && w.matMulB) return 'matmul-nbits';
  // per-tensor DequantizeLinear has JSEP bugs; int4 DequantizeLinear has no WebGPU kernel (INT4_DQ_NOTE)
  return s.granularity === 'per-tensor' || s.weights === 'int4' ? 'portable' : 'dequantize-linear';
}

const SCALE_BYTES = 4;

/**
 * Projected bytes of an int8 / int4 weight of `elements` values (`channels` output channels),
 * or why the compressor would refuse it.
 */
export function quantizedBytes(w: ProjectionWeight, s: LayerSettings, op: string, target: Target, elements: number, channels: number | undefined): { after: number } | { unsupported: string } {
  const storage = storageOf(w, s, target);
  let groups: number;
  let codes = elements;
  // rows and blocks of a block layout (zero points of MatMulNBits are packed per row)
  let rows = 0;
  let blocks = 0;
  if (s.granularity === 'per-tensor') groups = 1;
  else if (s.granularity === 'per-channel') {
    if (channels === undefined) return { unsupported: `per-channel needs an output-channel axis, and this ${op} weight has none` };
    groups = channels;
  } else {
    if (!w.blockLen) return { unsupported: `block needs a reduction axis, and this ${op} weight has none` };
    rows = elements / w.blockLen;
    blocks = Math.ceil(w.blockLen / s.blockSize);
    groups = rows * blocks;
    // codes are padded to whole blocks (portable: unless a row is a single block)
    if (storage === 'matmul-nbits' || (storage === 'portable' && blocks > 1)) codes = groups * s.blockSize;
  }
  const int8 = s.weights === 'int8';
  let zeroPoints = 0;
  if (!s.symmetric) {
    if (int8 || storage === 'portable') zeroPoints = groups;
    else if (storage === 'dequantize-linear') zeroPoints = Math.ceil(groups / 2);
    else zeroPoints = rows * Math.ceil(blocks / 2);
  }
  return { after: (int8 ? codes : Math.ceil(codes / 2)) + groups * SCALE_BYTES + zeroPoints };
}
