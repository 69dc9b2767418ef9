/**
 * `npm run cli -- compress`, run as a user would (node + tsx, a child process), against real
 * onnxruntime-node: the written file loads and matches the original within the int8 tolerance,
 * its size is the one reported, its bytes equal a direct compressModel call's, and bad recipes and
 * bad samples exit with 2 and one stderr line naming the key or the file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { compressModel } from '../compress/compress';
import { makeRecipe, serializeRecipe, type PartialLayerSettings, type Recipe, type Target } from '../compress/recipe';
import { bnNet } from '../compress/testing/bn-net';
import { externalFixture, mlpFixture } from '../compress/testing/fixtures';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { makeTensor } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import { externalReferences, inlineExternalData } from '../onnx/external';
import { loadModel } from '../onnx/load';
import { formatLayerTable, recoveryProgress, type CompressOutcome } from './compress';
import type { LayerReport } from '../compress/compress';
import { encodeNpy } from '../bench/npy';
import { CONV_NET_INPUT, convNet, convNetInputs } from '../compress/activations/testing/conv-net';
import { cosine } from '../core/vector';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-cli-compress-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SAMPLE = path.join(root, 'public/sample/digits-cnn.onnx');
const TEST_SET = JSON.parse(fs.readFileSync(path.join(root, 'public/sample/digits-test.json'), 'utf8')) as {
  inputName: string;
  shape: number[];
  inputs: number[][];
};

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 90_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
function writeRecipe(recipe: Recipe | string): string {
  const file = path.join(tmp, `recipe-${n++}.json`);
  fs.writeFileSync(file, typeof recipe === 'string' ? recipe : serializeRecipe(recipe));
  return file;
}

/** What the page's worker and this CLI both do, called directly: load -> compressModel -> inline -> encode. */
function direct(files: { name: string; bytes: Uint8Array }[], recipe: Recipe): Uint8Array {
  const loaded = loadModel(files);
  const { model } = compressModel(loaded.model, recipe, { external: loaded.external });
  return encodeModel(externalReferences(model).length > 0 && loaded.external ? inlineExternalData(model, loaded.external) : model);
}


function worstRowCosine(a: Float32Array, b: Float32Array, width: number): number {
  let worst = 1;
  for (let r = 0; r < a.length / width; r++) worst = Math.min(worst, cosine(a.subarray(r * width, (r + 1) * width), b.subarray(r * width, (r + 1) * width)));
  return worst;
}

async function logits(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const count = 64;
  const x = new Float32Array(count * 64);
  TEST_SET.inputs.slice(0, count).forEach((row, i) => x.set(row, i * 64));
  const out = await s.run({ [TEST_SET.inputName]: new ort.Tensor('float32', x, [count, ...TEST_SET.shape]) });
  const data = Float32Array.from(out[s.outputNames[0]].data as Float32Array);
  await s.release();
  return data;
}

