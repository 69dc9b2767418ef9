import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { chunked, headOf, joined, readChunked, type ChunkedBytes } from './chunked';
import { filesResolver } from './external';

/** A file of `n` bytes (byte i = i * 7 mod 251) and the same bytes cut into chunks of `size`. */
function file(n: number, size: number): { whole: Uint8Array; parts: ChunkedBytes } {
  const whole = new Uint8Array(n);
  for (let i = 0; i < n; i++) whole[i] = (i * 7) % 251;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < n; at += size) chunks.push(whole.slice(at, Math.min(n, at + size)));
  return { whole, parts: chunked(chunks, size) };
}

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return e instanceof AppError ? `${e.code}: ${e.message}` : `not an AppError: ${String(e)}`;
  }
  return 'no error';
};

describe('readChunked: bytes of a file held in chunks', () => {
  const { whole, parts } = file(1000, 64);

  it('reads every range the way one buffer would, at and across every boundary', () => {
    for (const [offset, length] of [
      [0, 64], // the first chunk exactly
      [64, 64], // a tensor exactly at a boundary, exactly one chunk
      [60, 8], // straddles one boundary
      [63, 1],
      [64, 1],
      [10, 150], // spans 3 chunks
      [0, 1000], // the whole file
      [960, 40], // the short last chunk
      [999, 1],
      [1000, 0], // empty at the very end
    ]) {
      expect([...readChunked(parts, offset, length)], `${offset}+${length}`).toEqual([...whole.subarray(offset, offset + length)]);
    }
  });

  it('gives a view inside one chunk and a copy of its own across chunks', () => {
    const inside = readChunked(parts, 64, 64);
    expect(inside.buffer).toBe(parts.chunks[1].buffer);
    const across = readChunked(parts, 10, 150);
    expect(parts.chunks.some((c) => c.buffer === across.buffer)).toBe(false);
    expect(across.byteOffset).toBe(0);
    expect(across.buffer.byteLength).toBe(150);
  });

  it('refuses ranges outside the file with a message naming it, for chunked and plain files', () => {
    for (const bytes of [parts, whole]) {
      expect(code(() => readChunked(bytes, 990, 11, 'w.data'))).toBe('external-data: Bytes 990..1001 are outside "w.data" (1000 bytes).');
      expect(code(() => readChunked(bytes, -1, 4, 'w.data'))).toMatch(/^external-data: .*outside "w.data"/);
      expect(code(() => readChunked(bytes, 0, -4, 'w.data'))).toMatch(/^external-data: /);
      expect(code(() => readChunked(bytes, 1.5, 4, 'w.data'))).toMatch(/^external-data: /);
      expect(code(() => readChunked(bytes, Number.MAX_SAFE_INTEGER, 2, 'w.data'))).toMatch(/^external-data: /);
      expect(code(() => readChunked(bytes, 0, Infinity, 'w.data'))).toMatch(/^external-data: /);
    }
  });

  it('refuses chunks that do not tile the file', () => {
    expect(code(() => chunked([new Uint8Array(64), new Uint8Array(10), new Uint8Array(64)], 64))).toMatch(/^invalid-argument: Chunk 1 holds 10 bytes/);
    expect(code(() => chunked([new Uint8Array(80)], 64))).toMatch(/^invalid-argument: Chunk 0 holds 80 bytes/);
    expect(code(() => chunked([new Uint8Array(64), new Uint8Array(0)], 64))).toMatch(/^invalid-argument: Chunk 1 holds 0 bytes/);
    expect(code(() => chunked([], 0))).toMatch(/^invalid-argument: /);
    expect(chunked([], 64).length).toBe(0);
  });

  it('heads and joins', () => {
    expect([...headOf(parts, 100)]).toEqual([...whole.subarray(0, 100)]);
    expect([...headOf(file(10, 4).parts, 100)]).toEqual([...file(10, 4).whole]);
    expect([...joined(parts)]).toEqual([...whole]);
  });

  it('serves external data through filesResolver with the offset/length checks of one buffer', () => {
    const r = filesResolver([{ name: 'w.data', bytes: parts }]);
    expect(r.size('w.data')).toBe(1000);
    expect([...r.read('w.data', 100, 300)]).toEqual([...whole.subarray(100, 400)]);
    expect([...r.read('w.data', 900, undefined)]).toEqual([...whole.subarray(900)]);
    expect(code(() => r.read('w.data', 900, 200))).toBe(
      'external-data: External data in "w.data" (offset 900, length 200) runs past the end of the file (1000 bytes).',
    );
    expect(code(() => r.read('w.data', 1200, 1))).toMatch(/^external-data: External data offset 1200 is beyond the end of "w.data"/);
  });

  it('reads a lazy file by offset, and refuses a short read or a range outside it', () => {
    const reads: string[] = [];
    const lazy = { length: 1000, readAt: (o: number, n: number) => (reads.push(`${o}+${n}`), whole.slice(o, o + n)) };
    expect([...readChunked(lazy, 10, 150)]).toEqual([...whole.subarray(10, 160)]);
    expect(reads).toEqual(['10+150']);
    expect(code(() => readChunked(lazy, 990, 11, 'w.data'))).toBe('external-data: Bytes 990..1001 are outside "w.data" (1000 bytes).');
    expect(reads).toHaveLength(1);
    const short = { length: 1000, readAt: (o: number, n: number) => whole.slice(o, o + n - 1) };
    expect(code(() => readChunked(short, 0, 8, 'w.data'))).toBe('external-data: Reading 8 bytes at 0 of "w.data" gave 7 (the file changed?).');
    const r = filesResolver([{ name: 'w.data', bytes: lazy }]);
    expect(r.size('w.data')).toBe(1000);
    expect([...r.read('w.data', 900, undefined)]).toEqual([...whole.subarray(900)]);
  });

  it('survives a structured clone (the snapshot to another worker)', () => {
    const copy = structuredClone(parts);
    expect([...readChunked(copy, 10, 150)]).toEqual([...whole.subarray(10, 160)]);
  });
});
