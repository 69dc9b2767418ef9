/**
 * One model session, as the workers run it (postMessage is a structured clone, done here with
 * structuredClone): the model worker decodes the file once; the compress worker compresses the
 * snapshot it is handed (same bytes as compressing the files directly, i.e. as the CLI); the bench
 * runs the model worker's runnable bytes and the result on onnxruntime-node; the compare view
 * diffs the result against the model worker's model. Across all of it the file is decoded once.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { synthesizeInputs } from '../bench/inputs';
import { makeRecipe } from '../compress/recipe';
import { externalFixture } from '../compress/testing/fixtures';
import { encodeModel } from '../onnx/codec';
import { onDecode, type DecodeEvent } from '../onnx/decode-log';
import { loadModel, type InputFile } from '../onnx/load';
import { buffersOf, fromSnapshot, runnableBytes, snapshotOf } from '../onnx/snapshot';
import { summarizeModel } from '../onnx/summary';
import { compareOpen } from './compare-service';
import { finishCompression, prepareLoaded, runCompression } from './compress-run';

const SAMPLE = fileURLToPath(new URL('../../public/sample/digits-cnn.onnx', import.meta.url));

/** The session's steps; returns the decodes seen and what each step produced. */
async function session(files: InputFile[], recipe: ReturnType<typeof makeRecipe>) {
  const decodes: DecodeEvent[] = [];
  const stop = onDecode((e) => decodes.push(e));
  try {
    // model worker: open
    const loaded = loadModel(files);
    const summary = summarizeModel(loaded);
    // compress worker: handed the snapshot (its buffers transferred), compresses it
    const sent = snapshotOf(loaded, files);
    const snapshot = structuredClone(sent, { transfer: buffersOf(structuredClone(sent)) });
    const held = fromSnapshot(snapshot);
    const compressed = finishCompression(prepareLoaded(held, files.reduce((n, f) => n + f.bytes.length, 0), recipe));
    // a second compression of the same model reuses what the worker holds
    const again = finishCompression(prepareLoaded(held, 0, recipe));
    // bench: the model worker's runnable bytes and the result, on onnxruntime
    const original = new Uint8Array(runnableBytes(loaded, files.find((f) => f.name === loaded.fileName)!.bytes));
    const feeds = Object.fromEntries(
      synthesizeInputs(summary.inputs, 7).map((t) => [t.name, new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]),
    );
    const outputs = [];
    for (const bytes of [original, compressed.bytes]) {
      const s = await ort.InferenceSession.create(bytes);
      outputs.push(await s.run(feeds));
      await s.release();
    }
    // compare view: the result next to the model worker's model
    const info = compareOpen(loaded, compressed.bytes, compressed.report.layers);
    return { decodes, loaded, compressed, again, outputs, info };
  } finally {
    stop();
  }
}

describe('one model session', () => {
  it('decodes the sample once: open, compress (twice), benchmark and compare', async () => {
    const bytes = new Uint8Array(fs.readFileSync(SAMPLE));
    const recipe = makeRecipe('portable', { weights: 'int8' });
    const r = await session([{ name: 'digits-cnn.onnx', bytes }], recipe);
    expect(r.decodes.filter((d) => d.name === 'digits-cnn.onnx')).toEqual([{ name: 'digits-cnn.onnx', bytes: bytes.length }]);
    // only the compressed result is decoded besides (by the compare view)
    expect(r.decodes.map((d) => d.name)).toEqual(['digits-cnn.onnx', 'compressed.onnx']);
    // the snapshot path gives the bytes of compressing the files directly (the CLI's, see compress-run.test.ts)
    const direct = runCompression([{ name: 'digits-cnn.onnx', bytes }], recipe);
    expect(Buffer.compare(Buffer.from(r.compressed.bytes), Buffer.from(direct.bytes))).toBe(0);
    expect(Buffer.compare(Buffer.from(r.again.bytes), Buffer.from(direct.bytes))).toBe(0);
    expect(r.compressed.originalBytes).toBe(bytes.length);
    // both ran, and the comparison found the four quantized layers
    expect(Object.keys(r.outputs[0])).toEqual(Object.keys(r.outputs[1]));
    expect(r.info.diff.counts.quantized).toBe(4);
  });

  it('the model the compress worker holds is not changed by compressing it: recipe after recipe gives the direct bytes', () => {
    const bytes = new Uint8Array(fs.readFileSync(SAMPLE));
    const files = [{ name: 'digits-cnn.onnx', bytes }];
    const held = fromSnapshot(structuredClone(snapshotOf(loadModel(files), files)));
    const recipes = [
      makeRecipe('portable', { weights: 'int8' }),
      makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 16 }),
      makeRecipe('portable', { weights: 'fp16' }),
      makeRecipe('portable', { weights: 'int8', prune: 0.5, pruneMethod: 'channel' }),
      makeRecipe('wasm', { weights: 'int8', activations: 'int8' }),
      makeRecipe('portable', { weights: 'int8' }),
    ];
    for (const recipe of recipes) {
      const viaHeld = finishCompression(prepareLoaded(held, bytes.length, recipe));
      const direct = runCompression(files, recipe);
      expect(Buffer.compare(Buffer.from(viaHeld.bytes), Buffer.from(direct.bytes)), JSON.stringify(recipe.defaults)).toBe(0);
    }
  });

  it('keeps external data working through the snapshot, and runs the model with its data inline', async () => {
    const fx = externalFixture();
    const modelBytes = encodeModel(fx.model);
    const files = [
      { name: 'weights.bin', bytes: fx.external!['weights.bin'] },
      { name: 'm.onnx', bytes: modelBytes },
    ];
    const recipe = makeRecipe('webgpu', { weights: 'fp16' });
    const r = await session(files, recipe);
    expect(r.decodes.filter((d) => d.name === 'm.onnx')).toHaveLength(1);
    const direct = runCompression(files, recipe);
    expect(Buffer.compare(Buffer.from(r.compressed.bytes), Buffer.from(direct.bytes))).toBe(0);
    expect(r.compressed.originalBytes).toBe(modelBytes.length + fx.external!['weights.bin'].length);
  });
});