describe('cli compress', () => {
  const sampleBytes = new Uint8Array(fs.readFileSync(SAMPLE));

  it('writes a model that loads in onnxruntime-node, matches within the int8 tolerance, and has the reported size', async () => {
    const recipe = makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' });
    const out = path.join(tmp, 'digits.int8.onnx');
    const r = cli(['compress', SAMPLE, '--recipe', writeRecipe(recipe), '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const outcome = JSON.parse(r.stdout) as CompressOutcome;
    const written = new Uint8Array(fs.readFileSync(out));
    expect(outcome.fileBytesAfter).toBe(written.length);
    expect(outcome.fileBytesBefore).toBe(sampleBytes.length);
    expect(outcome.report.layersChanged).toBe(4);
    expect(outcome.report.layersFailed).toBe(0);
    // the stored weights shrink about 4x, and the file is those weights plus a small graph
    expect(outcome.report.bytesAfter).toBeLessThan(outcome.report.bytesBefore / 3.5);
    expect(written.length).toBeGreaterThan(outcome.report.bytesAfter);
    expect(written.length).toBeLessThan(outcome.report.bytesAfter + 8192);
    for (const layer of outcome.report.layers) {
      expect(layer.applied).toBe('int8-cast-mul');
      expect(layer.bytesAfter).toBeLessThan(layer.bytesBefore);
    }
    const [ref, got] = [await logits(sampleBytes), await logits(written)];
    expect(cosine(ref, got)).toBeGreaterThanOrEqual(0.999);
    // the same bytes as a direct call of the functions the page's worker uses
    expect(Buffer.compare(Buffer.from(written), Buffer.from(direct([{ name: 'digits-cnn.onnx', bytes: sampleBytes }], recipe)))).toBe(0);
  });

  it('prints a per-layer table of what was done', () => {
    const recipe = makeRecipe('webgpu', { weights: 'int8', granularity: 'block', blockSize: 16 }, { '/classifier/fc2/Gemm': { weights: 'fp32' } });
    const out = path.join(tmp, 'digits.int8.onnx');
    const r = cli(['compress', SAMPLE, '--recipe', writeRecipe(recipe), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Wrote .*digits\.int8\.onnx \(.+, from 154 KB: \d+\.\d\dx smaller\)$/);
    expect(lines[1]).toMatch(/^target webgpu; opset 13 -> 21/);
    const header = lines.findIndex((l) => /^layer\s+op\s+requested\s+applied\s+before\s+after\s+note$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^\/features\/conv1\/Conv\s+Conv\s+int8 block16\s+int8-dequantize-linear\s+640 B\s+\d+ B/);
    expect(rows[3]).toMatch(/^\/classifier\/fc2\/Gemm\s+Gemm\s+fp32\s+unchanged\s+2\.54 KB\s+2\.54 KB$/);
    expect(fs.statSync(out).size).toBeGreaterThan(0);
  });

  it("adds each recovered layer's GPTQ error (before → after, on the calibration inputs) as a column, only when a layer was recovered", () => {
    const requested = { weights: 'int8', granularity: 'per-channel', blockSize: 32, symmetric: true, prune: 0, pruneMethod: 'magnitude', activations: 'fp32' };
    const row = (key: string, recovery: { errorBefore: number; errorAfter: number; rows: number }[]) =>
      ({ key, op: 'Conv', requested, applied: 'int8-cast-mul', bytesBefore: 4096, bytesAfter: 1100, notes: ['a note'], weights: recovery.map((r) => ({ name: `${key}.w`, recovery: { method: 'gptq', ...r } })) }) as unknown as LayerReport;
    const lines = formatLayerTable([row('conv1', [{ errorBefore: 0.0013438, errorAfter: 0.00025104, rows: 23040 }]), row('lstm', [{ errorBefore: 0.02, errorAfter: 0.01, rows: 96 }, { errorBefore: 0.5, errorAfter: 0.125, rows: 96 }]), row('head', [])]);
    expect(lines[0]).toMatch(/^layer\s+op\s+requested\s+applied\s+before\s+after\s+gptq error\s+note$/);
    expect(lines[1]).toMatch(/\s0\.13% → 0\.025% {2}a note$/);
    expect(lines[2]).toMatch(/\s2\.0% → 1\.0%, 50% → 13% {2}a note$/);
    expect(lines[3]).toMatch(/1\.07 KB\s+a note$/);
    // no layer recovered: no column
    expect(formatLayerTable([row('head', [])])[0]).toMatch(/^layer\s+op\s+requested\s+applied\s+before\s+after\s+note$/);
  });

  const sameBytes: [string, Target, PartialLayerSettings][] = [
    ['fp16', 'wasm', { weights: 'fp16' }],
    ['int4 block 32, webgpu', 'webgpu', { weights: 'int4', granularity: 'block', blockSize: 32 }],
    ['int8 per-tensor asymmetric + 40% magnitude pruning', 'portable', { weights: 'int8', granularity: 'per-tensor', symmetric: false, prune: 0.4 }],
  ];
  for (const [label, target, settings] of sameBytes) {
    it(`gives the same bytes as a direct compressModel call: ${label} on an MLP`, () => {
      const fx = mlpFixture(13, [64, 128, 96, 32]);
      const modelBytes = encodeModel(fx.model);
      const model = path.join(tmp, `mlp-${n}.onnx`);
      fs.writeFileSync(model, modelBytes);
      const recipe = makeRecipe(target, settings);
      const out = path.join(tmp, `mlp-${n}.out.onnx`);
      const r = cli(['compress', model, '--recipe', writeRecipe(recipe), '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const expected = direct([{ name: 'mlp.onnx', bytes: modelBytes }], recipe);
      expect(Buffer.compare(fs.readFileSync(out), Buffer.from(expected))).toBe(0);
    });
  }

  it('reads external data beside the model and writes one self-contained file, byte for byte as the page does', async () => {
    const fx = externalFixture();
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    const modelBytes = encodeModel(fx.model);
    fs.writeFileSync(path.join(dir, 'ext.onnx'), modelBytes);
    for (const [name, data] of Object.entries(fx.external!)) fs.writeFileSync(path.join(dir, name), data);
    // fp32 for the only layer: the weight stays external in the compressed model and must be pulled inline
    for (const settings of [{ weights: 'fp32' }, { weights: 'int8' }] as PartialLayerSettings[]) {
      const recipe = makeRecipe('portable', settings);
      const out = path.join(tmp, `ext-${settings.weights}.onnx`);
      const r = cli(['compress', path.join(dir, 'ext.onnx'), '--recipe', writeRecipe(recipe), '--out', out, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as CompressOutcome).fileBytesBefore).toBe(modelBytes.length + fx.external!['weights.bin'].length);
      const written = new Uint8Array(fs.readFileSync(out));
      const files = [{ name: 'ext.onnx', bytes: modelBytes }, ...Object.entries(fx.external!).map(([name, bytes]) => ({ name, bytes }))];
      expect(Buffer.compare(Buffer.from(written), Buffer.from(direct(files, recipe)))).toBe(0);
      expect(externalReferences(loadModel(written).model)).toHaveLength(0);
      const s = await ort.InferenceSession.create(written);
      const x = new ort.Tensor('float32', new Float32Array(2 * 128).fill(0.5), [2, 128]);
      const y = (await s.run({ x })).y.data as Float32Array;
      expect(y.length).toBe(2 * 64);
      await s.release();
    }
  });

  const badRecipes: [string, string, RegExp][] = [
    ['an unknown key', JSON.stringify({ format: 'onnx-compression-recipe', version: 1, defaults: { weight: 'int8' } }), /defaults\.weight: unknown key/],
    ['a value out of range', JSON.stringify({ format: 'onnx-compression-recipe', version: 1, defaults: { prune: 0.99 } }), /defaults\.prune: expected a number from 0 to 0\.95, got 0\.99/],
    [
      'a bad layer value',
      JSON.stringify({ format: 'onnx-compression-recipe', version: 1, layers: { '/features/conv1/Conv': { weights: 'int3' } } }),
      /layers\["\/features\/conv1\/Conv"\]\.weights: expected one of fp32, fp16, int8, int4, got "int3"/,
    ],
    ['a layer key that names no layer', JSON.stringify({ format: 'onnx-compression-recipe', version: 1, layers: { conv9: { weights: 'int8' } } }), /layers\["conv9"\]: names no layer of this model/],
    ['an unknown target', JSON.stringify({ format: 'onnx-compression-recipe', version: 1, target: 'cuda' }), /target: expected one of portable, wasm, webgpu, got "cuda"/],
    ['text that is not JSON', '{"format": ', /recipe: not valid JSON/],
  ];
  for (const [label, text, pattern] of badRecipes) {
    it(`exits with 2 and names the key for ${label}, writing nothing`, () => {
      const file = writeRecipe(text);
      const out = path.join(tmp, `never-${n}.onnx`);
      const r = cli(['compress', SAMPLE, '--recipe', file, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toMatch(pattern);
      expect(fs.existsSync(out)).toBe(false);
    });
  }

  it('exits with 2 for missing options and a missing recipe file', () => {
    const out = path.join(tmp, 'x.onnx');
    const cases: [string[], RegExp][] = [
      [['compress', SAMPLE, '--out', out], /compress needs --recipe RECIPE\.json/],
      [['compress', SAMPLE, '--recipe', writeRecipe(makeRecipe('portable', {}))], /compress needs --out OUT\.onnx/],
      [['compress', SAMPLE, '--recipe', path.join(tmp, 'nope.json'), '--out', out], /No such recipe file: .*nope\.json/],
    ];
    for (const [args, pattern] of cases) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it('--recovery gptq --equalize --clip-search set the recipe keys: every layer recovered on the calibration part; a bad mode exits with 2', () => {
    const out = path.join(tmp, 'recovered.onnx');
    const recipe = writeRecipe(makeRecipe('portable', { weights: 'int4', granularity: 'per-channel' }));
    const test = path.join(root, 'public/sample/digits-test.json');
    const r = cli(['compress', SAMPLE, '--recipe', recipe, '--out', out, '--samples', test, '--calibration', '128', '--recovery', 'gptq', '--equalize', '--clip-search', '--json']);
    expect(r.stderr).toBe('');
    const outcome = JSON.parse(r.stdout) as { samples?: { note?: string }; report: { layers: { key: string; requested: Record<string, unknown>; notes: string[]; weights: { recovery?: unknown }[] }[]; notes: string[] } };
    // the samples taught recovery: not "checked but not used"
    expect(outcome.samples?.note).toBe('used by recovery (layer inputs); no layer asks for int8 activations');
    for (const l of outcome.report.layers) {
      expect(l.requested).toMatchObject({ recovery: 'gptq', equalize: true, clipSearch: true });
      expect(l.weights.some((w) => w.recovery), l.key).toBe(true);
      expect(l.notes.join(' ')).toMatch(/clip search: \d+ of \d+ groups narrowed/);
    }
    expect(outcome.report.notes.join(' ')).toMatch(/recovery gptq: the model's outputs on 16 evaluation samples \(held out from recovery\) are (closer to|further from) the original/);
    const bad = cli(['compress', SAMPLE, '--recipe', recipe, '--out', out, '--recovery', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--recovery must be none, bias, gptq or sequential, not "maybe"/);
  });

  it('--recovery sequential --act-order: four rounds aiming at the original outputs (the note says so); --recovery-rounds changes the rounds', () => {
    const out = path.join(tmp, 'sequential.onnx');
    const recipe = writeRecipe(makeRecipe('portable', { weights: 'int4', granularity: 'per-channel' }));
    const test = path.join(root, 'public/sample/digits-test.json');
    const args = ['compress', SAMPLE, '--recipe', recipe, '--out', out, '--samples', test, '--calibration', '128', '--recovery', 'sequential', '--act-order', '--json'];
    const r = cli(args);
    expect(r.stderr).toBe('');
    const outcome = JSON.parse(r.stdout) as { report: { layers: { requested: Record<string, unknown>; weights: { recovery?: unknown }[] }[]; notes: string[] } };
    for (const l of outcome.report.layers) expect(l.requested).toMatchObject({ recovery: 'sequential', actOrder: true });
    const notes = outcome.report.notes.join(' ');
    expect(notes).toMatch(/sequential in 4 rounds \(1 \+ 1 \+ 1 \+ 1 layers\).*aiming at the original model's outputs/);
    const two = JSON.parse(cli([...args, '--recovery-rounds', '2']).stdout) as { report: { notes: string[] } };
    expect(two.report.notes.join(' ')).toMatch(/sequential in 2 rounds/);
    expect(two.report.notes.join(' ')).not.toMatch(/ignored/);
  });

  it('recovery progress (stderr on a terminal): the sample, and with sequential rounds the round and the sample within it', () => {
    expect(recoveryProgress(5, 12, 12)).toBe('recovery: sample 5 of 12');
    expect(recoveryProgress(17, 48, 12)).toBe('recovery: round 2 of 4, sample 5 of 12');
    expect(recoveryProgress(48, 48, 12)).toBe('recovery: round 4 of 4, sample 12 of 12');
    expect(recoveryProgress(0, 48, 12)).toBe('recovery: round 1 of 4, sample 0 of 12');
  });

  it('--recovery-rounds without recovery sequential, --act-order or --both-orders without gptq: said to be ignored, not dropped silently', () => {
    const out = path.join(tmp, 'ignored-flags.onnx');
    const recipe = writeRecipe(makeRecipe('portable', { weights: 'int4', granularity: 'per-channel' }));
    const test = path.join(root, 'public/sample/digits-test.json');
    const notes = (extra: string[]) => {
      const r = cli(['compress', SAMPLE, '--recipe', recipe, '--out', out, '--samples', test, '--calibration', '128', ...extra, '--json']);
      expect(r.stderr).toBe('');
      return (JSON.parse(r.stdout) as { report: { notes: string[] } }).report.notes;
    };
    const gptqNotes = notes(['--recovery', 'gptq', '--recovery-rounds', '3']);
    expect(gptqNotes).toContain('--recovery-rounds 3: no layer asks for recovery "sequential" (--recovery sequential): ignored');
    // --calibration 128 leaves 322 held out: the model-level check runs 16 of them, not the samples recovery fitted
    expect(gptqNotes.some((n) => /^recovery gptq: the model's outputs on 16 evaluation samples \(held out from recovery\)/.test(n))).toBe(true);
    expect(notes(['--act-order'])).toContain('--act-order: no layer asks for recovery "gptq" or "sequential" (--recovery gptq|sequential): ignored');
    expect(notes(['--both-orders'])).toContain('--both-orders: no layer asks for recovery "gptq" or "sequential" (--recovery gptq|sequential): ignored');
    // with gptq: the recipe key reaches the layers
    const both = cli(['compress', SAMPLE, '--recipe', recipe, '--out', out, '--samples', test, '--calibration', '128', '--recovery', 'gptq', '--both-orders', '--json']);
    expect(both.stderr).toBe('');
    expect((JSON.parse(both.stdout) as { report: { layers: { requested: { orderSearch?: boolean } }[] } }).report.layers.some((l) => l.requested.orderSearch === true)).toBe(true);
  });

  it('--recovery bias without samples corrects from the BatchNorm statistics before the layer (data-free); gptq without samples still exits 2 naming --samples', () => {
    const model = path.join(tmp, 'bn-net.onnx');
    fs.writeFileSync(model, encodeModel(bnNet('Relu')));
    const recipe = writeRecipe(makeRecipe('portable', { weights: 'int4', granularity: 'per-channel' }));
    const r = cli(['compress', model, '--recipe', recipe, '--out', path.join(tmp, 'bn-net.bias.onnx'), '--recovery', 'bias', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as CompressOutcome).report.notes).toContain(
      // conv2 reads the BatchNorm's output (through a Relu); conv1 reads the model input
      'recovery bias without samples: 1 of 2 layers corrected from the BatchNorm statistics before it (data-free); 1 reads no BatchNorm output (none before it, or one folded into the Conv before it, as most exports do): round to nearest kept',
    );
    const g = cli(['compress', model, '--recipe', recipe, '--out', path.join(tmp, 'bn-net.gptq.onnx'), '--recovery', 'gptq']);
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/recovery "gptq" learns from real inputs: give calibration samples with --samples/);
  });

  it("--recovery gptq on a model whose output is a probability (a Sigmoid's): the check compares it in log-odds and its note says so", () => {
    const rng = ((seed) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648))(7);
    const w1 = Float32Array.from({ length: 16 * 8 }, () => rng() * 2 - 1);
    const w2 = Float32Array.from({ length: 8 }, () => rng() * 2 - 1);
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('Gemm', ['x', 'w1', 'b1'], ['h'], [], { name: 'fc1' }), makeNode('Relu', ['h'], ['r']), makeNode('Gemm', ['r', 'w2', 'b2'], ['z'], [], { name: 'fc2' }), makeNode('Sigmoid', ['z'], ['p'])],
        initializers: [
          makeTensor('w1', DataType.FLOAT, [16, 8], w1),
          makeTensor('b1', DataType.FLOAT, [8], new Float32Array(8).fill(0.1)),
          makeTensor('w2', DataType.FLOAT, [8, 1], w2),
          makeTensor('b2', DataType.FLOAT, [1], new Float32Array([-6])),
        ],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 16])],
        outputs: [makeValueInfo('p', DataType.FLOAT, [1, 1])],
      }),
    });
    const file = path.join(tmp, 'score.onnx');
    fs.writeFileSync(file, encodeModel(model));
    const dir = fs.mkdtempSync(path.join(tmp, 'score-samples-'));
    for (let i = 0; i < 24; i++) fs.writeFileSync(path.join(dir, `s${String(i).padStart(2, '0')}.npy`), encodeNpy('float32', [1, 16], Float32Array.from({ length: 16 }, () => rng() * 2 - 1)));
    const recipe = writeRecipe(makeRecipe('portable', { weights: 'fp32', prune: 0.5, pruneMethod: 'magnitude' }));
    const r = cli(['compress', file, '--recipe', recipe, '--out', path.join(tmp, 'score.p50.onnx'), '--samples', dir, '--calibration', '16', '--recovery', 'gptq', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const check = (JSON.parse(r.stdout) as CompressOutcome).report.notes.filter((n) => /the model's outputs on/.test(n));
    expect(check).toHaveLength(1);
    expect(check[0]).toMatch(/^recovery gptq: the model's outputs on 8 evaluation samples \(held out from recovery\) (are closer to|were further from) the original than without recovery \(relative squared error \S+ vs \S+; output "p", a probability \(a Sigmoid's\), compared in log-odds\)/);
  });

  it('--samples: reads .npy and .json samples, checks them against the model inputs, calibrates int8 activations, and names a bad file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'samples-'));
    const x = Float32Array.from(TEST_SET.inputs[0]);
    fs.writeFileSync(path.join(dir, 'a.npy'), encodeNpy('float32', [1, 1, 8, 8], x));
    fs.writeFileSync(path.join(dir, 'b.npy'), encodeNpy('float64', [2, 1, 8, 8], Float64Array.from([...TEST_SET.inputs[1], ...TEST_SET.inputs[2]])));
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ input: [[TEST_SET.inputs[3].reduce<number[][]>((rows, v, i) => (i % 8 ? rows[rows.length - 1].push(v) : rows.push([v]), rows), [])]] }));
    fs.writeFileSync(path.join(dir, 'd.json'), JSON.stringify({ input: { dims: [1, 1, 8, 8], data: TEST_SET.inputs[4] } }));
    fs.writeFileSync(path.join(dir, 'README.txt'), 'calibration inputs');
    const recipe = writeRecipe(makeRecipe('wasm', { weights: 'int8' }));
    const out = path.join(tmp, 'digits.samples.onnx');
    const r = cli(['compress', SAMPLE, '--recipe', recipe, '--out', out, '--samples', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const outcome = JSON.parse(r.stdout) as CompressOutcome;
    expect(outcome.samples).toEqual({
      // b.npy stacks two samples along the digits net's symbolic batch
      count: 5,
      names: ['a.npy', 'b.npy[0]', 'b.npy[1]', 'c.json', 'd.json'],
      ignored: ['README.txt'],
      note: 'no layer asks for int8 activations: the samples were checked but not used',
    });

    // On the tiny digits net integer kernels would be slower on wasm: the cost guard keeps weights only.
    const act = writeRecipe(makeRecipe('wasm', { weights: 'int8', activations: 'int8' }));
    const guarded = cli(['compress', SAMPLE, '--recipe', act, '--out', path.join(tmp, 'digits.act.onnx'), '--samples', dir, '--json']);
    expect(guarded.stderr).toBe('');
    expect(guarded.code).toBe(0);
    const guardedOutcome = JSON.parse(guarded.stdout) as CompressOutcome;
    expect(guardedOutcome.report.notes.join('\n')).toMatch(/int8 activations dropped \(weights only\)/);
    expect(guardedOutcome.report.layers.every((l) => l.applied !== 'int8-qdq')).toBe(true);

    // On a Conv net big enough to gain, the samples calibrate the static (QDQ) convs.
    const netPath = path.join(tmp, 'conv-net.onnx');
    fs.writeFileSync(netPath, encodeModel(convNet()));
    const netDir = fs.mkdtempSync(path.join(tmp, 'net-samples-'));
    const { channels, size } = CONV_NET_INPUT;
    convNetInputs(4, 7).forEach((img, i) => fs.writeFileSync(path.join(netDir, `s${i}.npy`), encodeNpy('float32', [1, channels, size, size], img)));
    const netOut = path.join(tmp, 'conv-net.act.onnx');
    const calibrated = cli(['compress', netPath, '--recipe', act, '--out', netOut, '--samples', netDir, '--json']);
    expect(calibrated.stderr).toBe('');
    expect(calibrated.code).toBe(0);
    const actOutcome = JSON.parse(calibrated.stdout) as CompressOutcome;
    expect(actOutcome.samples?.note).toBeUndefined();
    expect(actOutcome.report.notes.join('\n')).toMatch(/calibration: 4 sample input sets/);
    const convRows = actOutcome.report.layers.filter((l) => l.op === 'Conv');
    expect(convRows.length).toBeGreaterThanOrEqual(4);
    expect(convRows.every((l) => l.applied === 'int8-qdq')).toBe(true);
    const run = async (bytes: Uint8Array, x: Float32Array) => {
      const s = await ort.InferenceSession.create(bytes);
      const out = await s.run({ [CONV_NET_INPUT.name]: new ort.Tensor('float32', x.slice(), [1, channels, size, size]) });
      return out[s.outputNames[0]].data as Float32Array;
    };
    const probe = convNetInputs(1, 99)[0];
    const a = await run(new Uint8Array(fs.readFileSync(netPath)), probe);
    const b = await run(new Uint8Array(fs.readFileSync(netOut)), probe);
    const cos = worstRowCosine(a, b, a.length);
    console.log(`conv net int8 weights + activations calibrated on 4 samples: cosine ${cos.toFixed(5)}`);
    // the wiring is what is tested here; the activation tolerances are compress/activations's
    expect(cos).toBeGreaterThanOrEqual(0.99);

    const badDir = fs.mkdtempSync(path.join(tmp, 'bad-samples-'));
    fs.writeFileSync(path.join(badDir, 'wrong.npy'), encodeNpy('float32', [1, 1, 8, 7], new Float32Array(56)));
    const bad = cli(['compress', SAMPLE, '--recipe', recipe, '--out', path.join(tmp, 'never.onnx'), '--samples', badDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--samples: wrong\.npy: "input" has shape \[1, 1, 8, 7\], the model's input "input" needs \[batch, 1, 8, 8\]/);

    const missing = cli(['compress', SAMPLE, '--recipe', recipe, '--out', path.join(tmp, 'never.onnx'), '--samples', path.join(tmp, 'none')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--samples: no such file or folder/);

    // Without samples the convs stay weights-only and say how to calibrate; --synthesize-samples
    // calibrates on random input sets, as the studio does.
    const none = cli(['compress', netPath, '--recipe', act, '--out', path.join(tmp, 'conv-net.none.onnx'), '--json']);
    expect(none.code).toBe(0);
    const noneOutcome = JSON.parse(none.stdout) as CompressOutcome;
    expect(noneOutcome.report.layers.filter((l) => l.op === 'Conv').every((l) => l.applied === 'int8-cast-mul')).toBe(true);
    expect(noneOutcome.report.layers.find((l) => l.op === 'Conv')?.notes.join(' ')).toMatch(/--synthesize-samples to calibrate on random inputs/);
    const synthOut = path.join(tmp, 'conv-net.synth.onnx');
    const synth = cli(['compress', netPath, '--recipe', act, '--out', synthOut, '--synthesize-samples', '--json']);
    expect(synth.stderr).toBe('');
    expect(synth.code).toBe(0);
    const synthOutcome = JSON.parse(synth.stdout) as CompressOutcome;
    expect(synthOutcome.report.notes.join('\n')).toMatch(/calibration: 8 synthesized \(random\) input sets/);
    expect(synthOutcome.report.layers.filter((l) => l.op === 'Conv').every((l) => l.applied === 'int8-qdq')).toBe(true);
    const c = await run(new Uint8Array(fs.readFileSync(synthOut)), probe);
    expect(worstRowCosine(a, c, a.length)).toBeGreaterThanOrEqual(0.99);
    const both = cli(['compress', netPath, '--recipe', act, '--out', synthOut, '--synthesize-samples', '--samples', netDir]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--samples DIR or --synthesize-samples, not both/);
  });
});
