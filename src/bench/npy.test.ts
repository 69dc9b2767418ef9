import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from './npy';

/** A .npy file with a hand-written header (as numpy writes it), for the cases encodeNpy does not make. */
function npy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let h = header;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const head = new TextEncoder().encode(h);
  const out = new Uint8Array(pre + head.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, head.length, true);
  else view.setUint32(8, head.length, true);
  out.set(head, pre);
  out.set(data, pre + head.length);
  return out;
}

describe('.npy files', () => {
  it('round-trips every supported dtype', () => {
    const f = parseNpy(encodeNpy('float32', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6.5])));
    expect(f.dtype).toBe('float32');
    expect(f.shape).toEqual([2, 3]);
    expect(Array.from(f.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6.5]);
    const i = parseNpy(encodeNpy('int64', [3], BigInt64Array.from([1n, -2n, 3n])));
    expect(Array.from(i.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
    const b = parseNpy(encodeNpy('bool', [2], Uint8Array.from([1, 0])));
    expect(b.dtype).toBe('bool');
    const s = parseNpy(encodeNpy('float64', [], Float64Array.from([Math.PI])));
    expect(s.shape).toEqual([]);
    expect((s.data as Float64Array)[0]).toBe(Math.PI);
  });

  it('reads big-endian data and format version 2, and names what it cannot read', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    const a = parseNpy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be, 2));
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2]);

    expect(() => parseNpy(new Uint8Array(20), 'x.npy')).toThrow(/x\.npy: not a NumPy \.npy file/);
    expect(() => parseNpy(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), 'c.npy')).toThrow(
      /c\.npy: unsupported dtype '<c8'/,
    );
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16)), 'f.npy')).toThrow(/Fortran-order/);
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(8)), 't.npy')).toThrow(
      /t\.npy: holds 8 data bytes, its shape \(4\) needs 16/,
    );
    expect(() => parseNpy(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), 's.npy')).toThrow(
      /structured arrays are not supported/,
    );
  });
});
