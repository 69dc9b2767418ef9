/**
 * The export worker's pipeline (export-run.ts) in Node: hashes match Node's own SHA-256, the
 * optional external data split runs in onnxruntime-node with the same outputs, and the zip holds
 * every part byte for byte (read back with fflate's reader).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { strFromU8, unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRecipe, parseRecipeText } from '../compress/recipe';
import { AppError } from '../core/errors';
import { synthesizeInputs } from '../bench/inputs';
import { runCompression } from './compress-run';
import { prepareExport, sha256Hex, zipParts, type ExportPart, type ExportRequest } from './export-run';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SAMPLE = new Uint8Array(fs.readFileSync(path.join(root, 'public/sample/digits-cnn.onnx')));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'export-run-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

function request(externalData: boolean): { req: ExportRequest; compressed: Uint8Array } {
  const recipe = makeRecipe('portable', { weights: 'int8' }, { '/classifier/fc2/Gemm': { weights: 'int4', granularity: 'block', blockSize: 16 } });
  const r = runCompression([{ name: 'digits-cnn.onnx', bytes: SAMPLE }], recipe);
  return {
    compressed: r.bytes,
    req: {
      original: [{ name: 'digits-cnn.onnx', blob: new Blob([SAMPLE]) }],
      model: { name: 'digits-cnn.int8.onnx', blob: new Blob([r.bytes as Uint8Array<ArrayBuffer>]) },
      externalData,
      recipe,
      report: { generatedAt: '2026-01-01T00:00:00.000Z', tool: 'test', modelName: 'digits-cnn.onnx', compress: r.report },
    },
  };
}

async function logits(s: ort.InferenceSession): Promise<number[]> {
  const x = synthesizeInputs([{ name: s.inputNames[0], dtype: 'float32', shape: [4, 1, 8, 8] }], 5)[0];
  const out = await s.run({ [x.name]: new ort.Tensor('float32', x.data as Float32Array, x.dims) });
  return Array.from(out[s.outputNames[0]].data as Float32Array);
}

describe("the export worker's pipeline", () => {
  it('hashes with SHA-256 as Node does', async () => {
    expect(await sha256Hex(new Blob([SAMPLE]))).toBe(sha(SAMPLE));
    expect(await sha256Hex(new Blob([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // past the crypto.subtle limit: the incremental hash in slices gives the same digest
    const big = new Uint8Array(17 * 1024 * 1024 + 7).map((_, i) => (i * 2654435761) >>> 24);
    expect(await sha256Hex(new Blob([big]), 1024)).toBe(sha(big));
  });

  it('writes the model, recipe, report and CSV, with the identity of both models', async () => {
    const { req, compressed } = request(false);
    const bundle = await prepareExport(req);
    expect(bundle.parts.map((p) => [p.kind, p.name])).toEqual([
      ['model', 'digits-cnn.int8.onnx'],
      ['recipe', 'digits-cnn.int8.recipe.json'],
      ['report-md', 'digits-cnn.int8.report.md'],
      ['report-json', 'digits-cnn.int8.report.json'],
      ['csv', 'digits-cnn.int8.layers.csv'],
    ]);
    expect(await bytesOf(bundle.parts[0].blob)).toEqual(compressed);
    expect(bundle.report.model.original).toEqual([{ name: 'digits-cnn.onnx', bytes: SAMPLE.length, sha256: sha(SAMPLE) }]);
    expect(bundle.report.model.result).toEqual([{ name: 'digits-cnn.int8.onnx', bytes: compressed.length, sha256: sha(compressed) }]);
    expect(parseRecipeText(await bundle.parts[1].blob.text())).toEqual(req.recipe);
    expect(JSON.parse(await bundle.parts[3].blob.text())).toEqual(bundle.report);
    expect(await bundle.parts[2].blob.text()).toContain(sha(compressed));
    expect((await bundle.parts[4].blob.text()).split('\r\n')).toHaveLength(2 + 4);
  });

  it('moves the weights to a data file on request; the pair runs in onnxruntime-node with the same outputs', async () => {
    const { req, compressed } = request(true);
    const bundle = await prepareExport(req);
    const [model, data] = bundle.parts;
    expect([model.kind, model.name, data.kind, data.name]).toEqual(['model', 'digits-cnn.int8.onnx', 'data', 'digits-cnn.int8.onnx.data']);
    expect(model.blob.size).toBeLessThan(compressed.length / 2);
    expect(bundle.report.model.result.map((f) => f.name)).toEqual([model.name, data.name]);
    const dir = fs.mkdtempSync(path.join(tmp, 'split-'));
    fs.writeFileSync(path.join(dir, model.name), await bytesOf(model.blob));
    fs.writeFileSync(path.join(dir, data.name), await bytesOf(data.blob));
    const a = await logits(await ort.InferenceSession.create(compressed));
    const b = await logits(await ort.InferenceSession.create(path.join(dir, model.name)));
    expect(b).toEqual(a);
  });

  it('zips every part byte for byte into one folder, streaming the binaries in slices', async () => {
    const { req } = request(true);
    const bundle = await prepareExport(req);
    const seen: number[] = [];
    const zip = await zipParts(bundle.parts, bundle.stem, { onProgress: (done) => seen.push(done) });
    const entries = unzipSync(await bytesOf(zip));
    expect(Object.keys(entries).sort()).toEqual(bundle.parts.map((p) => `${bundle.stem}/${p.name}`).sort());
    for (const p of bundle.parts) expect(entries[`${bundle.stem}/${p.name}`]).toEqual(await bytesOf(p.blob));
    expect(strFromU8(entries[`${bundle.stem}/${bundle.stem}.report.md`])).toContain('# Compression report: digits-cnn.onnx');
    expect(seen.at(-1)).toBe(bundle.parts.reduce((n, p) => n + p.blob.size, 0));
    // an empty part is still an entry
    const empty: ExportPart = { kind: 'csv', name: 'empty.csv', blob: new Blob([]) };
    expect(unzipSync(await bytesOf(await zipParts([empty], 'f')))['f/empty.csv']).toEqual(new Uint8Array(0));
  });

  it('refuses a zip over 4 GB by name, and stops when cancelled', async () => {
    const huge = { size: 5 * 2 ** 30, slice: () => new Blob([]) } as unknown as Blob;
    await expect(zipParts([{ kind: 'model', name: 'big.onnx', blob: huge }], 'f')).rejects.toThrow(/"big.onnx" is over 4 GB/);
    const controller = new AbortController();
    controller.abort();
    const { req } = request(false);
    const bundle = await prepareExport(req);
    const err = await zipParts(bundle.parts, 'f', { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('aborted');
  });
});
