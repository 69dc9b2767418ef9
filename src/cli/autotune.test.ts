/**
 * `cli autotune` as a user runs it, on the built-in sample: the recipe it writes, applied with
 * `cli compress` to the original model, gives the accuracy autotune measured for it (the search
 * measures candidates compressed from a cleaned-up copy; this checks that shortcut against the
 * real pipeline). Bad options exit with 2 and one line.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRecipeText } from '../compress/recipe';
import { convNet } from '../compress/activations/testing/conv-net';
import { encodeModel } from '../onnx/codec';
import { encodeNpy } from '../bench/npy';
import { seeded } from '../core/random';
import { mlpFixture } from '../compress/testing/fixtures';
import type { AutotuneReport } from './autotune';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-autotune-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SAMPLE = 'public/sample/digits-cnn.onnx';
const LABELS = 'public/sample/digits-test.json';

describe('cli autotune', () => {
  it('finds a recipe within the size budget whose accuracy cli eval confirms', () => {
    const recipePath = path.join(tmp, 'r.json');
    // transfer size: magnitude pruning counts (zeros compress), so a mix with pruning can go below int4
    const r = cli(['autotune', SAMPLE, '--max-size', '0.12', '--size', 'transfer', '--samples', LABELS, '--out', recipePath, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AutotuneReport;
    expect(report.metric).toBe('accuracy');
    expect(report.sizeBasis).toBe('transfer');
    expect(report.original.metric).toBeCloseTo(447 / 450, 10);
    expect(report.chosen.sizeRatio).toBeLessThanOrEqual(0.12);
    const int4 = report.uniform.find((u) => u.label === 'uniform int4')!;
    // 12% is below uniform int4 (13.5%): only a mix with pruning fits, and it keeps int4's accuracy or better
    expect(int4.sizeRatio).toBeGreaterThan(0.12);
    expect(report.chosen.metric).toBeGreaterThanOrEqual(int4.metric);
    const recipe = parseRecipeText(fs.readFileSync(recipePath, 'utf8'));
    expect(recipe.layers).not.toEqual({});

    const out = path.join(tmp, 'c.onnx');
    expect(cli(['compress', SAMPLE, '--recipe', recipePath, '--out', out]).code).toBe(0);
    const ev = cli(['eval', SAMPLE, out, '--samples', LABELS, '--max-runs', '5', '--json']);
    expect(ev.code).toBe(0);
    const acc = (JSON.parse(ev.stdout) as { compressed: { accuracy: { correct: number; total: number } } }).compressed.accuracy;
    expect(acc.correct / acc.total).toBeCloseTo(report.chosen.metric, 10);
  });

  it('--max-size means the stored file unless --size transfer: the compressed file fits it', () => {
    const recipePath = path.join(tmp, 'stored.json');
    const r = cli(['autotune', SAMPLE, '--max-size', '0.3', '--samples', LABELS, '--out', recipePath, '--json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as AutotuneReport;
    expect(report.sizeBasis).toBe('stored');
    expect(report.chosen.size).toBe(report.chosen.fileBytes);
    expect(report.chosen.sizeRatio).toBeLessThanOrEqual(0.3);
    const out = path.join(tmp, 'stored.onnx');
    expect(cli(['compress', SAMPLE, '--recipe', recipePath, '--out', out]).code).toBe(0);
    expect(fs.statSync(out).size / fs.statSync(SAMPLE).size).toBeLessThanOrEqual(0.3);
    expect(Math.abs(fs.statSync(out).size - report.chosen.fileBytes) / report.chosen.fileBytes).toBeLessThan(0.02);
  });

  it('--recovery gptq: every candidate recovered on the calibration part; the recipe, applied by compress with the same samples, gives what autotune measured', () => {
    const recipePath = path.join(tmp, 'recovered.json');
    const data = ['--samples', LABELS, '--calibration', '200'];
    const r = cli(['autotune', SAMPLE, '--max-size', '0.2', ...data, '--recovery', 'gptq', '--no-prune', '--out', recipePath, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AutotuneReport;
    expect(report.recovery).toMatchObject({ mode: 'gptq', samples: 200 });
    expect(report.recovery!.layers).toBeGreaterThanOrEqual(3);
    // each layer solved once per setting, then reused by the candidates that repeat it
    expect(report.recovery!.solves.solved).toBeGreaterThan(0);
    expect(report.recovery!.solves.reused).toBeGreaterThan(report.recovery!.solves.solved);
    // the uniform settings with recovery and without: int4's error is recovered (the sample loses a digit or more without)
    const int4 = report.uniform.find((u) => u.label === 'uniform int4')!;
    const int4Rtn = report.uniformRtn!.find((u) => u.label === 'uniform int4, no recovery')!;
    expect(int4.cosine).toBeGreaterThan(int4Rtn.cosine);
    expect(report.uniformRtn!.map((u) => u.label)).toEqual(['uniform int8, no recovery', 'uniform int4, no recovery']);
    const recipe = parseRecipeText(fs.readFileSync(recipePath, 'utf8'));
    expect(recipe.defaults.recovery).toBe('gptq');

    const out = path.join(tmp, 'recovered.onnx');
    const c = cli(['compress', SAMPLE, '--recipe', recipePath, ...data, '--out', out]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/gptq error/);
    const ev = cli(['eval', SAMPLE, out, ...data, '--max-runs', '5', '--json']);
    expect(ev.code).toBe(0);
    const acc = (JSON.parse(ev.stdout) as { compressed: { accuracy: { correct: number; total: number } } }).compressed.accuracy;
    expect(acc.total).toBe(250);
    expect(acc.correct / acc.total).toBeCloseTo(report.chosen.metric, 10);

    const text = cli(['autotune', SAMPLE, '--max-size', '0.2', ...data, '--recovery', 'gptq', '--no-prune', '--out', recipePath]);
    expect(text.stdout).toMatch(/Recovery: gptq in every candidate; H of \d+ layers' inputs on 200 calibration samples \(\d+\.\d s\); \d+ layer solves, \d+ reused/);
    expect(text.stdout).toMatch(/uniform int4, no recovery/);
  });

  it('--recovery gptq on a layer of 1,280 columns (its factor through onnxruntime, as compress takes it): cli eval gives the worst cosine autotune measured', () => {
    const model = path.join(tmp, 'wide.onnx');
    fs.writeFileSync(model, encodeModel(mlpFixture(13, [1280, 48, 10]).model));
    const dir = path.join(tmp, 'wide-samples');
    fs.mkdirSync(dir);
    const rng = seeded(4);
    const bases = Array.from({ length: 6 }, () => Float32Array.from({ length: 1280 }, () => rng() * 2 - 1));
    // (the fixture's input is [4, 1280]: 4 rows a sample)
    for (let i = 0; i < 40; i++) {
      const x = new Float32Array(4 * 1280);
      for (let r = 0; r < 4; r++) {
        const c = bases.map(() => rng() * 2 - 1);
        for (let j = 0; j < 1280; j++) x[r * 1280 + j] = bases.reduce((t, b, k) => t + c[k] * b[j], 0) + 0.1 * (rng() * 2 - 1);
      }
      fs.writeFileSync(path.join(dir, `s${String(i).padStart(2, '0')}.npy`), encodeNpy('float32', [4, 1280], x));
    }
    const data = ['--samples', dir, '--calibration', '24'];
    const recipePath = path.join(tmp, 'wide.json');
    const r = cli(['autotune', model, '--max-size', '0.2', ...data, '--recovery', 'gptq', '--no-prune', '--out', recipePath, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AutotuneReport;
    expect(report.metric).toBe('cosine');
    const out = path.join(tmp, 'wide-c.onnx');
    expect(cli(['compress', model, '--recipe', recipePath, ...data, '--out', out]).code).toBe(0);
    const ev = cli(['eval', model, out, ...data, '--max-runs', '3', '--json']);
    expect(ev.code).toBe(0);
    const f = (JSON.parse(ev.stdout) as { fidelity: { cosine: { worst: number } }[] }).fidelity[0];
    expect(f.cosine.worst).toBeCloseTo(report.chosen.metric, 12);
  });

  it('--fastest: the fastest recipe above the floor on wasm, timed side by side in onnxruntime-node against the original', () => {
    // a conv net where int8 activations pay off (five dense 3x3 Convs, ~37 M MACs)
    const model = path.join(tmp, 'conv-net.onnx');
    fs.writeFileSync(model, encodeModel(convNet()));
    const recipePath = path.join(tmp, 'fastest.json');
    const r = cli(['autotune', model, '--fastest', '--min-fidelity', '0.99', '--no-prune', '--out', recipePath, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AutotuneReport;
    expect(report.goal).toEqual({ minMetric: 0.99, fastest: true });
    expect(report.chosen.metric).toBeGreaterThanOrEqual(0.99);
    const lat = report.latency!;
    expect(lat.runtime).toMatch(/onnxruntime-node/);
    expect(lat.calibration).toMatch(/calibrated on 8 synthesized/);
    expect(lat.finalists).toBeGreaterThanOrEqual(2);
    expect(lat.speedup).toBeCloseTo(lat.originalMs / lat.chosenMs, 10);
    // the chosen is the fastest finalist: never slower than the original in the same rounds
    expect(lat.chosenMs).toBeLessThanOrEqual(lat.originalMs);
    const recipe = parseRecipeText(fs.readFileSync(recipePath, 'utf8'));
    expect(recipe.target).toBe('wasm');
    // the chosen recipe asks for int8 activations (they pay off here), and applies with compress
    expect(recipe.defaults.activations).toBe('int8');
    const out = path.join(tmp, 'fastest.onnx');
    expect(cli(['compress', model, '--recipe', recipePath, '--synthesize-samples', '--out', out]).code).toBe(0);

    const text = cli(['autotune', model, '--fastest', '--min-fidelity', '0.99', '--no-prune', '--out', recipePath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Chosen \(fastest on wasm with metric >= 0\.99\)/);
    expect(text.stdout).toMatch(/speed-up \d+\.\d\dx \(original \/ compressed, > 1 faster/);
    expect(text.stdout).toMatch(/timed in onnxruntime-node, cpu, 1 thread, not in a browser/);
  });

  it('refuses a missing goal, two goals and a bad ratio with exit 2', () => {
    const out = path.join(tmp, 'x.json');
    for (const args of [
      ['autotune', SAMPLE, '--out', out],
      ['autotune', SAMPLE, '--out', out, '--max-size', '0.2', '--min-fidelity', '0.9'],
      ['autotune', SAMPLE, '--out', out, '--max-size', '1.5'],
      ['autotune', SAMPLE, '--max-size', '0.2'],
      ['autotune', SAMPLE, '--out', out, '--max-size', '0.2', '--fastest'],
      ['autotune', SAMPLE, '--out', out, '--min-fidelity', '0.99', '--fastest', '--target', 'webgpu'],
      ['autotune', SAMPLE, '--out', out, '--max-size', '0.2', '--samples', LABELS, '--recovery', 'bias'],
      // recovery learns from real inputs: random ones would teach nothing
      ['autotune', SAMPLE, '--out', out, '--max-size', '0.2', '--recovery', 'gptq'],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const r = cli(['autotune', SAMPLE, '--out', out, '--min-fidelity', '0.99', '--metric', 'accuracy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs a labeled set');
    expect(fs.existsSync(out)).toBe(false);
  });
});
