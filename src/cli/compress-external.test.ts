/**
 * `compress` past the single-file limit, and with --external-data NAME: the result is a model plus
 * a data file beside it, which onnxruntime-node loads from the path and runs bit for bit like the
 * one-file result. A model over 2 GB cannot be a fixture here, so the limit is lowered
 * (`maxInlineBytes`) for the mechanism; under it nothing changes (same bytes, no data file).
 * `eval` and `autotune` take models with external data.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes as fmt } from '../core/bytes-and-counts';
import { makeRecipe, serializeRecipe, type Recipe } from '../compress/recipe';
import { decodeModel, encodeModel } from '../onnx/codec';
import { externalizeData, externalReferences } from '../onnx/external';
import { compressCommand, runCompress, type CompressOutcome } from './compress';
import { MAX_INLINE_BYTES } from './model-output';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-cli-external-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SAMPLE = path.join(root, 'public/sample/digits-cnn.onnx');
const LABELS = path.join(root, 'public/sample/digits-test.json');
const TEST_SET = JSON.parse(fs.readFileSync(LABELS, 'utf8')) as { inputName: string; shape: number[]; inputs: number[][] };

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
function writeRecipe(recipe: Recipe): string {
  const file = path.join(tmp, `recipe-${n++}.json`);
  fs.writeFileSync(file, serializeRecipe(recipe));
  return file;
}

/** A fresh folder for one case's outputs. */
function outDir(): string {
  return fs.mkdtempSync(path.join(tmp, 'out-'));
}

/** The logits of 64 test digits, from a model path (external data beside it) or bytes; one thread. */
async function logits(model: string | Uint8Array): Promise<Float32Array> {
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const s = await (typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options));
  const count = 64;
  const x = new Float32Array(count * 64);
  TEST_SET.inputs.slice(0, count).forEach((row, i) => x.set(row, i * 64));
  const out = await s.run({ [TEST_SET.inputName]: new ort.Tensor('float32', x, [count, ...TEST_SET.shape]) });
  const data = Float32Array.from(out[s.outputNames[0]].data as Float32Array);
  await s.release();
  return data;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** int8 convolutions; the classifier's second layer stays fp32, so its weight stays in the input's data file until written */
const RECIPE = makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }, { '/classifier/fc2/Gemm': { weights: 'fp32' } });

let extModel: string;
let inlineOut: string;
let inlineBytes: Buffer;

beforeAll(async () => {
  // the sample with its weights in sample.onnx.data beside it
  const dir = fs.mkdtempSync(path.join(tmp, 'in-'));
  const split = externalizeData(decodeModel(new Uint8Array(fs.readFileSync(SAMPLE))), 'sample.onnx.data');
  extModel = path.join(dir, 'sample.onnx');
  fs.writeFileSync(extModel, encodeModel(split.model));
  fs.writeFileSync(path.join(dir, 'sample.onnx.data'), split.data);
  // the reference: the same compression as one file (the default under the limit)
  inlineOut = path.join(outDir(), 'one.onnx');
  await runCompress({ model: extModel, recipe: writeRecipe(RECIPE), out: inlineOut });
  inlineBytes = fs.readFileSync(inlineOut);
});

