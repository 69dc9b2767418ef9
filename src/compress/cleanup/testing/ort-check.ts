/**
 * Test helpers for the clean-up and channel-pruning tests: run a model in onnxruntime-node and
 * compare outputs (bit for bit, or by the largest difference relative to the largest magnitude).
 */
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../../onnx/codec';
import type { Model } from '../../../onnx/types';
import type { FixtureInput } from '../../../testing/fixtures';
import { seeded } from '../../../testing/random';

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** Float feeds of the given shapes, uniform in [-1, 1), seeded. */
export function floatFeeds(shapes: Record<string, number[]>, seed = 1234): Feeds {
  const rng = seeded(seed);
  const feeds: Feeds = {};
  for (const [name, dims] of Object.entries(shapes)) {
    const n = dims.reduce((p, d) => p * d, 1);
    feeds[name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng() * 2 - 1), dims);
  }
  return feeds;
}

/** Feeds from a fixture table entry (fresh copies). */
export function fixtureFeeds(inputs: Record<string, FixtureInput>): Feeds {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, new ort.Tensor(v.type, v.data.slice() as ort.Tensor['data'], v.dims)]));
}

function cloneFeeds(feeds: Feeds): Feeds {
  return Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.type, (v.data as Float32Array).slice(), v.dims)]));
}

export async function run(model: Model | Uint8Array, feeds: Feeds, options: ort.InferenceSession.SessionOptions = {}): Promise<Outputs> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const s = await ort.InferenceSession.create(bytes, options);
  try {
    return await s.run(cloneFeeds(feeds));
  } finally {
    await s.release();
  }
}

function bytesOf(t: ort.Tensor): Uint8Array {
  const d = t.data as ArrayBufferView;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Names of outputs that differ in any byte (or in dims/type). */
export function bitDifferences(a: Outputs, b: Outputs): string[] {
  const out: string[] = [];
  for (const k of Object.keys(a)) {
    const x = a[k];
    const y = b[k];
    if (!y || x.type !== y.type || x.dims.join() !== y.dims.join()) {
      out.push(k);
      continue;
    }
    if (Array.isArray(x.data)) {
      if (JSON.stringify(x.data) !== JSON.stringify(y.data)) out.push(k);
      continue;
    }
    const p = bytesOf(x);
    const q = bytesOf(y);
    if (p.length !== q.length || p.some((v, i) => v !== q[i])) out.push(k);
  }
  return out;
}

/** The largest |a - b| over all float outputs, relative to the largest |a| of that output. */
export function maxRelativeDifference(a: Outputs, b: Outputs): number {
  let worst = 0;
  for (const k of Object.keys(a)) {
    const x = a[k];
    const y = b[k];
    if (!y || x.dims.join() !== y.dims.join()) return Infinity;
    if (x.type !== 'float32' && x.type !== 'float64') {
      if (bitDifferences({ [k]: x }, { [k]: y }).length) return Infinity;
      continue;
    }
    const p = x.data as Float32Array;
    const q = y.data as Float32Array;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < p.length; i++) {
      scale = Math.max(scale, Math.abs(p[i]));
      const d = Math.abs(p[i] - q[i]);
      diff = Number.isNaN(d) ? (Number.isNaN(p[i]) && Number.isNaN(q[i]) ? diff : Infinity) : Math.max(diff, d);
    }
    worst = Math.max(worst, scale === 0 ? diff : diff / scale);
  }
  return worst;
}
