/**
 * Trade-off explorer benchmark: `npm run bench:explore [-- MODEL.onnx [LABELS.json]] [-- --candidates N] [--candidate-only] [--samples DIR ...the CLI's data flags]`
 *
 * Default: the built-in sample with its labeled set, and the ~1,450-node GPT-style export in
 * .cache/bench-graph/gpt14-opset17.onnx when present (copy it from the main checkout's cache).
 * Per model, in onnxruntime-node with one thread (the page runs one wasm thread per worker):
 *   - one sensitivity candidate (one layer at int4) measured the explorer's way (compress the
 *     cleaned base with only that layer named, encode, load, run the inputs, score) against the
 *     naive way measured in the same run (the whole pipeline per candidate: compressModel on the
 *     original model with clean-up, encode, load, run, score): medians of --candidates runs and
 *     their ratio;
 *   - scoring one candidate's outputs (every metric of every input set) against running its input
 *     sets, same run: their ratio;
 *   - the full sensitivity scan (every layer x int8, int4, prune 25/50/75%) and one size search
 *     (budget: uniform int4's projected size), wall time and models measured.
 * Prints the figures; the machine may be shared, so compare the ratio, not the absolute times.
 */
import * as fs from 'node:fs';
import { CandidateEvaluator, type OpenSession } from '../src/bench/explore/evaluator';
import { openNodeSession } from '../src/bench/explore/testing/node-session';
import { Explorer } from '../src/bench/explore/search';
import { runSets, scoreOutputs } from '../src/bench/explore/score';
import { runSensitivity, PROBE_IDS } from '../src/bench/explore/sensitivity';
import { SizeModel } from '../src/bench/explore/size';
import { parseLabeledJson } from '../src/bench/labeled';
import { planInputs } from '../src/bench/plan';
import { compressModel, modelTensorBytes } from '../src/compress/compress';
import { projectionInput } from '../src/compress/project';
import { makeRecipe } from '../src/compress/recipe';
import { encodeModel } from '../src/onnx/codec';
import { findLayers } from '../src/onnx/layers';
import { loadModel } from '../src/onnx/load';
import { summarizeModel } from '../src/onnx/summary';
import { DATA_FLAGS, type DataFlags } from '../src/cli/data';
import { evaluationData } from '../src/cli/eval';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CANDIDATES = flag('--candidates', 5);
/** `--candidate-only`: the one-candidate figures alone (no sensitivity scan, no search) */
const CANDIDATE_ONLY = args.includes('--candidate-only');
const files = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--') && args[i - 1] !== '--candidate-only'));
/** the CLI's data flags (`--samples DIR --image-size HxW ...`): the candidates run on those inputs (their evaluation part), as `cli autotune` runs them */
const dataFlags: DataFlags = {};
for (const [flagName, key] of Object.entries(DATA_FLAGS)) {
  const i = args.indexOf(flagName);
  if (i >= 0) dataFlags[key] = args[i + 1];
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function bench(file: string, labels?: string) {
  const loaded = loadModel(new Uint8Array(fs.readFileSync(file)));
  const summary = summarizeModel(loaded);
  const labeled = labels ? parseLabeledJson(labels, JSON.parse(fs.readFileSync(labels, 'utf8')), summary.inputs) : undefined;
  const data = dataFlags.samples === undefined ? undefined : await evaluationData(dataFlags, summary, file);
  const plan = data ? planInputs(summary.inputs, { dimValues: data.dimValues, ...data.samples }) : planInputs(summary.inputs, { labeled, syntheticSets: 4 });
  const metric = labeled ? 'accuracy' : 'cosine';
  const open: OpenSession = openNodeSession;
  const t0 = performance.now();
  const ev = await CandidateEvaluator.create(loaded.model, plan, open);
  const setupMs = performance.now() - t0;
  console.log(`\n${file}: ${summary.nodeCount} nodes, ${ev.layers.length} layers, ${(summary.weightBytes / 1e6).toFixed(2)} MB of weights; inputs: ${plan.description}`);
  console.log(`  setup (clean-up once, the original's outputs once): ${sec(setupMs)}`);

  // one candidate: the explorer's way versus the whole pipeline, same run
  const keys = ev.layers.slice(0, CANDIDATES).map((l) => l.key);
  while (keys.length < CANDIDATES) keys.push(ev.layers[keys.length % ev.layers.length].key);
  const fast: number[] = [];
  const naive: number[] = [];
  const refSession = await open(encodeModel(loaded.model));
  const reference = await runSets(refSession, plan);
  await refSession.release();
  for (const key of keys) {
    const recipe = makeRecipe('portable', {}, { [key]: { weights: 'int4' } });
    let t = performance.now();
    const a = await ev.measure(recipe);
    fast.push(performance.now() - t);
    t = performance.now();
    const bytes = encodeModel(compressModel(loaded.model, recipe).model);
    const s = await open(bytes);
    const b = scoreOutputs(plan, reference, await runSets(s, plan));
    await s.release();
    naive.push(performance.now() - t);
    if (Math.abs(a.score.cosine - b.cosine) > 1e-9) throw new Error(`${key}: the two ways disagree (cosine ${a.score.cosine} vs ${b.cosine})`);
  }
  const f = median(fast);
  const n = median(naive);
  console.log(`  one candidate: ${f.toFixed(0)} ms (explorer) vs ${n.toFixed(0)} ms (whole pipeline): ${(f / n).toFixed(2)}x`);
  // scoring a candidate's outputs against the original's (every metric of every set; the original's own outputs, scored as a candidate's: the same work), against running the sets, same run
  {
    const s = await open(encodeModel(loaded.model));
    const runs: number[] = [];
    const scores: number[] = [];
    for (let i = 0; i < CANDIDATES; i++) {
      let t = performance.now();
      const outputs = await runSets(s, plan);
      runs.push(performance.now() - t);
      t = performance.now();
      scoreOutputs(plan, reference, outputs);
      scores.push(performance.now() - t);
    }
    await s.release();
    const r = median(runs);
    const sc = median(scores);
    console.log(`  scoring one candidate's outputs: ${sc.toFixed(1)} ms against ${r.toFixed(1)} ms to run its ${plan.fidelitySets.length} input sets (${(sc / r).toFixed(2)}x)`);
  }

  if (CANDIDATE_ONLY) return;
  let done = 0;
  const total = ev.layers.length * PROBE_IDS.length;
  const t1 = performance.now();
  const entries = await runSensitivity(ev.layers, ev.baseline, (r, s) => ev.measure(r, s, { latency: false }), {
    target: 'portable',
    metric,
    onEntry: () => {
      done++;
      if (done % 25 === 0) process.stderr.write(`  sensitivity ${done}/${total}\r`);
    },
  });
  const sensMs = performance.now() - t1;
  console.log(`  sensitivity scan: ${entries.length} candidates in ${sec(sensMs)} (${(sensMs / entries.length).toFixed(0)} ms each)`);

  let measured = 0;
  const sizes = new SizeModel(projectionInput(loaded.model, findLayers(loaded.model), modelTensorBytes(loaded.model)), 'portable');
  const ex = new Explorer({
    layers: ev.layers,
    sizes,
    entries,
    metric,
    baseline: ev.baseline,
    originalFileBytes: ev.originalBytes,
    originalLatencyMs: ev.baselineLatencyMs,
    allowPrune: true,
    measure: (r, s) => {
      measured++;
      return ev.measure(r, s);
    },
  });
  const t2 = performance.now();
  const uniform = await ex.uniform();
  const int4 = uniform.find((u) => u.label === 'uniform int4')!;
  const found = await ex.searchBudget(int4.size);
  const searchMs = performance.now() - t2;
  const show = (v: number) => (metric === 'cosine' ? v.toFixed(5) : `${(v * 100).toFixed(2)}%`);
  console.log(`  search at the uniform int4 size (${(int4.size / 1e3).toFixed(1)} kB): ${sec(searchMs)}, ${measured} models measured (6 uniform + search)`);
  console.log(`    uniform int4 ${metric} ${show(int4.metric)}; found ${found ? `${show(found.metric)} at ${(found.size / 1e3).toFixed(1)} kB (${found.kind})` : 'nothing'}`);
}

async function main() {
  if (files.length > 0) await bench(files[0], files[1]);
  else {
    await bench('public/sample/digits-cnn.onnx', 'public/sample/digits-test.json');
    const gpt = '.cache/bench-graph/gpt14-opset17.onnx';
    if (fs.existsSync(gpt)) await bench(gpt);
    else console.log(`\n(${gpt} not found: copy it from the main checkout's .cache to time a 1,000-node model)`);
  }
}

void main();
