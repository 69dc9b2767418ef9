/**
 * Opening a model whose external data file is held in chunks (the page's way for a data file over
 * what one buffer may hold, src/workers/read-files.ts), with the chunk size lowered so the sample's
 * data file spans many chunks and its tensors straddle their boundaries: the model opens with the
 * same summary, every tensor's bytes are those of the file, and the runnable file is the same.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { emptyTensor, makeGraph, makeModel } from '../onnx/build';
import { isChunked } from '../onnx/chunked';
import { decodeModel, encodeModel } from '../onnx/codec';
import { externalizeData, externalReferences } from '../onnx/external';
import { loadModel } from '../onnx/load';
import { fromSnapshot, runnableBytes, snapshotOf } from '../onnx/snapshot';
import { summarizeModel } from '../onnx/summary';
import { DataLocation, DataType } from '../onnx/types';
import { handoverOf, readFiles, receiveHandover, type NamedFile } from './read-files';

const SAMPLE = fileURLToPath(new URL('../../public/sample/digits-cnn.onnx', import.meta.url));
const split = externalizeData(decodeModel(new Uint8Array(fs.readFileSync(SAMPLE))), 'sample.onnx.data');
const modelBytes = encodeModel(split.model);
const dataBytes = split.data;
const blobs = (data: Uint8Array = dataBytes): NamedFile[] => [
  { name: 'sample.onnx.data', blob: new Blob([data as Uint8Array<ArrayBuffer>]) },
  { name: 'sample.onnx', blob: new Blob([modelBytes as Uint8Array<ArrayBuffer>]) },
];

async function caught(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof AppError ? `${e.code}: ${e.message}` : `not an AppError: ${String(e)}`;
  }
  return 'no error';
}

describe('opening a model whose data file is held in chunks', () => {
  const reference = loadModel([
    { name: 'sample.onnx', bytes: modelBytes },
    { name: 'sample.onnx.data', bytes: dataBytes },
  ]);

  it('opens with the same summary and byte-identical tensors, at chunk sizes that cut tensors apart', async () => {
    expect(dataBytes.length).toBeGreaterThan(20_000);
    for (const chunkBytes of [1000, 4096, 4097, 65_536]) {
      const read = await readFiles(blobs(), { chunkBytes });
      expect(read.whole.map((f) => f.name)).toEqual(['sample.onnx']);
      expect(read.data.map((f) => f.name)).toEqual(['sample.onnx.data']);
      const held = read.data[0].bytes;
      expect(isChunked(held) && held.chunks.length).toBe(Math.ceil(dataBytes.length / chunkBytes));
      const loaded = loadModel(read.whole, { data: read.data });
      expect(summarizeModel(loaded)).toEqual(summarizeModel(reference));
      const refs = externalReferences(loaded.model);
      expect(refs.length).toBe(3);
      const crossing = refs.filter((r) => Math.floor(r.offset / chunkBytes) !== Math.floor((r.offset + (r.length ?? 0) - 1) / chunkBytes));
      if (chunkBytes < 65_536) expect(crossing.length, `${chunkBytes}`).toBeGreaterThan(0);
      // at 1000 bytes a chunk, a tensor spans 3 chunks or more
      const spans = (r: (typeof refs)[number]) => Math.floor((r.offset + (r.length ?? 0) - 1) / chunkBytes) - Math.floor(r.offset / chunkBytes) + 1;
      if (chunkBytes === 1000) expect(Math.max(...refs.map(spans))).toBeGreaterThanOrEqual(3);
      for (const r of refs) {
        const got = loaded.external!.read(r.location, r.offset, r.length);
        expect(Buffer.compare(Buffer.from(got), Buffer.from(dataBytes.subarray(r.offset, r.offset + (r.length ?? 0)))), r.tensor.name).toBe(0);
      }
      // the runnable file (bench, runtime check): the same bytes as from one buffer
      expect(Buffer.compare(Buffer.from(runnableBytes(loaded, read.whole[0].bytes)), Buffer.from(runnableBytes(reference, modelBytes)))).toBe(0);
      // the snapshot to another worker carries the chunked file as its Blob (no copy of the file in
      // the message); the receiving worker reads it in chunks again, and it resolves the same
      const handover = structuredClone(handoverOf(snapshotOf(loaded, [...read.whole, ...read.data]), read.sources));
      expect(handover.blobs.length).toBe(chunkBytes < dataBytes.length ? 1 : 0);
      const snap = await receiveHandover(handover);
      expect(snap.data.map((f) => [f.name, f.bytes.length, isChunked(f.bytes)])).toEqual([['sample.onnx.data', dataBytes.length, chunkBytes < dataBytes.length]]);
      const again = fromSnapshot(snap);
      for (const r of refs) expect([...again.external!.read(r.location, r.offset, r.length)]).toEqual([...loaded.external!.read(r.location, r.offset, r.length)]);
    }
  });

  it('reads a data file no larger than a chunk in one buffer', async () => {
    const read = await readFiles(blobs(), { chunkBytes: 1 << 20 });
    expect(read.data).toEqual([]);
    expect(read.whole.map((f) => f.name)).toEqual(['sample.onnx.data', 'sample.onnx']);
  });

  it('names the problem with a short or missing data file, and with no model among the files, never hangs', async () => {
    const short = await readFiles(blobs(dataBytes.subarray(0, dataBytes.length - 100)), { chunkBytes: 1000 });
    expect(() => loadModel(short.whole, { data: short.data })).toThrow(/External data in "sample.onnx.data" \(offset \d+, length \d+\) runs past the end of the file/);
    const none = await readFiles([blobs()[1]], { chunkBytes: 1000 });
    expect(() => loadModel(none.whole, { data: none.data })).toThrow(/external data file "sample.onnx.data", which is missing/);
    expect(await caught(readFiles([blobs()[0], { name: 'more.bin', blob: new Blob([new Uint8Array(5000)]) }], { chunkBytes: 1000 }))).toBe(
      'not-onnx: None of the 2 files is an ONNX model (sample.onnx.data, more.bin): give the .onnx file with its data files.',
    );
    const controller = new AbortController();
    controller.abort();
    expect(await caught(readFiles(blobs(), { chunkBytes: 1000, signal: controller.signal }))).toMatch(/^aborted: /);
  });

  it('says plainly that a model over 2 GB with its data cannot be run as one file (benchmarks, runtime check), before reading any weight', () => {
    const big = emptyTensor({
      name: 'w',
      dataType: DataType.FLOAT,
      dims: [600_000_000],
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'big.onnx.data' },
        { key: 'offset', value: '0' },
        { key: 'length', value: '2400000000' },
      ],
    });
    const model = makeModel({ graph: makeGraph({ initializers: [big] }) });
    let reads = 0;
    const external = {
      size: () => 2_400_000_000,
      read: () => {
        reads++;
        return new Uint8Array(0);
      },
    };
    const loaded = { model, fileName: 'big.onnx', fileSize: 300, external, renamedNodes: 0 };
    expect(() => runnableBytes(loaded, new Uint8Array(300))).toThrow(
      /^big\.onnx is over 2 GB with its external data: benchmarks and the runtime check run a model on onnxruntime-web as one file, which holds at most 2 GB .*Opening, compressing and exporting work; to run it, use the CLI/,
    );
    expect(reads).toBe(0);
  });

  it('reports reading progress up to every byte', async () => {
    const seen: number[] = [];
    await readFiles(blobs(), { chunkBytes: 4096, onProgress: (done, total) => seen.push(done / total) });
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.at(-1)).toBe(1);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });
});
