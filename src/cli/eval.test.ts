/**
 * `npm run cli -- eval`, run as a user would: the sample against its int8 version (made by the
 * page's own compression code), on its labeled set, on a folder of input sets, and on
 * synthesized inputs; bad options exit with 2 and one line.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { compressModel } from '../compress/compress';
import { makeRecipe } from '../compress/recipe';
import { encodeModel } from '../onnx/codec';
import { emptyTensor, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { loadModel } from '../onnx/load';
import { DataType, type Tensor } from '../onnx/types';
import { compareOutput, summarizeFidelity } from '../bench/metrics';
import { formatEval, type EvalReport } from './eval';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SAMPLE = path.join(root, 'public/sample/digits-cnn.onnx');
const TEST_SET = path.join(root, 'public/sample/digits-test.json');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const int8 = path.join(tmp, 'digits.int8.onnx');
const loaded = loadModel([{ name: 'digits-cnn.onnx', bytes: new Uint8Array(fs.readFileSync(SAMPLE)) }]);
fs.writeFileSync(int8, encodeModel(compressModel(loaded.model, makeRecipe('portable', { weights: 'int8' })).model));

describe('cli eval', () => {
  it("compares the sample with its int8 version on the sample's labeled set", async () => {
    const r = cli(['eval', SAMPLE, int8, '--samples', TEST_SET, '--json', '--max-seconds', '0.5']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as EvalReport;
    expect(report.original.accuracy).toMatchObject({ correct: 447, total: 450, output: 'logits' });
    expect(report.inputs).toMatch(/450 labeled samples from digits-test\.json in 8 batches/);
    const [f] = report.fidelity;
    expect(f.output).toBe('logits');
    expect(f.rows).toBe(450);
    expect(f.sets).toBe(8);

    // the same figures, computed here directly with onnxruntime-node on the whole set at once
    const set = JSON.parse(fs.readFileSync(TEST_SET, 'utf8')) as { inputs: number[][]; labels: number[] };
    const x = new Float32Array(set.inputs.flat());
    const logits = async (file: string) => {
      const s = await ort.InferenceSession.create(file);
      const out = await s.run({ input: new ort.Tensor('float32', x, [450, 1, 8, 8]) });
      await s.release();
      return out.logits.data as Float32Array;
    };
    const [a, b] = [await logits(SAMPLE), await logits(int8)];
    let agree = 0;
    let correct = 0;
    let worstCos = 1;
    for (let i = 0; i < 450; i++) {
      const ra = Array.from(a.subarray(i * 10, i * 10 + 10));
      const rb = Array.from(b.subarray(i * 10, i * 10 + 10));
      const am = ra.indexOf(Math.max(...ra));
      const bm = rb.indexOf(Math.max(...rb));
      if (am === bm) agree++;
      if (bm === set.labels[i]) correct++;
      let d = 0;
      let na = 0;
      let nb = 0;
      for (let k = 0; k < 10; k++) {
        d += ra[k] * rb[k];
        na += ra[k] ** 2;
        nb += rb[k] ** 2;
      }
      worstCos = Math.min(worstCos, d / Math.sqrt(na * nb));
    }
    expect(f.top1.agree).toBe(agree);
    expect(report.compressed.accuracy!.correct).toBe(correct);
    // the worst single sample's cosine, as computed here on the whole set in one batch
    expect(Math.abs(f.rowCosine.worst - worstCos)).toBeLessThan(1e-5);
    expect(f.cosine.worst).toBeGreaterThan(0.9999);
    expect(report.sizeRatio).toBeLessThan(0.3);
    expect(report.original.latency.runs).toBeGreaterThan(0);
    // one speed-up: original / compressed, the median of the side-by-side rounds' ratios, and
    // the times printed beside it agree with it (original / speed-up = compressed)
    expect(report.speedup).toBeGreaterThan(0);
    expect(report.sideBySide.speedup).toBe(report.speedup);
    expect(report.sideBySide.rounds).toBeGreaterThanOrEqual(6);
    expect(report.sideBySide.originalMs / report.sideBySide.compressedMs).toBeCloseTo(report.speedup, 9);
  });

  it('reads a folder of input sets, synthesizes inputs without one, and prints a readable table', () => {
    const dir = path.join(tmp, 'samples');
    fs.mkdirSync(dir);
    const one = (v: number) => ({ input: { dims: [2, 1, 8, 8], data: Array.from({ length: 128 }, (_, i) => ((i * 7) % 17) / 16 + v) } });
    fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(one(0)));
    fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(one(0.1)));
    const r = cli(['eval', SAMPLE, int8, '--samples', dir, '--max-runs', '5']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Inputs: latency: input float32\[2, 1, 8, 8\] \(the first given set\); fidelity: 2 given input sets/);
    expect(r.stdout).toMatch(/top-1 agreement\s+\d+\/4 = /);
    expect(r.stdout).toMatch(/speed-up: \d+\.\d\dx \((\d+\.\d\dx (faster|slower)|the same speed); original time \/ compressed time, the median of 5 side-by-side rounds' ratios/);
    expect(r.stdout).toMatch(/median \(own run\)/);
    const s = cli(['eval', SAMPLE, int8, '--dims', 'batch=3', '--max-runs', '5', '--json']);
    const report = JSON.parse(s.stdout) as EvalReport;
    expect(report.inputs).toMatch(/input float32\[3, 1, 8, 8\] \(synthesized\); fidelity: 4 synthesized input sets/);
    expect(report.original.accuracy).toBeUndefined();
    expect(report.fidelity[0].rows).toBe(12);
  });

  it('exits with 2 and one line for bad input', () => {
    const one = cli(['eval', SAMPLE]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/^error: eval needs ORIGINAL and COMPRESSED model files, got 1 file/);
    const dims = cli(['eval', SAMPLE, int8, '--dims', 'batch=0']);
    expect(dims.code).toBe(2);
    expect(dims.stderr).toMatch(/--dims: "batch=0" is not NAME=SIZE/);
    const bad = path.join(tmp, 'bad.csv');
    fs.writeFileSync(bad, '1,2,3\n');
    const csv = cli(['eval', SAMPLE, int8, '--samples', bad]);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toMatch(/--samples: bad\.csv: a sample has 2 values; the model's input "input" \[batch, 1, 8, 8\] needs 64/);
    expect(csv.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the input sizes to set when the model cannot run on the synthesized inputs', () => {
    // a 3x3 Conv without padding on an image whose size is a dim named "q"
    const w: Tensor = emptyTensor({ name: 'w', dataType: DataType.FLOAT, dims: [2, 1, 3, 3], rawData: new Uint8Array(72) });
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('Conv', ['x', 'w'], ['y'])],
        initializers: [w],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 1, 'q', 'q'])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [1, 2, 'r', 'r'])],
      }),
      opsetImport: [{ domain: '', version: 13 }],
    });
    const file = path.join(tmp, 'conv-dyn.onnx');
    fs.writeFileSync(file, encodeModel(model));
    // "q" says nothing of its size: refused before anything runs (it was run at 1 and failed)
    const r = cli(['eval', file, file, '--max-runs', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: the size of dim "q" (x[2], x[3]) is not fixed by the model and its name says nothing of it; give --dims q=N, or real inputs with --samples');
    // a size the runtime refuses: its reason, and what to change
    const small = cli(['eval', file, file, '--max-runs', '2', '--dims', 'q=2']);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/error: conv-dyn\.onnx: onnxruntime-node could not run it on latency: x float32\[1, 1, 2, 2\] \(synthesized\).*Set the input sizes with --dims NAME=N/);
    const ok = cli(['eval', file, file, '--max-runs', '2', '--dims', 'q=8']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/x float32\[1, 1, 8, 8\]/);
  });

  /** formatEval's text for these fidelity figures (latency and sizes made up). */
  const evalText = (fidelity: ReturnType<typeof summarizeFidelity>): string => {
    const latency = { runs: 10, medianMs: 2, p90Ms: 2, p99Ms: 2, meanMs: 2, minMs: 2, maxMs: 2, throughputPerS: 500 };
    const model = (file: string) => ({ file, bytes: 1000, sessionMs: 5, firstRunMs: 3, warmUpMs: [2, 2], latency, stop: 'stable' as const });
    return formatEval({
      runtime: 'onnxruntime-node',
      inputs: 'synthesized',
      original: model('a.onnx'),
      compressed: model('b.onnx'),
      speedup: 1,
      sideBySide: { speedup: 1, rounds: 6, originalMs: 2, compressedMs: 2 },
      sizeRatio: 1,
      fidelity,
    }).join('\n');
  };

  it('prints a scalar output with decisions at 0.5 and a near-zero one with abs error, no cosine of noise', () => {
    const text = evalText(
      summarizeFidelity([[compareOutput('prob', [0.9, 0.4], [0.8, 0.6], [2, 1]), compareOutput('residual', [1e-9, -1e-9], [-1e-9, 1e-9], [1, 2])]]),
    );
    expect(text).toContain('agreement at 0.5  1/2 = 50.00%');
    expect(text).toMatch(/cosine\s+0\.\d{6} \(over all 2 samples\)/);
    expect(text).toContain('cosine            n/a: both outputs are ~0');
    expect(text).not.toMatch(/cosine\s+-?[01]\.0+ \/ /); // no cosine of noise (it was -1.000000)
  });

  it("prints a probability map by pixel (a text detector's [1, 1, H, W]), not as rows of its last axis", () => {
    const ref = [0.9, 0.55, 0.1, 0.2, 0.45, 0.8];
    const text = evalText(summarizeFidelity([[compareOutput('map', ref, [0.95, 0.45, 0.1, 0.2, 0.52, 0.85], [1, 1, 2, 3])], [compareOutput('map', ref, ref, [1, 1, 2, 3])]]));
    expect(text).toContain('map (12 pixels of 1, 2 sets)');
    expect(text).toContain('agreement         10/12 = 83.33% (pixels whose decision at 0.5 agrees; worst set 66.67%)');
    expect(text).toMatch(/cosine\s+0\.\d{6} \/ 0\.\d{6}\n/);
    expect(text).not.toContain('top-1');
    expect(text).not.toContain('KL');
  });
});
