/**
 * The model-level check on a probability output (a Sigmoid's): compared in log-odds, so every
 * sample's decision margin counts, not only the sample nearest 0.5 (hey-jarvis at 50% pruning: the
 * repair lowered the log-odds error 7.7x on held-out samples while the probability's squared
 * error, all of it from one sample, said about the same). Checked in onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Graph, type Model } from '../../onnx/types';
import type { Sample } from '../activations/calibrate';
import { checkNote, checkRecovery, logOdds, originalOutputsCache, probabilityOutputs } from './check';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();

/** y = [Sigmoid](w·x + b), x [1, 1] */
function scoreModel(w: number, b: number, sigmoid: boolean): Model {
  const nodes = [makeNode('Mul', ['x', 'w'], ['wx']), makeNode('Add', ['wx', 'b'], [sigmoid ? 'z' : 'y'])];
  if (sigmoid) nodes.push(makeNode('Sigmoid', ['z'], ['y']));
  return makeModel({
    graph: makeGraph({
      nodes,
      initializers: [makeTensor('w', DataType.FLOAT, [1], new Float32Array([w])), makeTensor('b', DataType.FLOAT, [1], new Float32Array([b]))],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 1])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, 1])],
    }),
  });
}

const branch = (name: string, nodes: ReturnType<typeof makeNode>[], output: string): Graph => makeGraph({ name, nodes, outputs: [makeValueInfo(output, DataType.FLOAT, [1, 1])] });

describe('probabilityOutputs', () => {
  it("names a Sigmoid's outputs, through reshapes and an If whose branches both give one; not logits, not Softmax", () => {
    expect(probabilityOutputs(scoreModel(1, 0, true))).toEqual(['y']);
    expect(probabilityOutputs(scoreModel(1, 0, false))).toEqual([]);
    const graph = (nodes: ReturnType<typeof makeNode>[], outputs: string[]) =>
      makeModel({ graph: makeGraph({ nodes, inputs: [makeValueInfo('x', DataType.FLOAT, [1, 4])], outputs: outputs.map((o) => makeValueInfo(o, DataType.FLOAT)) }) });
    const sig = makeNode('Sigmoid', ['x'], ['p']);
    expect(probabilityOutputs(graph([sig, makeNode('Flatten', ['p'], ['f']), makeNode('Identity', ['f'], ['out'])], ['out', 'p']))).toEqual(['out', 'p']);
    expect(probabilityOutputs(graph([makeNode('Softmax', ['x'], ['s'], [attr.int('axis', 1)])], ['s']))).toEqual([]);
    expect(probabilityOutputs(graph([sig, makeNode('Mul', ['p', 'p'], ['q'])], ['q']))).toEqual([]);
    // hey-jarvis: If(p ≥ 0.5) then a verifier's Sigmoid, else Identity(p) from the outer graph
    const cond = [sig, makeNode('ReduceMax', ['p'], ['m']), makeNode('Cast', ['m'], ['c'], [attr.int('to', DataType.BOOL)])];
    const verifier = branch('then', [makeNode('Sigmoid', ['x'], ['p2'])], 'p2');
    const same = branch('else', [makeNode('Identity', ['p'], ['p1'])], 'p1');
    const logits = branch('else', [makeNode('Identity', ['x'], ['x1'])], 'x1');
    const ifNode = (elseBranch: Graph) => makeNode('If', ['c'], ['out'], [attr.graph('then_branch', verifier), attr.graph('else_branch', elseBranch)]);
    expect(probabilityOutputs(graph([...cond, ifNode(same)], ['out']))).toEqual(['out']);
    expect(probabilityOutputs(graph([...cond, ifNode(logits)], ['out']))).toEqual([]);
  });
});

