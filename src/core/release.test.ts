import { describe, expect, it } from 'vitest';
import { releaseBuffer } from './release';

describe('releaseBuffer', () => {
  it('hands back an array over its whole own buffer: it reads empty after', () => {
    const a = new Float32Array(1024).fill(3);
    releaseBuffer(a);
    expect(a.length).toBe(0);
    expect(a.buffer.byteLength).toBe(0);
  });

  it('leaves a view into a larger buffer, a shared buffer and a WebAssembly memory as they are', () => {
    const whole = new Float32Array(64).fill(1);
    const part = whole.subarray(8, 16);
    releaseBuffer(part);
    expect(part.length).toBe(8);
    expect(whole.length).toBe(64);
    const shared = new Float32Array(new SharedArrayBuffer(256));
    releaseBuffer(shared);
    expect(shared.length).toBe(64);
    const { Memory } = WebAssembly as unknown as { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
    const memory = new Memory({ initial: 1 });
    const view = new Uint8Array(memory.buffer);
    releaseBuffer(view);
    expect(view.length).toBe(65536);
    releaseBuffer(undefined);
  });
});
