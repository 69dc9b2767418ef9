/**
 * The compress worker's pipeline (compress-run.ts), run in Node: it gives exactly the CLI's bytes
 * for the same model and recipe (spawned as a user would run it), reports progress per layer,
 * stops when aborted, and names a bad recipe's key.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRecipe, serializeRecipe } from '../compress/recipe';
import { externalFixture, mlpFixture } from '../compress/testing/fixtures';
import { AppError } from '../core/errors';
import { decodeModel, encodeModel } from '../onnx/codec';
import type { CompressProgress } from './compress-api';
import * as ort from 'onnxruntime-node';
import { synthesizeInputs } from '../bench/inputs';
import { blobOfPieces, dataFileName, finishCompression, prepareCompression, prepareLoaded, runCompression } from './compress-run';
import { externalizeData } from '../onnx/external';
import { loadModel } from '../onnx/load';
import { fromSnapshot, snapshotOf } from '../onnx/snapshot';
import { handoverOf, readFiles, receiveHandover, receiveHandoverLazily } from './read-files';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'compress-run-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SAMPLE = path.join(root, 'public/sample/digits-cnn.onnx');

function cliCompress(model: string, recipeText: string, out: string, more: string[] = []): void {
  const recipe = path.join(tmp, `${path.basename(out)}.recipe.json`);
  fs.writeFileSync(recipe, recipeText);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'compress', model, '--recipe', recipe, '--out', out, ...more], {
    cwd: root,
    encoding: 'utf8',
    timeout: 90_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe("the compress worker's pipeline", () => {
  it('gives the same bytes as the CLI, for the sample and for a model with external data', () => {
    const sample = new Uint8Array(fs.readFileSync(SAMPLE));
    const recipe = makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }, { '/classifier/fc2/Gemm': { weights: 'int4', granularity: 'block', blockSize: 16 } });
    const out = path.join(tmp, 'digits.onnx');
    cliCompress(SAMPLE, serializeRecipe(recipe), out);
    // the recipe crosses the worker boundary as plain data: it is validated again there
    const page = runCompression([{ name: 'digits-cnn.onnx', bytes: sample }], JSON.parse(serializeRecipe(recipe)));
    expect(Buffer.compare(Buffer.from(page.bytes), fs.readFileSync(out))).toBe(0);
    expect(page.originalBytes).toBe(sample.length);
    expect(page.fileName).toBe('digits-cnn.onnx');

    const fx = externalFixture();
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    const modelBytes = encodeModel(fx.model);
    fs.writeFileSync(path.join(dir, 'm.onnx'), modelBytes);
    fs.writeFileSync(path.join(dir, 'weights.bin'), fx.external!['weights.bin']);
    const fp16 = makeRecipe('webgpu', { weights: 'fp16' });
    const extOut = path.join(tmp, 'ext.onnx');
    cliCompress(path.join(dir, 'm.onnx'), serializeRecipe(fp16), extOut);
    // files in the order a user might drop them: data first
    const ext = runCompression(
      [
        { name: 'weights.bin', bytes: fx.external!['weights.bin'] },
        { name: 'm.onnx', bytes: modelBytes },
      ],
      fp16,
    );
    expect(Buffer.compare(Buffer.from(ext.bytes), fs.readFileSync(extOut))).toBe(0);
    expect(ext.originalBytes).toBe(modelBytes.length + fx.external!['weights.bin'].length);
  });

  it('reports progress layer by layer, and stops when aborted', () => {
    const sample = new Uint8Array(fs.readFileSync(SAMPLE));
    const events: CompressProgress[] = [];
    runCompression([{ name: 's.onnx', bytes: sample }], makeRecipe('portable', { weights: 'int8' }), { onProgress: (p) => events.push(p) });
    expect(events.map((e) => e.stage)).toEqual(['parse', 'compress', 'compress', 'compress', 'compress', 'compress', 'encode']);
    expect(events.filter((e) => e.stage === 'compress').map((e) => `${e.done}/${e.total}`)).toEqual(['0/4', '1/4', '2/4', '3/4', '4/4']);
    expect(events.flatMap((e) => e.finished)).toEqual(['/features/conv1/Conv', '/features/conv2/Conv', '/classifier/fc1/Gemm', '/classifier/fc2/Gemm']);

    const controller = new AbortController();
    const seen: string[] = [];
    let caught: unknown;
    try {
      runCompression([{ name: 's.onnx', bytes: sample }], makeRecipe('portable', { weights: 'int8' }), {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(...p.finished);
          if (p.done === 2) controller.abort();
        },
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('aborted');
    expect(seen).toHaveLength(2);
  });

  it('moves the weights of a result too large for one file to an external data file that onnxruntime reads', async () => {
    const sample = new Uint8Array(fs.readFileSync(SAMPLE));
    const recipe = makeRecipe('portable', { weights: 'int8' });
    const single = runCompression([{ name: 'digits-cnn.onnx', bytes: sample }], recipe);
    expect(single.data).toBeUndefined();
    // a limit below the sample's weight bytes stands in for protobuf's 2 GB
    const split = runCompression([{ name: 'digits-cnn.onnx', bytes: sample }], recipe, { singleFileLimit: 1000 });
    expect(split.data?.name).toBe('digits-cnn.compressed.onnx.data');
    expect(split.bytes.length).toBeLessThan(single.bytes.length / 2);
    expect(split.data!.size).toBeGreaterThan(single.bytes.length / 2);
    expect(Buffer.concat([...split.data!.pieces()]).length).toBe(split.data!.size);
    const dir = fs.mkdtempSync(path.join(tmp, 'split-'));
    fs.writeFileSync(path.join(dir, 'model.onnx'), split.bytes);
    fs.writeFileSync(path.join(dir, split.data!.name), Buffer.concat([...split.data!.pieces()]));
    const run = async (s: ort.InferenceSession) => {
      const x = synthesizeInputs([{ name: s.inputNames[0], dtype: 'float32', shape: [2, 1, 8, 8] }], 3)[0];
      const out = await s.run({ [x.name]: new ort.Tensor('float32', x.data as Float32Array, x.dims) });
      return Float32Array.from(out[s.outputNames[0]].data as Float32Array);
    };
    const a = await run(await ort.InferenceSession.create(single.bytes));
    const b = await run(await ort.InferenceSession.create(path.join(dir, 'model.onnx')));
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(dataFileName('dir/My Model.ONNX')).toBe('My_Model.compressed.onnx.data');
  });

  it("gives the CLI's --external-data bytes for a model whose data file the page holds in chunks", async () => {
    // the sample with its weights in sample.onnx.data; the page holds that file in 1000-byte chunks
    // (a stand-in for 1 GiB chunks of a data file over 2 GiB), tensors straddling them
    const dir = fs.mkdtempSync(path.join(tmp, 'chunked-'));
    const split = externalizeData(decodeModel(new Uint8Array(fs.readFileSync(SAMPLE))), 'sample.onnx.data');
    const modelBytes = encodeModel(split.model);
    fs.writeFileSync(path.join(dir, 'sample.onnx'), modelBytes);
    fs.writeFileSync(path.join(dir, 'sample.onnx.data'), split.data);
    // int8 convolutions; fc2 stays fp32, so its weight is copied from the chunked input into the result's data file
    const recipe = makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }, { '/classifier/fc2/Gemm': { weights: 'fp32' } });
    const out = path.join(fs.mkdtempSync(path.join(tmp, 'cli-')), 'sample.onnx');
    cliCompress(path.join(dir, 'sample.onnx'), serializeRecipe(recipe), out, ['--external-data', dataFileName('sample.onnx')]);

    const files = ['sample.onnx.data', 'sample.onnx'].map((name) => ({ name, blob: new Blob([fs.readFileSync(path.join(dir, name))]) }));
    const read = await readFiles(files, { chunkBytes: 1000 });
    expect(read.data[0].bytes.length).toBe(split.data.length);
    const loaded = loadModel(read.whole, { data: read.data });
    // the compress worker's copy: the model worker's snapshot through a structured clone, the chunked
    // data file as its Blob, which the compress worker reads in chunks itself
    const handover = structuredClone(handoverOf(snapshotOf(loaded, [...read.whole, ...read.data]), read.sources));
    expect(handover.data).toEqual([]);
    expect(handover.blobs.map((b) => [b.name, b.blob.size, b.chunkBytes])).toEqual([['sample.onnx.data', split.data.length, 1000]]);
    // read back in chunks, or by offset a tensor at a time (the worker's FileReaderSync; here a
    // synchronous read of the same bytes, counted)
    let lazyBytes = 0;
    const lazy = receiveHandoverLazily(handover, (blob, start, end) => {
      expect(blob.size).toBe(split.data.length);
      lazyBytes += end - start;
      return split.data.slice(start, end);
    });
    for (const snapshot of [await receiveHandover(handover), lazy]) {
    const prepared = prepareLoaded(fromSnapshot(snapshot), modelBytes.length + split.data.length, JSON.parse(serializeRecipe(recipe)));
    // a limit of 0 weight bytes stands in for protobuf's 2 GB: the result gets its data file
    const page = finishCompression(prepared, { singleFileLimit: 0 });
    expect(page.data?.name).toBe('sample.compressed.onnx.data');
    expect(Buffer.compare(Buffer.from(page.bytes), fs.readFileSync(out))).toBe(0);
    const cliData = fs.readFileSync(path.join(path.dirname(out), 'sample.compressed.onnx.data'));
    expect(page.data!.size).toBe(cliData.length);
    // the pieces are read as they are asked for, one at a time: by offset, fc2's fp32 weight is
    // read from the input's Blob only when its piece comes, never ahead of the one asked for
    const readBefore = lazyBytes;
    let pieces = 0;
    let last = lazyBytes;
    for (const piece of page.data!.pieces()) {
      expect(lazyBytes - last).toBeLessThanOrEqual(piece.length);
      last = lazyBytes;
      pieces++;
    }
    expect(pieces).toBeGreaterThan(1);
    if (snapshot === lazy) expect(lazyBytes - readBefore).toBeGreaterThan(0);
    // what the worker posts to the page: a Blob of parts made as the pieces come (here parts of
    // 5000 bytes: the two small tensors share one, fc2 is its own), the CLI's bytes
    const made = blobOfPieces(page.data!.pieces(), { partBytes: 5000 });
    expect(made.parts).toBeGreaterThan(1);
    expect(made.parts).toBeLessThan(pieces);
    expect(made.blob.size).toBe(cliData.length);
    expect(Buffer.compare(Buffer.from(await made.blob.arrayBuffer()), cliData)).toBe(0);
    // the default part size: the sample's small data file is one part
    expect(blobOfPieces(page.data!.pieces()).parts).toBe(1);
    }
    // by offset, only tensors were read (each a few times at most), never the file in one piece
    expect(lazyBytes).toBeGreaterThan(0);
  });

  it('names the key of a bad recipe', () => {
    const sample = new Uint8Array(fs.readFileSync(SAMPLE));
    const bad = { ...makeRecipe('portable', {}), layers: { '/features/conv1/Conv': { weights: 'int2' } } };
    expect(() => runCompression([{ name: 's.onnx', bytes: sample }], bad)).toThrow(/layers\["\/features\/conv1\/Conv"\]\.weights: expected one of/);
    expect(() => runCompression([{ name: 's.onnx', bytes: sample }], makeRecipe('portable', {}, { nope: {} }))).toThrow(/layers\["nope"\]: names no layer/);
  });

  it('calibrates only where it can matter: target wasm, a Conv asking for int8 activations', () => {
    const sample = new Uint8Array(fs.readFileSync(SAMPLE));
    const files = [{ name: 's.onnx', bytes: sample }];
    expect(prepareCompression(files, makeRecipe('wasm', { weights: 'int8', activations: 'int8' })).wantsCalibration).toBe(true);
    expect(prepareCompression(files, makeRecipe('wasm', { weights: 'int8' })).wantsCalibration).toBe(false);
    expect(prepareCompression(files, makeRecipe('portable', { weights: 'int8', activations: 'int8' })).wantsCalibration).toBe(false);
    // MatMul/Gemm keep int8 weights only on wasm: no calibration pass for an MLP
    const mlp = [{ name: 'mlp.onnx', bytes: encodeModel(mlpFixture().model) }];
    expect(prepareCompression(mlp, makeRecipe('wasm', { weights: 'int8', activations: 'int8' })).wantsCalibration).toBe(false);
  });
});
