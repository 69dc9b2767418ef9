/**
 * The samples' way from the data worker to the compress worker (data-port.ts), over a real
 * MessageChannel (Node's: the same structured clone as the browser's).
 */
import { describe, expect, it } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import type { DataPart } from '../bench/data-load';
import type { BenchTensor } from '../bench/tensor';
import { fetchDataParts, firstSamples, serveDataPort, type HeldData, type PortLike } from './data-port';

const tensor = (v: number): BenchTensor => ({ name: 'x', dtype: 'float32', dims: [1, 2], data: new Float32Array([v, v + 0.5]) });
const sets = (from: number, n: number): DataPart => ({ sets: Array.from({ length: n }, (_, i) => [tensor(from + i)]) });

function channel(): [PortLike, PortLike] {
  const c = new MessageChannel();
  return [c.port1 as unknown as PortLike, c.port2 as unknown as PortLike];
}

const values = (p: DataPart | undefined) => (p?.sets ?? []).map((s) => Array.from(s[0].data as Float32Array));

describe('data port', () => {
  const held: HeldData = { key: 7, calibration: sets(0, 3), evaluation: sets(100, 20) };

  it('hands the calibration part and the first evaluation samples for the check, as copies', async () => {
    const [dataEnd, consumerEnd] = channel();
    serveDataPort(dataEnd, () => held);
    const got = await fetchDataParts(consumerEnd, { key: 7, use: 'calibration', check: 16 });
    expect(values(got.part)).toEqual([
      [0, 0.5],
      [1, 1.5],
      [2, 2.5],
    ]);
    expect(values(got.check)).toEqual(Array.from({ length: 16 }, (_, i) => [100 + i, 100.5 + i]));
    // cloned across the channel: the held samples are the data worker's own
    expect(got.part.sets?.[0][0].data).not.toBe(held.calibration.sets?.[0][0].data);
  });

  it('hands the evaluation part, without a check when none is asked', async () => {
    const [dataEnd, consumerEnd] = channel();
    serveDataPort(dataEnd, () => held);
    const got = await fetchDataParts(consumerEnd, { key: 7, use: 'evaluation' });
    expect(values(got.part)).toHaveLength(20);
    expect(got.check).toBeUndefined();
    expect(got.calibration).toBeUndefined();
  });

  it('hands the calibration part beside the evaluation part when asked (Explore with recovery)', async () => {
    const [dataEnd, consumerEnd] = channel();
    serveDataPort(dataEnd, () => held);
    const got = await fetchDataParts(consumerEnd, { key: 7, use: 'evaluation', calibration: true });
    expect(values(got.part)).toHaveLength(20);
    expect(values(got.calibration)).toEqual([
      [0, 0.5],
      [1, 1.5],
      [2, 2.5],
    ]);
    expect(got.check).toBeUndefined();
  });

  it('says so when the data worker holds another data set (replaced) or none (restarted)', async () => {
    for (const now of [{ ...held, key: 8 }, undefined]) {
      const [dataEnd, consumerEnd] = channel();
      serveDataPort(dataEnd, () => now);
      await expect(fetchDataParts(consumerEnd, { key: 7, use: 'calibration' })).rejects.toThrow(/^stale-data: the data worker no longer holds these samples/);
    }
  });

  it('reads what the data worker holds when the request arrives, not when the port was connected', async () => {
    const worker: { held?: HeldData } = {};
    const [dataEnd, consumerEnd] = channel();
    serveDataPort(dataEnd, () => worker.held);
    worker.held = held;
    expect(values((await fetchDataParts(consumerEnd, { key: 7, use: 'calibration' })).part)).toHaveLength(3);
  });

  it('a cancel ends the wait for an answer that does not come', async () => {
    const [, consumerEnd] = channel();
    const controller = new AbortController();
    const waiting = fetchDataParts(consumerEnd, { key: 7, use: 'calibration' }, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toMatchObject({ code: 'aborted' });
  });

  it("the first samples of a labeled set are rows in a buffer of their own (a view would clone the whole set's buffer)", () => {
    const data = Float32Array.from({ length: 10 * 4 }, (_, i) => i);
    const part: DataPart = { labeled: { source: 'set.json', inputName: 'x', sampleDims: [2, 2], classNames: [], labels: Int32Array.from({ length: 10 }, (_, i) => i % 3), data } };
    const first = firstSamples(part, 3);
    expect(Array.from(first.labeled?.labels ?? [])).toEqual([0, 1, 2]);
    expect(Array.from(first.labeled?.data ?? [])).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(first.labeled?.data.buffer.byteLength).toBe(12 * 4);
  });
});