describe('compress with external data', () => {
  it('past the single-file limit writes the model and OUT.data beside it, which run bit for bit like the one file', async () => {
    expect(MAX_INLINE_BYTES).toBe(2 ** 31 - 1);
    const dir = outDir();
    const out = path.join(dir, 'big.onnx');
    const recipe = writeRecipe(RECIPE);
    const lines = await compressCommand({ model: extModel, recipe, out, maxInlineBytes: inlineBytes.length - 1 });
    const dataPath = path.join(dir, 'big.onnx.data');
    expect(fs.readdirSync(dir).sort()).toEqual(['big.onnx', 'big.onnx.data']);
    const modelSize = fs.statSync(out).size;
    const dataSize = fs.statSync(dataPath).size;
    expect(lines[0]).toBe(`Wrote ${out} and ${dataPath} (${fmt(modelSize)} + data ${fmt(dataSize)}, from ${fmt(fs.statSync(extModel).size + fs.statSync(path.join(path.dirname(extModel), 'sample.onnx.data')).size)}: ${lines[0].match(/(\d+\.\d\d)x smaller/)![1]}x smaller)`);
    expect(lines.some((l) => l.startsWith(`note: as one file the result would pass ${fmt(inlineBytes.length - 1)}`) && l.includes('big.onnx.data beside big.onnx'))).toBe(true);

    // every tensor of 1 KB or more refers to the data file; the model alone is small
    const model = decodeModel(new Uint8Array(fs.readFileSync(out)));
    const refs = externalReferences(model);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const t of model.graph!.initializers) if ((t.rawData?.length ?? 0) >= 1024) throw new Error(`${t.name} stayed inline`);
    expect(new Set(refs.map((r) => r.location))).toEqual(new Set(['big.onnx.data']));
    expect(refs.some((r) => r.tensor.name?.includes('fc2') && r.tensor.dataType === 1)).toBe(true);
    expect(modelSize).toBeLessThan(inlineBytes.length / 2);
    const last = refs.reduce((m, r) => Math.max(m, r.offset + (r.length ?? 0)), 0);
    expect(dataSize).toBe(last);

    // onnxruntime-node loads the pair from the path; outputs equal the one-file result's bit for bit
    const [one, pair] = [await logits(new Uint8Array(inlineBytes)), await logits(out)];
    expect(pair.length).toBe(64 * 10);
    expect(Buffer.compare(bits(pair), bits(one))).toBe(0);

    // --json says where the weights went
    const json = path.join(outDir(), 'j.onnx');
    const outcome = JSON.parse((await compressCommand({ model: extModel, recipe, out: json, json: true, maxInlineBytes: 1000 }))[0]) as CompressOutcome;
    expect(outcome.data).toMatchObject({ location: 'j.onnx.data', automatic: true, limit: 1000, bytes: fs.statSync(`${json}.data`).size });
    expect(outcome.fileBytesAfter).toBe(fs.statSync(json).size + fs.statSync(`${json}.data`).size);
    expect(outcome.modelBytes).toBe(fs.statSync(json).size);
  });

  it('up to the limit writes one file, byte for byte as before, and no data file', async () => {
    const dir = outDir();
    const out = path.join(dir, 'fits.onnx');
    const { outcome } = await runCompress({ model: extModel, recipe: writeRecipe(RECIPE), out, maxInlineBytes: inlineBytes.length });
    expect(fs.readdirSync(dir)).toEqual(['fits.onnx']);
    expect(Buffer.compare(fs.readFileSync(out), inlineBytes)).toBe(0);
    expect(outcome.data).toBeUndefined();
    expect(outcome.fileBytesAfter).toBe(inlineBytes.length);
    expect(externalReferences(decodeModel(new Uint8Array(inlineBytes)))).toHaveLength(0);
  });

  it('--external-data NAME puts the weights in NAME beside OUT whatever the size, as a user runs it', async () => {
    const dir = outDir();
    const out = path.join(dir, 'small.onnx');
    const r = cli(['compress', extModel, '--recipe', writeRecipe(RECIPE), '--out', out, '--external-data', 'weights/small.bin']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dataPath = path.join(dir, 'weights', 'small.bin');
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^Wrote ${out} and ${dataPath} \\(.+ \\+ data .+, from .+\\)$`));
    expect(r.stdout).not.toMatch(/would pass/);
    expect(new Set(externalReferences(decodeModel(new Uint8Array(fs.readFileSync(out)))).map((x) => x.location))).toEqual(new Set(['weights/small.bin']));
    expect(Buffer.compare(bits(await logits(out)), bits(await logits(new Uint8Array(inlineBytes))))).toBe(0);
  });

  it('refuses a data file that would overwrite an input or leave the folder, with exit 2 and nothing written', () => {
    const inputDir = path.dirname(extModel);
    const before = fs.statSync(path.join(inputDir, 'sample.onnx.data')).mtimeMs;
    const cases: [string, string, RegExp][] = [
      [path.join(inputDir, 'other.onnx'), 'sample.onnx.data', /is the input's own data file/],
      [path.join(inputDir, 'other2.onnx'), 'sample.onnx', /cannot be the input model/],
      [path.join(outDir(), 'x.onnx'), '../x.data', /outside the model's folder/],
      [path.join(outDir(), 'y.onnx'), 'y.onnx', /cannot be the output model itself/],
    ];
    for (const [out, name, pattern] of cases) {
      const r = cli(['compress', extModel, '--recipe', writeRecipe(RECIPE), '--out', out, '--external-data', name]);
      expect(r.code, name).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(fs.existsSync(out)).toBe(false);
    }
    expect(fs.statSync(path.join(inputDir, 'sample.onnx.data')).mtimeMs).toBe(before);
  });

  it('eval opens models with external data from their paths', () => {
    const out = path.join(outDir(), 'pair.onnx');
    expect(cli(['compress', extModel, '--recipe', writeRecipe(RECIPE), '--out', out, '--external-data', 'pair.onnx.data']).code).toBe(0);
    const r = cli(['eval', extModel, out, '--samples', LABELS, '--max-runs', '5', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { original: { bytes: number; accuracy: { correct: number } }; compressed: { bytes: number; accuracy: { correct: number } }; fidelity: { cosine: { worst: number } }[] };
    // sizes count the data files; the original's accuracy is the sample's
    expect(report.original.bytes).toBe(fs.statSync(extModel).size + fs.statSync(path.join(path.dirname(extModel), 'sample.onnx.data')).size);
    expect(report.compressed.bytes).toBe(fs.statSync(out).size + fs.statSync(`${out}.data`).size);
    expect(report.original.accuracy.correct).toBe(447);
    expect(report.fidelity[0].cosine.worst).toBeGreaterThan(0.999);
  });

  it('autotune takes a model with external data', () => {
    const recipePath = path.join(outDir(), 'r.json');
    const r = cli(['autotune', extModel, '--max-size', '0.3', '--samples', LABELS, '--out', recipePath, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { original: { metric: number }; chosen: { sizeRatio: number } };
    expect(report.original.metric).toBeCloseTo(447 / 450, 10);
    expect(report.chosen.sizeRatio).toBeLessThanOrEqual(0.3);
    expect(fs.existsSync(recipePath)).toBe(true);
  });
});
