/**
 * The benchmarks' model over 2 GB (`npm run bench:parse -- --big`, `npm run bench:compress --
 * --big`): a chain of MatMuls with float32 [4096, 4096] weights (64 MiB each; 45 of them make
 * 3.02 GB) whose data lies in an external data file beside the model, as exporters write models
 * too large for one protobuf file. The model file is a few KB; the data file is written a
 * tensor at a time from one seeded random block, so generating it costs 64 MiB of memory plus
 * the disk writes. Helpers to measure a step in a fresh process (peak RSS is its own) and to
 * time one copy of the bytes.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { encodeModel } from '../src/onnx/codec';
import { DataLocation, DataType, type Tensor } from '../src/onnx/types';
import { seeded } from '../src/testing/random';

const MiB = 1 << 20;
export const BIG_SIDE = 4096;
const TENSOR_BYTES = BIG_SIDE * BIG_SIDE * 4;

export interface BigModel {
  dir: string;
  model: string;
  data: string;
  /** model file + data file */
  bytes: number;
  tensors: number;
  generateMs: number;
}

/** Writes the model and its data file (about `gb` × 10^9 bytes) into a fresh folder of the OS temp folder. */
export function generateBigModel(gb = 3): BigModel {
  const t0 = performance.now();
  const count = Math.max(1, Math.round((gb * 1e9) / TENSOR_BYTES));
  const dir = mkdtempSync(join(tmpdir(), 'bench-big-'));
  const dataName = 'big.onnx.data';
  const rng = seeded(3);
  const slack = 4 * MiB;
  const block = new Float32Array((TENSOR_BYTES + slack) / 4);
  for (let i = 0; i < block.length; i++) block[i] = (rng() + rng() + rng() - 1.5) * 0.02;
  const bytes = new Uint8Array(block.buffer);
  const initializers: Tensor[] = [];
  const nodes = [];
  const fd = openSync(join(dir, dataName), 'w');
  try {
    for (let i = 0; i < count; i++) {
      const at = Math.floor((rng() * slack) / 4) * 4;
      const offset = i * TENSOR_BYTES;
      for (let o = 0; o < TENSOR_BYTES; ) o += writeSync(fd, bytes, at + o, TENSOR_BYTES - o, offset + o);
      initializers.push({
        name: `mm${i}.weight`,
        dataType: DataType.FLOAT,
        dims: [BIG_SIDE, BIG_SIDE],
        dataLocation: DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(TENSOR_BYTES) },
        ],
        stringData: [],
        metadataProps: [],
      });
      nodes.push(makeNode('MatMul', [i === 0 ? 'x' : `h${i - 1}`, `mm${i}.weight`], [i === count - 1 ? 'y' : `h${i}`], [], { name: `/mm${i}/MatMul` }));
    }
    // on disk before anything is timed: writeback of 3 GB of dirty pages would slow the first read
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const model = makeModel({
    graph: makeGraph({
      name: 'big_external',
      nodes,
      initializers,
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, BIG_SIDE])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, BIG_SIDE])],
    }),
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'bench-big',
  });
  const modelPath = join(dir, 'big.onnx');
  writeFileSync(modelPath, encodeModel(model));
  const data = join(dir, dataName);
  return { dir, model: modelPath, data, bytes: statSync(modelPath).size + statSync(data).size, tensors: count, generateMs: performance.now() - t0 };
}

export function removeBigModel(m: BigModel): void {
  rmSync(m.dir, { recursive: true, force: true });
}

/**
 * One copy of the bytes: the model and data files read into one fresh buffer of their size (what
 * the page does with the files it opens). Returns the time; the buffer is dropped.
 */
export function timeReadIntoMemory(files: readonly string[]): number {
  const t0 = performance.now();
  for (const f of files) {
    const size = statSync(f).size;
    const buf = new Uint8Array(size);
    const fd = openSync(f, 'r');
    try {
      for (let o = 0; o < size; ) {
        const n = readSync(fd, buf, o, Math.min(64 * MiB, size - o), o);
        if (n <= 0) throw new Error(`${f} ended early`);
        o += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  return performance.now() - t0;
}

/** What a measuring child reports: its own figures plus its peak RSS. */
export interface ChildResult<T> {
  value: T;
  rssStart: number;
  peakRss: number;
}

/** Runs `node <execArgv> script --child NAME ARG` in a fresh process and parses the JSON it prints. */
export function inChild<T>(script: string, name: string, arg: string): ChildResult<T> {
  const r = spawnSync(process.execPath, [...process.execArgv, script, '--child', name, arg], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * MiB });
  if (r.status !== 0) throw new Error(`child ${name} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.toString('utf8')) as ChildResult<T>;
}

/** In the child: runs `fn` and prints its value with the process's start and peak RSS. */
export async function childMain<T>(fn: () => T | Promise<T>): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  const rssStart = process.memoryUsage().rss;
  const value = await fn();
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ value, rssStart, peakRss } satisfies ChildResult<T>));
}

export const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
export const mibs = (b: number): string => (b < 1 << 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / MiB).toFixed(0)} MiB`);
