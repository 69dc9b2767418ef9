import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeValueInfo } from './build';
import { encodeModel } from './codec';
import { sniffFormat } from './sniff';
import { makeTensor } from './tensor';
import { DataType } from './types';

const enc = new TextEncoder();
const bytes = (...parts: (string | number[] | Uint8Array)[]): Uint8Array => {
  const chunks = parts.map((p) =>
    typeof p === 'string' ? Uint8Array.from(p, (c) => c.charCodeAt(0)) : p instanceof Uint8Array ? p : Uint8Array.from(p),
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const u16 = (n: number) => [n & 255, (n >> 8) & 255];

/** A zip local file header (stored, no compression) for one entry. */
function zipEntry(name: string, data: Uint8Array): Uint8Array {
  return bytes('PK\x03\x04', u16(20), u16(0), u16(0), u16(0), u16(0), u32(0), u32(data.length), u32(data.length), u16(name.length), u16(0), name, data);
}

function sampleModel(extra: Partial<Parameters<typeof makeModel>[0]> = {}): Uint8Array {
  const w = makeTensor('W', DataType.FLOAT, [4, 4], Array.from({ length: 16 }, (_, i) => i / 10));
  const graph = makeGraph({
    nodes: [makeNode('MatMul', ['x', 'W'], ['y'], [], { name: 'mm' })],
    initializers: [w],
    inputs: [makeValueInfo('x', DataType.FLOAT, ['N', 4])],
    outputs: [makeValueInfo('y', DataType.FLOAT, ['N', 4])],
  });
  return encodeModel(makeModel({ graph, producerName: 'test', producerVersion: '1.0', ...extra }));
}

/** protobuf helpers for hand-made foreign messages */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const lenField = (no: number, body: Uint8Array) => bytes(varint((no << 3) | 2), varint(body.length), body);

describe('sniffFormat', () => {
  it('accepts an ONNX model', () => {
    expect(sniffFormat(sampleModel())).toEqual({ ok: true });
  });

  it('accepts a model whose first field is not ir_version', () => {
    const graph = makeGraph({ nodes: [makeNode('Relu', ['x'], ['y'])], inputs: [makeValueInfo('x', DataType.FLOAT, [1])], outputs: [makeValueInfo('y', DataType.FLOAT, [1])] });
    const m = encodeModel(makeModel({ graph, irVersion: undefined, producerName: undefined }));
    expect(m[0]).toBe(0x3a); // graph (field 7) comes first
    expect(sniffFormat(m)).toEqual({ ok: true });
  });

  it('accepts a model with fields from a newer ONNX after the first', () => {
    const m = bytes(sampleModel(), varint((99 << 3) | 0), [5]);
    expect(sniffFormat(m)).toEqual({ ok: true });
  });

  it('does not mistake a model for a format whose signature lies away from offset 0', () => {
    const m = sampleModel({ producerName: 'TFL3 exporter' });
    expect(String.fromCharCode(...m.subarray(4, 8))).toBe('TFL3');
    expect(sniffFormat(m)).toEqual({ ok: true });
  });

  it('reports an empty file', () => {
    const r = sniffFormat(new Uint8Array(0));
    expect(r).toMatchObject({ ok: false, code: 'empty-file' });
  });

  it('reports a truncated model wherever it is cut inside the graph', () => {
    const m = sampleModel({ opsetImport: [] }); // the graph is the last field
    const graphTag = m.indexOf(0x3a);
    for (let cut = graphTag + 1; cut < m.length; cut++) {
      const r = sniffFormat(m.subarray(0, cut));
      expect(r.ok, `cut at ${cut}`).toBe(false);
      if (!r.ok) expect(r.code, `cut at ${cut}`).toBe('truncated');
    }
    // cut before the graph: nothing but the header fields
    const head = sniffFormat(m.subarray(0, graphTag));
    expect(head).toMatchObject({ ok: false, code: 'truncated' });
    expect(sniffFormat(m.subarray(0, 1))).toMatchObject({ ok: false, code: 'truncated' });
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['TFLite', bytes(u32(0x1c), 'TFL3', new Uint8Array(40)), /TensorFlow Lite.*tf2onnx/],
    ['ORT format', bytes(u32(0x1c), 'ORTM', new Uint8Array(40)), /ONNX Runtime format/],
    ['PyTorch zip', bytes(zipEntry('archive/data.pkl', enc.encode('\x80\x02}q\x00.')), zipEntry('archive/version', enc.encode('3\n'))), /PyTorch checkpoint/],
    ['zip archive', zipEntry('readme.txt', enc.encode('hello')), /zip archive/],
    ['zip with an onnx inside', zipEntry('models/net.onnx', new Uint8Array(10)), /contain.*net\.onnx/],
    ['pickle', bytes([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0, 0]), /pickle/],
    ['HDF5', bytes('\x89HDF\r\n\x1a\n', new Uint8Array(32)), /HDF5.*Keras/],
    ['safetensors', bytes([14, 0, 0, 0, 0, 0, 0, 0], '{"a":{"b":1}} ', new Uint8Array(8)), /safetensors/],
    ['NumPy', bytes('\x93NUMPY\x01\x00', new Uint8Array(20)), /NumPy/],
    ['PNG', bytes('\x89PNG\r\n\x1a\n', new Uint8Array(20)), /PNG image/],
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0], new Uint8Array(20)), /JPEG image/],
    ['GIF', bytes('GIF89a', new Uint8Array(20)), /GIF image/],
    ['WebP', bytes('RIFF', u32(30), 'WEBPVP8 ', new Uint8Array(18)), /WebP image/],
    ['BMP', bytes('BM', u32(30), u32(0), u32(26), new Uint8Array(16)), /BMP image/],
    ['gzip', bytes([0x1f, 0x8b, 8, 0], new Uint8Array(20)), /gzip/],
    ['PDF', bytes('%PDF-1.7\n', new Uint8Array(20)), /PDF/],
    ['recipe JSON', enc.encode('{\n  "format": "onnx-compression-recipe",\n  "version": 1\n}\n'), /recipe/],
    ['JSON', enc.encode('  [1, 2, 3]'), /JSON/],
    ['HTML error page', enc.encode('<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>'), /HTML page/],
    ['Git LFS pointer', enc.encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12345\n'), /Git LFS pointer/],
    ['text', enc.encode('hello, this is just some text\n'), /text file/],
    ['ONNX text format', enc.encode('<\n  ir_version: 8,\n  opset_import: ["" : 13]\n>\nagraph (float[N] x) => (float[N] y) { y = Relu(x) }'), /text form/],
    [
      'TensorFlow GraphDef',
      bytes(lenField(1, bytes(lenField(1, enc.encode('input')), lenField(2, enc.encode('Placeholder')))), lenField(4, bytes([0x08, 0x1b]))),
      /TensorFlow GraphDef/,
    ],
    [
      'TensorFlow SavedModel',
      bytes([0x08, 0x01], lenField(2, bytes(lenField(1, bytes(lenField(4, enc.encode('serve')))), lenField(2, bytes([0x0a, 0x00]))))),
      /SavedModel/,
    ],
    ['TensorProto', bytes([0x08, 0x02, 0x10, 0x01], lenField(8, enc.encode('x')), lenField(9, new Uint8Array(8))), /TensorProto/],
  ];
  it.each(cases)('names %s', (_label, data, pattern) => {
    const r = sniffFormat(data);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe('not-onnx');
    expect(r.message).toMatch(pattern);
    expect(r.message).not.toContain('\n');
  });

  it('says something for random bytes and never throws', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    const model = sampleModel();
    for (let i = 0; i < 3000; i++) {
      const n = rnd() % 200;
      const buf = i % 2 === 0 ? Uint8Array.from({ length: n }, () => rnd() & 255) : model.slice();
      if (i % 2 === 1) for (let k = 0; k < 3; k++) buf[rnd() % buf.length] = rnd() & 255;
      const r = sniffFormat(buf);
      if (!r.ok) {
        expect(['empty-file', 'not-onnx', 'truncated']).toContain(r.code);
        expect(r.message.length).toBeGreaterThan(0);
      }
    }
  });

  it('is cheap on a large model: it does not read the weights', () => {
    const big = new Uint8Array(64 * 1024 * 1024);
    const m = sampleModel();
    // A model followed by one large unknown field: the walk skips its body in one step.
    const header = bytes(m, varint((99 << 3) | 2), varint(big.length));
    const all = new Uint8Array(header.length + big.length);
    all.set(header);
    const t0 = performance.now();
    expect(sniffFormat(all)).toEqual({ ok: true });
    expect(performance.now() - t0).toBeLessThan(50);
  });
});
