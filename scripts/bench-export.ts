/**
 * Export benchmark: `npm run bench:export [-- --mb N]` (default 256).
 *
 * On a Blob of N MiB of weight-like bytes (a stand-in for a compressed model), in this process:
 * - baseline: read the Blob once in 16 MiB slices and gather the slices into a new Blob (the least
 *   any export that writes the bytes somewhere must do);
 * - zipParts (export-run.ts, fflate streaming, model stored) of that Blob plus small text parts;
 * - SHA-256: crypto.subtle in one buffer, and the incremental hash in slices (src/core/sha256.ts).
 * Prints each time as a ratio of the baseline measured in the same run (medians of 3), and Node's
 * array-buffer memory during zipping as a fraction of N (sampled every 5 ms): the finished zip
 * (Node keeps Blob bytes there; a browser keeps them in its blob store, on disk when large) and
 * the transient rest, which streaming keeps to slices (16 MiB) and pending output (64 MiB).
 */
import { performance } from 'node:perf_hooks';
import { Sha256 } from '../src/core/sha256';
import { seeded } from '../src/testing/random';
import { zipParts, type ExportPart } from '../src/workers/export-run';

const MiB = 1 << 20;
const SLICE = 16 * MiB;
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const mb = arg('mb', 256);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function makeBlob(bytes: number): Blob {
  const rng = seeded(7);
  const chunk = new Uint8Array(SLICE);
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(rng() * 256) & (i % 5 === 0 ? 0 : 0xff); // some zeros, like pruned int8
  const parts: Uint8Array[] = [];
  for (let left = bytes; left > 0; left -= SLICE) parts.push(chunk.subarray(0, Math.min(SLICE, left)));
  return new Blob(parts as Uint8Array<ArrayBuffer>[]);
}

async function median(run: () => Promise<unknown>, n = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    gc();
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

async function copyBlob(blob: Blob): Promise<Blob> {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < blob.size; at += SLICE) parts.push(new Uint8Array(await blob.slice(at, Math.min(blob.size, at + SLICE)).arrayBuffer()));
  return new Blob(parts as Uint8Array<ArrayBuffer>[]);
}

async function incremental(blob: Blob): Promise<string> {
  const h = new Sha256();
  for (let at = 0; at < blob.size; at += SLICE) h.update(new Uint8Array(await blob.slice(at, Math.min(blob.size, at + SLICE)).arrayBuffer()));
  return h.hex();
}

async function main() {
  const model = makeBlob(mb * MiB);
  const parts: ExportPart[] = [
    { kind: 'model', name: 'model.onnx', blob: model },
    { kind: 'recipe', name: 'model.recipe.json', blob: new Blob(['{"format":"onnx-compression-recipe"}']) },
    { kind: 'report-md', name: 'model.report.md', blob: new Blob(['# report\n'.repeat(1000)]) },
  ];
  const base = await median(() => copyBlob(model));
  const zip = await median(() => zipParts(parts, 'model'));
  const subtle = await median(async () => crypto.subtle.digest('SHA-256', await model.arrayBuffer()));
  const inc = await median(() => incremental(model), 1);

  // memory while zipping: array buffers above the level before (the Blob's own bytes are outside)
  gc();
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
  const out = await zipParts(parts, 'model');
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  gc();
  const held = process.memoryUsage().arrayBuffers - before; // the finished zip itself

  const row = (name: string, ms: number) => `${name.padEnd(40)} ${ms.toFixed(0).padStart(7)} ms   ${(ms / base).toFixed(2)}x`;
  console.log(`export benchmark, ${mb} MiB model part (zip ${(out.size / MiB).toFixed(1)} MiB)\n`);
  console.log(row('baseline: read + gather into a Blob', base));
  console.log(row('zipParts (stored, streamed)', zip));
  console.log(row('SHA-256 crypto.subtle (one buffer)', subtle));
  console.log(row('SHA-256 incremental (16 MiB slices)', inc));
  const x = (b: number) => `${(b / MiB).toFixed(0)} MiB = ${(b / (mb * MiB)).toFixed(2)}x of the model`;
  console.log(`\narray-buffer memory while zipping: peak growth ${x(peak - before)}; the finished zip holds ${x(held)}; transient ${x(peak - before - held)}`);
}

void main();
