/**
 * A refactoring guard: compresses a fixed set of models with a fixed set of recipes through the
 * CLI's whole path (recipe parse, calibration on synthesized samples, compressModel, encode) and
 * prints one SHA-256 per output file and per report. Run it before and after a change that must
 * not change behaviour and compare:
 *
 *   npx tsx scripts/compress-golden.ts --write /tmp/golden-before.json
 *   npx tsx scripts/compress-golden.ts --compare /tmp/golden-before.json
 *
 * --compare exits 1 and names every case whose bytes (or report) differ. Nothing is committed
 * as a baseline: the baseline is whatever the code printed before the change.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCompress } from '../src/cli/compress';
import { encodeModel } from '../src/onnx/codec';
import { cnnFixture, constantsOpset9Fixture, externalFixture, ifSubgraphFixture, mlpFixture, type Fixture } from '../src/compress/testing/fixtures';

const root = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-'));

function writeFixture(f: Fixture): string {
  const dir = path.join(work, f.name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [loc, bytes] of Object.entries(f.external ?? {})) fs.writeFileSync(path.join(dir, loc), bytes);
  const file = path.join(dir, `${f.name}.onnx`);
  fs.writeFileSync(file, encodeModel(f.model));
  return file;
}

const models: Record<string, string> = {
  sample: path.join(root, 'public/sample/digits-cnn.onnx'),
  ...Object.fromEntries(
    ['cnn-opset9', 'transformer-opset17', 'lstm-opset11', 'helper-opset13'].map((n) => [n, path.join(root, 'src/testing/real', `${n}.onnx`)]),
  ),
  cnn: writeFixture(cnnFixture()),
  'cnn-opset11': writeFixture({ ...cnnFixture(11), name: 'cnn-opset11' }),
  mlp: writeFixture(mlpFixture()),
  'constants-opset9': writeFixture(constantsOpset9Fixture()),
  'if-subgraph': writeFixture(ifSubgraphFixture()),
  external: writeFixture(externalFixture()),
};

const r = (target: string, defaults: object, extra: object = {}) => ({ format: 'onnx-compression-recipe', version: 1, target, defaults, ...extra });
const recipes: Record<string, object> = {
  'portable-int8': r('portable', { weights: 'int8' }),
  'portable-int8-tensor-asym': r('portable', { weights: 'int8', granularity: 'per-tensor', symmetric: false }),
  'portable-int4-block32': r('portable', { weights: 'int4', granularity: 'block', blockSize: 32 }),
  'portable-int4-channel-asym': r('portable', { weights: 'int4', symmetric: false }),
  'portable-fp16': r('portable', { weights: 'fp16' }),
  'portable-prune-mag': r('portable', { weights: 'int8', prune: 0.5 }),
  'portable-prune-channel': r('portable', { weights: 'fp32', prune: 0.3, pruneMethod: 'channel' }),
  'portable-no-cleanup': r('portable', { weights: 'int8' }, { cleanup: false }),
  'wasm-int8': r('wasm', { weights: 'int8' }),
  'wasm-int8-act': r('wasm', { weights: 'int8', activations: 'int8' }),
  'wasm-int4-block16': r('wasm', { weights: 'int4', granularity: 'block', blockSize: 16 }),
  'webgpu-int4-block32': r('webgpu', { weights: 'int4', granularity: 'block', blockSize: 32 }),
  'webgpu-int4-block32-asym': r('webgpu', { weights: 'int4', granularity: 'block', blockSize: 32, symmetric: false }),
  'webgpu-fp16': r('webgpu', { weights: 'fp16' }),
  'webgpu-int8-tensor': r('webgpu', { weights: 'int8', granularity: 'per-tensor' }),
};

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex').slice(0, 16);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const out: Record<string, string> = {};
  for (const [mName, mPath] of Object.entries(models)) {
    for (const [rName, recipe] of Object.entries(recipes)) {
      const rPath = path.join(work, `${rName}.json`);
      fs.writeFileSync(rPath, JSON.stringify(recipe));
      const dest = path.join(path.dirname(mPath) === path.dirname(models.external) ? path.dirname(mPath) : work, `${mName}.${rName}.out.onnx`);
      const key = `${mName} / ${rName}`;
      try {
        const { outcome } = await runCompress({ model: mPath, recipe: rPath, out: dest, synthesizeSamples: true });
        out[key] = `file ${sha(fs.readFileSync(dest))} report ${sha(JSON.stringify(outcome.report))}`;
        fs.rmSync(dest, { force: true });
      } catch (e) {
        out[key] = `error ${(e as Error).message}`;
      }
      console.log(`${key}: ${out[key]}`);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  const wi = args.indexOf('--write');
  if (wi >= 0) fs.writeFileSync(args[wi + 1], JSON.stringify(out, null, 1));
  const ci = args.indexOf('--compare');
  if (ci >= 0) {
    const before = JSON.parse(fs.readFileSync(args[ci + 1], 'utf8')) as Record<string, string>;
    const keys = new Set([...Object.keys(before), ...Object.keys(out)]);
    const diff = [...keys].filter((k) => before[k] !== out[k]);
    for (const k of diff) console.log(`DIFFERS ${k}\n  before: ${before[k]}\n  after:  ${out[k]}`);
    console.log(diff.length === 0 ? `all ${keys.size} cases identical` : `${diff.length} of ${keys.size} cases differ`);
    process.exitCode = diff.length === 0 ? 0 : 1;
  }
}

await main();
