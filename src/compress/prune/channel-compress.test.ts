/**
 * Clean-up and channel pruning through compressModel: the digits sample (fold BatchNormalization,
 * prune 25% of conv1 and fc1: accuracy on its labeled test set), the compression fixtures and the
 * committed real exports. Results load in onnxruntime-node; the report says what was pruned,
 * what was refused and why, and what each clean-up pass did.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { findLayers } from '../../onnx/layers';
import { assignNodeNames } from '../../onnx/names';
import { graphRecordsByPath, constScope } from '../graph-edit';
import { effectiveWeight, weightAxes } from '../weights';
import type { Model } from '../../onnx/types';
import { compressModel } from '../compress';
import { floatFeeds, run } from '../cleanup/testing/ort-check';
import { makeRecipe, type PartialLayerSettings, type Recipe } from '../recipe';
import { cnnFixture, constantsOpset9Fixture, ifSubgraphFixture, mlpFixture } from '../testing/fixtures';

const channel = (prune: number): PartialLayerSettings => ({ prune, pruneMethod: 'channel' });

/** Each layer's output channels: the length of its weight's per-channel axis, as the layer reads it. */
function outputChannels(model: Model): Map<string, number> {
  const records = graphRecordsByPath(model);
  const out = new Map<string, number>();
  for (const layer of findLayers(model)) {
    const w = layer.weights.find((x) => x.role === 'weight');
    if (!w) continue;
    const shape = effectiveWeight(w, constScope(records.get(layer.graphPath)!), false).shape;
    const axis = weightAxes(layer, w.inputIndex, shape.length).channelAxis;
    if (axis !== undefined) out.set(layer.key, shape[axis]);
  }
  return out;
}

describe('the digits sample: fold BatchNormalization, then prune 25% of conv1 and fc1', () => {
  const dir = new URL('../../../public/sample/', import.meta.url);
  const bytes = new Uint8Array(readFileSync(new URL('digits-cnn.onnx', dir)));
  const test = JSON.parse(readFileSync(new URL('digits-test.json', dir), 'utf8')) as { inputName: string; shape: number[]; labels: number[]; inputs: number[][] };
  async function correct(b: Uint8Array): Promise<number> {
    const s = await ort.InferenceSession.create(b);
    const n = test.labels.length;
    const x = new Float32Array(n * 64);
    test.inputs.forEach((row, i) => x.set(row, i * 64));
    const logits = (await s.run({ [test.inputName]: new ort.Tensor('float32', x, [n, ...test.shape]) }))[s.outputNames[0]].data as Float32Array;
    let ok = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
      if (best === test.labels[i]) ok++;
    }
    return ok;
  }
  const layers = { '/features/conv1/Conv': channel(0.25), '/classifier/fc1/Gemm': channel(0.25) };

  const cases: [string, Recipe, number][] = [
    ['clean-up only (fp32)', makeRecipe('portable', {}), 447],
    ['conv1 and fc1 pruned 25% (fp32)', makeRecipe('portable', {}, layers), 425],
    ['conv1 and fc1 pruned 25%, int8 per-channel', makeRecipe('portable', { weights: 'int8' }, layers), 425],
    ['every layer pruned 25% (fc2 refused: its outputs are the logits)', makeRecipe('portable', channel(0.25)), 425],
  ];
  for (const [label, recipe, min] of cases) {
    it(`${label}: at least ${min}/450 correct (float: 447)`, async () => {
      const { model, report } = compressModel(decodeModel(bytes), recipe);
      const out = encodeModel(model);
      const ok = await correct(out);
      const fold = report.cleanup!.passes.find((p) => p.pass === 'foldBatchNorm')!;
      expect(fold.count).toBe(2);
      console.log(
        `digits ${label}: ${ok}/450 correct; params ${report.params!.before} -> ${report.params!.after}; file ${bytes.length} -> ${out.length} bytes; ` +
          report.layers.map((r) => `${r.key}=${r.applied}${r.error ? ` (refused: ${r.error})` : ''}`).join(', '),
      );
      expect(ok).toBeGreaterThanOrEqual(min);
      expect(out.length).toBeLessThan(bytes.length);
      if (recipe.layers['/features/conv1/Conv'] || recipe.defaults.prune) {
        const byKey = Object.fromEntries(report.layers.map((r) => [r.key, r]));
        expect(byKey['/features/conv1/Conv'].applied).toMatch(/^channel-pruned/);
        expect(byKey['/features/conv1/Conv'].notes[0]).toBe('output channels 16 -> 12 (removed 4 by L2 norm)');
        expect(byKey['/features/conv1/Conv']).toMatchObject({ params: 16 * 9 + 16, paramsAfter: 12 * 9 + 12 });
        expect(byKey['/classifier/fc1/Gemm'].notes).toContain('output channels 64 -> 48 (removed 16 by L2 norm)');
        expect(byKey['/classifier/fc2/Gemm'].notes).toContain('input channels follow /classifier/fc1/Gemm: 16 of 64 removed');
        expect(report.params!.after).toBeLessThan(report.params!.before * 0.8);
      }
      if (recipe.defaults.prune) {
        expect(report.pruning!.refused).toEqual([{ layers: ['/classifier/fc2/Gemm'], reason: 'its channels reach the graph output logits' }]);
        expect(report.layersFailed).toBe(1);
      }
    });
  }
});

