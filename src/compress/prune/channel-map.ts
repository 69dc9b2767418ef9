/**
 * Channel layouts for structured pruning: where a group's channels sit along one axis of a
 * tensor, and byte-level slicing of constant tensors along axes.
 *
 * A group has C channels (the output channels of its source layers). In every tensor the group
 * reaches, channel c occupies `width` consecutive positions starting at `pos[c]` along `axis`
 * (counted from the end, so broadcasting aligns). `extent` is the axis length in those units:
 * larger than C * width after a Concat with other tensors. After a Flatten each unit becomes S
 * consecutive elements, S = (axis length) / extent, found where a constant meets the tensor.
 */
import { AppError } from '../../core/errors';

export interface ChannelMap {
  /** negative: counted from the last axis */
  axis: number;
  rank?: number;
  extent: number;
  pos: Int32Array;
  width: number;
  flat: boolean;
}

export function identityMap(channels: number, axis: number, rank?: number): ChannelMap {
  return { axis, rank, extent: channels, pos: Int32Array.from({ length: channels }, (_, i) => i), width: 1, flat: false };
}

export function sameLayout(a: ChannelMap, b: ChannelMap): boolean {
  if (a.axis !== b.axis || a.extent !== b.extent || a.width !== b.width || a.flat !== b.flat || a.pos.length !== b.pos.length) return false;
  if (a.rank !== undefined && b.rank !== undefined && a.rank !== b.rank) return false;
  for (let i = 0; i < a.pos.length; i++) if (a.pos[i] !== b.pos[i]) return false;
  return true;
}

/** The axis as an index from the front, when the rank is known. */
export function axisIndex(m: ChannelMap): number | undefined {
  return m.rank === undefined ? undefined : m.rank + m.axis;
}

export function isIdentity(m: ChannelMap): boolean {
  if (m.width !== 1 || m.flat || m.extent !== m.pos.length) return false;
  for (let i = 0; i < m.pos.length; i++) if (m.pos[i] !== i) return false;
  return true;
}

/** Positions (in elements; S per unit) that removing `channels` removes, ascending. */
export function removedPositions(m: ChannelMap, channels: readonly number[], S = 1): number[] {
  const out: number[] = [];
  for (const c of channels) {
    for (let u = m.pos[c]; u < m.pos[c] + m.width; u++) for (let s = 0; s < S; s++) out.push(u * S + s);
  }
  return out.sort((x, y) => x - y);
}

/** Units per channel position along the axis, for an axis of `length` elements. */
export function unitSize(m: ChannelMap, length: number, what: string): number {
  if (!m.flat) {
    if (length !== m.extent) throw new AppError('unsupported', `${what} has ${length} entries along the channel axis, expected ${m.extent}`);
    return 1;
  }
  if (length % m.extent !== 0 || length === 0) throw new AppError('unsupported', `${what} has ${length} entries along the flattened channel axis, not a multiple of ${m.extent}`);
  return length / m.extent;
}

/**
 * Removes `remove` indices along `axis` of a row-major tensor of `elemBytes`-byte elements.
 * Returns the new bytes and dims; the input is not modified.
 */
export function sliceAxis(raw: Uint8Array, elemBytes: number, dims: readonly number[], axis: number, remove: ReadonlySet<number>): { raw: Uint8Array; dims: number[] } {
  const len = dims[axis];
  const keep: number[] = [];
  for (let i = 0; i < len; i++) if (!remove.has(i)) keep.push(i);
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= dims[d];
  let inner = elemBytes;
  for (let d = axis + 1; d < dims.length; d++) inner *= dims[d];
  const out = new Uint8Array(outer * keep.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    const base = a * len * inner;
    // copy runs of consecutive kept indices at once
    for (let k = 0; k < keep.length; ) {
      let e = k + 1;
      while (e < keep.length && keep[e] === keep[e - 1] + 1) e++;
      const from = base + keep[k] * inner;
      const n = (e - k) * inner;
      out.set(raw.subarray(from, from + n), o);
      o += n;
      k = e;
    }
  }
  const nd = [...dims];
  nd[axis] = keep.length;
  return { raw: out, dims: nd };
}

/** Per output position p along `axis`: the sum of squares of the slice at p. */
export function sumSquaresAlong(values: Float32Array, dims: readonly number[], axis: number): Float64Array {
  const len = dims[axis];
  let inner = 1;
  for (let d = axis + 1; d < dims.length; d++) inner *= dims[d];
  const out = new Float64Array(len);
  for (let i = 0; i < values.length; i++) {
    const p = Math.floor(i / inner) % len;
    out[p] += values[i] * values[i];
  }
  return out;
}
