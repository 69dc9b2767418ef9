/**
 * GPTQ on helper threads (worker_threads over one shared WebAssembly.Memory): the same codes,
 * repaired values and errors as on the calling thread alone, with the helpers taking lanes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seeded } from '../testing/random';
import { quantizeTensor } from '../compress/quantize/quantize';
import { gptqRows, repairPrunedRows, type WeightMatrix } from '../compress/recovery/gptq';
import { helpedLanes, setGptqPool } from '../compress/recovery/gptq-simd';
import { gaussian, reluHessian } from '../compress/recovery/testing/hessian';
import { startGptqThreads, stopGptqThreads } from './gptq-threads';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GPTQ on helper threads', () => {
  afterAll(stopGptqThreads);
  // 300 rows of 512 columns: 8 blocks of 36 rows, in rounds of 3 lanes
  const rows = 300;
  const cols = 512;
  const h = reluHessian(700, cols, 5);
  const rng = seeded(9);
  const w = Float32Array.from({ length: rows * cols }, () => gaussian(rng) * 0.1);
  const m: WeightMatrix = { rows, cols, at: (r, c) => r * cols + c };
  const all = Array.from({ length: rows }, (_, i) => i);

  it('the same codes, values and errors as the calling thread alone, the helpers taking lanes', async () => {
    setGptqPool(undefined);
    const qt1 = quantizeTensor(w, [rows, cols], { kind: 'block', axis: 1, blockSize: 32 }, 4, true);
    const alone = gptqRows(w, qt1, m, all, h);
    const pruned = Float32Array.from(w, (x) => (Math.abs(x) < 0.05 ? 0 : x));
    const repairedAlone = Float32Array.from(pruned);
    const repairAlone = repairPrunedRows(w, repairedAlone, m, all, h, { damp: 0.05 });

    const pool = startGptqThreads(2);
    expect(pool?.helpers).toBe(2);
    // the helpers load through tsx: give them time to reach their loop (a lane no helper takes, the caller takes)
    await sleep(3000);
    const qt2 = quantizeTensor(w, [rows, cols], { kind: 'block', axis: 1, blockSize: 32 }, 4, true);
    const threaded = gptqRows(w, qt2, m, all, h);
    const repairedThreaded = Float32Array.from(pruned);
    const repairThreaded = repairPrunedRows(w, repairedThreaded, m, all, h, { damp: 0.05 });
    expect(helpedLanes((pool as NonNullable<typeof pool>).memory)).toBeGreaterThan(0);

    expect(Array.from(qt2.q)).toEqual(Array.from(qt1.q));
    expect(threaded).toEqual(alone);
    expect(alone.errorAfter).toBeLessThan(alone.errorBefore);
    expect(Array.from(repairedThreaded)).toEqual(Array.from(repairedAlone));
    expect(repairThreaded).toEqual(repairAlone);
  }, 60_000);
});