describe('the compression fixtures, every layer channel-pruned 50%', () => {
  const fixtures = [cnnFixture, () => mlpFixture(), constantsOpset9Fixture, ifSubgraphFixture];
  for (const make of fixtures) {
    const fx = make();
    it(`${fx.name}: loads and runs, the accepted layers shrink, the others say why; same bytes twice`, async () => {
      const recipe = makeRecipe('portable', channel(0.5));
      const { model, report } = compressModel(fx.model, recipe);
      const again = compressModel(fx.model, recipe);
      expect(Buffer.from(encodeModel(again.model)).equals(Buffer.from(encodeModel(model)))).toBe(true);
      const feeds = floatFeeds(fx.inputs);
      if (fx.name === 'if-subgraph') feeds.cond = new ort.Tensor('bool', [true], []);
      const outputs = await run(model, feeds);
      const original = await run(fx.model, feeds);
      for (const k of Object.keys(original)) expect(outputs[k].dims).toEqual(original[k].dims);
      const summary = report.layers.map((r) => [r.key, r.error ?? r.applied]);
      console.log(`${fx.name}: params ${report.params!.before} -> ${report.params!.after}; ${summary.map((x) => x.join('=')).join(', ')}`);
      for (const r of report.layers) {
        if (r.error) expect(r.applied).toBe('unchanged');
        else expect(r.applied).toBe('channel-pruned');
      }
      const expected: Record<string, [string, string][]> = {
        cnn: [
          ['conv1', 'channel-pruned'],
          ['conv2', 'channel-pruned'],
          ['fc', 'its channels reach the graph output logits'],
        ],
        mlp: [
          ['fc0', 'channel-pruned'],
          ['fc1', 'channel-pruned'],
          ['fc2', 'its channels reach the graph output y'],
        ],
        'constants-opset9': [
          ['Conv_1', 'channel-pruned'],
          ['MatMul_6', 'channel-pruned'],
          ['MatMul_11', 'channel-pruned'],
          ['Gemm_17', 'its channels reach the graph output logits'],
        ],
        'if-subgraph': [
          ['then_mm', 'its channels reach the graph output y_then'],
          ['else_mm', 'its channels reach the graph output y_else'],
        ],
      };
      expect(summary).toEqual(expected[fx.name]);
      if (report.layers.some((r) => !r.error)) expect(report.params!.after).toBeLessThan(report.params!.before);
      // as asked: every accepted layer keeps exactly C - round(0.5 C) of its C output channels
      const named = structuredClone(fx.model);
      assignNodeNames(named);
      const before = outputChannels(named);
      const after = outputChannels(model);
      for (const r of report.layers) {
        const c = before.get(r.key) as number;
        expect(after.get(r.key), r.key).toBe(r.error ? c : c - Math.round(0.5 * c));
      }
    });
  }

  it('composes with int8 and int4: pruned first, then quantized', async () => {
    const fx = cnnFixture();
    for (const weights of ['int8', 'int4'] as const) {
      const { model, report } = compressModel(fx.model, makeRecipe('portable', { weights, granularity: 'per-channel', ...channel(0.25) }));
      const enc = weights === 'int8' ? 'int8-cast-mul' : 'int4-nibbles-mul';
      // fc is refused (its outputs are the logits) and left as it was, not quantized either
      expect(report.layers.map((r) => r.applied)).toEqual([`channel-pruned, ${enc}`, `channel-pruned, ${enc}`, 'unchanged']);
      expect((await run(model, floatFeeds(fx.inputs))).logits.dims).toEqual([2, 10]);
    }
  });

  it('with clean-up off the BatchNormalization stays and loses the same channels', async () => {
    const fx = cnnFixture();
    const { model, report } = compressModel(fx.model, { ...makeRecipe('portable', {}, { conv1: channel(0.5) }), cleanup: false });
    expect(report.cleanup!.passes.every((p) => !p.enabled)).toBe(true);
    expect(report.pruning!.groups[0].rewired).toEqual(['bn1', 'conv2']);
    expect(model.graph!.initializers.find((t) => t.name === 'bn1.var')!.dims).toEqual([4]);
    expect((await run(model, floatFeeds(fx.inputs))).logits.dims).toEqual([2, 10]);
  });
});

