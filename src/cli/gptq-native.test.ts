/**
 * GPTQ's native products (onnxruntime-node on a worker thread over GPTQ's shared memory) against
 * the WebAssembly kernel alone: the same errors to float32 rounding, nearly all the same codes (the
 * sums go in another order, so a value near a grid midpoint may round the other way), in chunks
 * (more rows than NATIVE_ROWS) and with a last block shorter than NATIVE_COLS; a service that
 * fails mid-layer leaves the kernel's exact result; one still starting is not waited for; stopped,
 * its worker releases its sessions and ends by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../testing/random';
import { quantizeTensor } from '../compress/quantize/quantize';
import { gptqRows, quadraticForms, repairPrunedRows, type GptqResult, type WeightMatrix } from '../compress/recovery/gptq';
import { gptqNativeFailure, NATIVE_MIN_COLS, NATIVE_ROWS, setGptqNative, type GptqNative } from '../compress/recovery/gptq-simd';
import { gaussian, reluHessian } from '../compress/recovery/testing/hessian';
import { gptqNativeNote, startGptqNative, stopGptqNative } from './gptq-native';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rows = NATIVE_ROWS + 88;
const cols = NATIVE_MIN_COLS + 129;
const h = reluHessian(3 * cols, cols, 7);
const rng = seeded(11);
const w = Float32Array.from({ length: rows * cols }, () => gaussian(rng) * 0.1);
const m: WeightMatrix = { rows, cols, at: (r, c) => r * cols + c };
const all = Array.from({ length: rows }, (_, i) => i);

function int4(): { r: GptqResult; q: Int8Array } {
  const qt = quantizeTensor(w, [rows, cols], { kind: 'block', axis: 1, blockSize: 32 }, 4, true);
  return { r: gptqRows(w, qt, m, all, h), q: Int8Array.from(qt.q) };
}
function repair(): { r: GptqResult; v: Float32Array } {
  const v = Float32Array.from(w, (x) => (Math.abs(x) < 0.05 ? 0 : x));
  return { r: repairPrunedRows(w, v, m, all, h, { damp: 0.05 }), v };
}
const close = (a: number, b: number, rel: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b) + 1e-12);

describe('GPTQ with native products', () => {
  let svc: GptqNative;
  // the kernel alone, first
  let kernel: { int4: ReturnType<typeof int4>; repair: ReturnType<typeof repair>; forms: Float64Array };
  const x = Float64Array.from(w);
  beforeAll(async () => {
    setGptqNative(undefined);
    kernel = { int4: int4(), repair: repair(), forms: quadraticForms(x, rows, cols, h) };
    svc = startGptqNative(undefined, 1);
    // its worker loads through tsx on this thread's event loop
    for (let t = 0; t < 100 && !svc.ready(); t++) await sleep(100);
  }, 30_000);
  afterAll(stopGptqNative);

  it('starts', () => {
    expect(svc.ready()).toBe(true);
  });

  it('int4 block-32: the kernel’s errors, nearly all its codes', () => {
    const got = int4();
    expect(gptqNativeFailure()).toBeUndefined();
    expect(gptqNativeNote()).toBeUndefined();
    close(got.r.errorBefore, kernel.int4.r.errorBefore, 1e-4);
    close(got.r.energy, kernel.int4.r.energy, 1e-4);
    close(got.r.errorAfter, kernel.int4.r.errorAfter, 2e-3);
    expect(got.r.errorAfter).toBeLessThan(got.r.errorBefore / 2);
    let same = 0;
    for (let i = 0; i < got.q.length; i++) if (got.q[i] === kernel.int4.q[i]) same++;
    expect(same / got.q.length).toBeGreaterThan(0.995);
  });

  it('repair after pruning: the kernel’s values to float32 rounding', () => {
    const got = repair();
    close(got.r.errorAfter, kernel.repair.r.errorAfter, 2e-3);
    const most = kernel.repair.v.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    let zeros = 0;
    let worst = 0;
    for (let i = 0; i < got.v.length; i++) {
      if ((got.v[i] === 0) !== (kernel.repair.v[i] === 0)) zeros++;
      worst = Math.max(worst, Math.abs(got.v[i] - kernel.repair.v[i]));
    }
    expect(zeros).toBe(0);
    expect(worst).toBeLessThanOrEqual(1e-3 * most);
  });

  it('quadratic forms (the errors alone)', () => {
    const got = quadraticForms(x, rows, cols, h);
    for (let r = 0; r < rows; r++) close(got[r], kernel.forms[r], 1e-4);
  });

  it('a service that fails mid-layer: the kernel’s exact result, and the service is not used again', () => {
    let blocks = 0;
    const failing: GptqNative = {
      ...svc,
      block: (...a) => {
        if (++blocks === 3) throw new Error('out of memory (test)');
        svc.block(...a);
      },
    };
    setGptqNative(failing);
    const got = int4();
    expect(gptqNativeFailure()).toBe('out of memory (test)');
    // the CLI's report says so
    expect(gptqNativeNote()).toMatch(/stopped \(out of memory \(test\)\); the layers after finished on its WebAssembly kernel/);
    expect(Array.from(got.q)).toEqual(Array.from(kernel.int4.q));
    expect(got.r).toEqual(kernel.int4.r);
    const calls = blocks;
    int4();
    expect(blocks).toBe(calls);
  });

  it('a service still starting: the kernel alone, not waiting for it', () => {
    setGptqNative({ ...svc, ready: () => false, begin: () => expect.unreachable() });
    const got = int4();
    expect(got.r).toEqual(kernel.int4.r);
    setGptqNative(svc);
  });

  it('stops in order: its sessions released on its thread, the worker ends by itself (not terminated), GPTQ back on its kernel', async () => {
    // (the last test here: the service is gone after it)
    expect(await stopGptqNative()).toBe('ended');
    const got = int4();
    expect(got.r).toEqual(kernel.int4.r);
    expect(await stopGptqNative()).toBeUndefined();
  });
});