describe('checkRecovery on a probability output', () => {
  // scores far below 0.5 and one at 0.27, as a wake-word model's on speech without the word
  const xs = [-12, -10, -8, -6, -1];
  const samples: Sample[] = xs.map((x) => ({ x: { dtype: 'float32', dims: [1, 1], data: new Float32Array([x]) } }));
  // a: every log-odds 0.05 too high; b: exact at the largest score, 1.5x the log-odds' distance from it elsewhere
  const models = (sigmoid: boolean) => [scoreModel(1, 0, sigmoid), scoreModel(1, 0.05, sigmoid), scoreModel(1.5, 0.5, sigmoid)].map(encodeModel);

  it('keeps the result whose log-odds are closer (the probabilities alone would choose the other), and the note says what was compared', async () => {
    const [original, a, b] = models(true);
    const probabilities = probabilityOutputs(scoreModel(1, 0, true));
    // a as "round to nearest", b as "recovered": b is exact where p is largest, so its probabilities are closer
    const plain = await checkRecovery(original, a, b, samples, run, 'calibration');
    expect(plain.keep).toBe(true);
    expect(plain.logOdds).toEqual([]);
    const c = await checkRecovery(original, a, b, samples, run, 'calibration', probabilities);
    expect(c.keep).toBe(false);
    expect(c.logOdds).toEqual(['y']);
    // the errors are those of the log-odds of onnxruntime's probabilities
    const y = async (bytes: Uint8Array) => Promise.all(samples.map(async (s) => ((await run(bytes, s)).y.data as Float32Array)[0]));
    const [p0, pa, pb] = [await y(original), await y(a), await y(b)];
    const energy = p0.reduce((s, p) => s + logOdds(p) ** 2, 0);
    const err = (p: number[]) => p.reduce((s, v, i) => s + (logOdds(v) - logOdds(p0[i])) ** 2, 0) / energy;
    expect(c.errorRtn).toBeCloseTo(err(pa), 12);
    expect(c.errorRecovered).toBeCloseTo(err(pb), 12);
    expect(c.errorRtn).toBeLessThan(1e-3);
    expect(c.errorRecovered).toBeGreaterThan(0.1);
    expect(checkNote(c, ['gptq'])).toBe(
      `recovery gptq: the model's outputs on 5 calibration samples were further from the original than without recovery (relative squared error ${c.errorRecovered.toExponential(2)} vs ${c.errorRtn.toExponential(2)}; output "y", a probability (a Sigmoid's), compared in log-odds): the result without recovery kept (round to nearest, or pruning alone)`,
    );
    // swapped, the closer log-odds are kept
    expect((await checkRecovery(original, b, a, samples, run, 'calibration', probabilities)).keep).toBe(true);
  });

  it('logits (no Sigmoid) are compared as they are, and the note has no log-odds words', async () => {
    const [original, a, b] = models(false);
    const c = await checkRecovery(original, a, b, samples, run, 'calibration', probabilityOutputs(scoreModel(1, 0, false)));
    expect(c.logOdds).toEqual([]);
    expect(c.keep).toBe(false);
    expect(checkNote(c, ['gptq'])).not.toMatch(/log-odds/);
  });

  it('says each sample as it is done, and Cancel stops it before the next sample', async () => {
    const [original, a, b] = models(false);
    const seen: string[] = [];
    const c = await checkRecovery(original, a, b, samples, run, 'calibration', [], new Map(), { onProgress: (done, total) => seen.push(`${done}/${total}`) });
    expect(c.samples).toBe(5);
    expect(seen).toEqual(['0/5', '1/5', '2/5', '3/5', '4/5', '5/5']);
    const stop = new AbortController();
    let runs = 0;
    const counted = (bytes: Uint8Array, s: Sample) => (runs++, run(bytes, s));
    const stopped = checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { signal: stop.signal, onProgress: (done) => done === 2 && stop.abort() });
    await expect(stopped).rejects.toMatchObject({ code: 'aborted' });
    // two samples of three models each, then no more
    expect(runs).toBe(6);
  });

  it("the original's outputs kept for the next check on the same model and samples: it runs only round to nearest and the recovered model, with the same result", async () => {
    const [original, a, b] = models(false);
    const ran = new Map<Uint8Array, number>();
    const counted = (bytes: Uint8Array, s: Sample) => (ran.set(bytes, (ran.get(bytes) ?? 0) + 1), run(bytes, s));
    const cache = originalOutputsCache();
    const first = await checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { original: cache('m1/d1') });
    expect(ran.get(original)).toBe(5);
    const second = await checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { original: cache('m1/d1') });
    expect(ran.get(original)).toBe(5);
    expect(ran.get(a)).toBe(10);
    expect(second).toEqual(first);
    // other data (or model): run again, and the earlier outputs dropped
    await checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { original: cache('m1/d2') });
    expect(ran.get(original)).toBe(10);
    await checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { original: cache('m1/d1') });
    expect(ran.get(original)).toBe(15);
    // over its bytes (one sample's output is 4 bytes here): only what fits is kept
    const small = originalOutputsCache(8);
    await checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { original: small('k') });
    await checkRecovery(original, a, b, samples, counted, 'calibration', [], new Map(), { original: small('k') });
    expect(ran.get(original)).toBe(15 + 5 + 3);
  });

  it('log-odds of probabilities clamped to [1e-7, 1 − 1e-7]', () => {
    expect(logOdds(0.5)).toBe(0);
    expect(logOdds(0)).toBeCloseTo(-16.118, 3);
    expect(logOdds(1)).toBeCloseTo(16.118, 3);
    expect(logOdds(1e-3)).toBeCloseTo(Math.log(1e-3 / (1 - 1e-3)), 12);
  });
});