describe('the committed real exports, every layer channel-pruned 50%', () => {
  const real = (name: string) => {
    const dir = new URL('../../testing/real/', import.meta.url);
    const ref = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as { inputs: Record<string, { dims: number[]; data: number[] }> };
    const feeds = Object.fromEntries(Object.entries(ref.inputs).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.from(v.data), v.dims)]));
    return { bytes: new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir))), feeds };
  };
  const expected: Record<string, [string, string][]> = {
    'cnn-opset9': [
      ['/Conv', 'channel-pruned'],
      ['/conv2/Conv', 'channel-pruned'],
      ['/fc/Gemm', 'its channels reach the graph output logits'],
    ],
    'transformer-opset17': [
      ['MatMul_12', 'its channels flow into Shape "Shape_14", which this pass cannot rewire'],
      ['MatMul_81', 'its channels are tied to the graph input tokens'],
      ['MatMul_85', 'channel-pruned'],
      ['MatMul_95', 'its channels reach the graph output hidden'],
    ],
    'lstm-opset11': [
      ['/LSTM', 'channel pruning handles Conv, ConvTranspose, Gemm and MatMul layers, not LSTM'],
      ['/head/Gemm', 'its channels reach the graph output logits'],
    ],
    // fc2's weight is computed (w2 + a sparse delta): not a layer, and not a constant to slice
    'helper-opset13': [['fc1', 'MatMul "fc2" multiplies two computed tensors']],
  };
  for (const name of Object.keys(expected)) {
    it(`${name}: loads and runs; pruned or refused as listed`, async () => {
      const { bytes, feeds } = real(name);
      const { model, report } = compressModel(decodeModel(bytes), makeRecipe('portable', channel(0.5)));
      const out = encodeModel(model);
      console.log(
        `${name}: params ${report.params!.before} -> ${report.params!.after}; file ${bytes.length} -> ${out.length} bytes; ` +
          report.layers.map((r) => `${r.key}=${r.error ? `refused (${r.error})` : r.applied}`).join(', ') +
          `; clean-up: ${report.cleanup!.passes.filter((p) => p.count > 0).map((p) => p.summary).join('; ')}`,
      );
      expect(report.layers.map((r) => [r.key, r.error ?? r.applied])).toEqual(expected[name]);
      const s = await ort.InferenceSession.create(out);
      const got = await s.run(feeds);
      for (const k of s.outputNames) expect(got[k].dims.length).toBeGreaterThan(0);
      if (report.layers.some((r) => !r.error)) expect(report.params!.after).toBeLessThan(report.params!.before);
      else expect(report.params!.after).toBe(report.params!.before);
    });
  }
});

describe('clean-up inside compressModel', () => {
  it('runs before everything, reports each pass, and keeps the outputs of an all-fp32 recipe (1e-5)', async () => {
    const fx = cnnFixture();
    const { model, report } = compressModel(fx.model, makeRecipe('portable', {}));
    expect(report.cleanup!.passes.map((p) => `${p.pass}: ${p.summary}`)).toEqual([
      'constantsToInitializers: 0 Constants moved to initializers',
      'dropIdentity: 0 Identity/Dropout nodes removed',
      'foldBatchNorm: 1 BatchNormalization folded',
      'removeDead: 0 dead nodes and 0 unused initializers removed',
      'shareInitializers: 0 duplicate initializers shared (0 bytes saved)',
    ]);
    expect(report.params).toEqual({ before: 1594, after: 1562 });
    const feeds = floatFeeds(fx.inputs);
    const [a, b] = [await run(fx.model, feeds), await run(model, feeds)];
    const x = a.logits.data as Float32Array;
    const y = b.logits.data as Float32Array;
    const scale = Math.max(...x.map(Math.abs));
    expect(Math.max(...x.map((v, i) => Math.abs(v - y[i]))) / scale).toBeLessThanOrEqual(1e-5);
  });

  it('a layer the clean-up removed (dead) may still be named in the recipe; an unknown key still fails', () => {
    const fx = mlpFixture();
    const g = fx.model.graph!;
    g.nodes.push({ ...g.nodes[0], name: 'unused_mm', outputs: ['never_read'] });
    const { report } = compressModel(fx.model, makeRecipe('portable', {}, { unused_mm: { weights: 'int8' }, fc0: { weights: 'int8' } }));
    expect(report.layers.map((r) => r.key)).toEqual(['fc0', 'fc1', 'fc2']);
    expect(report.cleanup!.passes.find((p) => p.pass === 'removeDead')!.details).toEqual(['node unused_mm (MatMul)']);
    expect(() => compressModel(fx.model, makeRecipe('portable', {}, { nope: { weights: 'int8' } }))).toThrow('layers["nope"]: names no layer of this model');
  });
});
