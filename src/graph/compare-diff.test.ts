/**
 * The diff and the constant evaluator on hand-built pairs (the compressor's own outputs are
 * covered in src/workers/compare-service.test.ts, which may import src/compress): dropped and dead
 * nodes, Q/DQ pairs inserted on activations, a node of the compressed file the original lacks,
 * and decode chains evaluated by hand.
 */
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../onnx/types';
import { diffModels } from './compare-diff';
import { ConstEvaluator } from '../onnx/const-eval';

const W = makeTensor('w', DataType.FLOAT, [2, 2], [1, 2, 3, 4]);

function model(nodes: Node[], inits: Tensor[] = [W], opset = 13): Model {
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: makeGraph({
      nodes,
      initializers: inits,
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 2])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, 2])],
    }),
  });
}

const opsOf = (view: ReturnType<typeof diffModels>['compressedView']) => view.nodes.filter((n) => n.kind === 'op').map((n) => `${n.key}:${n.op}`);

describe('diffModels on hand-built pairs', () => {
  it('names dropped Identity and dead nodes, and leaves unchanged nodes out', () => {
    const a = model([
      makeNode('Identity', ['x'], ['i'], [], { name: 'id' }),
      makeNode('MatMul', ['i', 'w'], ['m'], [], { name: 'mm' }),
      makeNode('Relu', ['m'], ['y'], [], { name: 'relu' }),
      makeNode('Sigmoid', ['m'], ['dead'], [], { name: 'unused' }),
    ]);
    const b = model([makeNode('MatMul', ['x', 'w'], ['m'], [], { name: 'mm' }), makeNode('Relu', ['m'], ['y'], [], { name: 'relu' })]);
    const { diff } = diffModels(a, b);
    expect(diff.original.id).toMatchObject({ kinds: ['removed'], badge: 'removed' });
    expect(diff.original.id.detail[0]).toMatch(/Identity dropped/);
    expect(diff.original.unused.detail[0]).toMatch(/dead code/);
    expect(diff.original.mm).toBeUndefined();
    expect(diff.compressed.relu).toBeUndefined();
    expect(diff.counts).toEqual({ removed: 2 });
    expect(diff.nodes).toEqual({ original: 4, compressed: 2, added: 0, removed: 2 });
  });

  it('folds a Q/DQ pair on an activation onto the layer that reads it, bridging the edge', () => {
    const a = model([makeNode('Relu', ['x'], ['r'], [], { name: 'relu' }), makeNode('MatMul', ['r', 'w'], ['y'], [], { name: 'mm' })]);
    const s = makeTensor('s', DataType.FLOAT, [], [0.1]);
    const z = makeTensor('z', DataType.UINT8, [], [0]);
    const b = model(
      [
        makeNode('Relu', ['x'], ['r_f'], [], { name: 'relu' }),
        makeNode('QuantizeLinear', ['r_f', 's', 'z'], ['r_q'], [], { name: 'r_QuantizeLinear' }),
        makeNode('DequantizeLinear', ['r_q', 's', 'z'], ['r'], [], { name: 'r_DequantizeLinear' }),
        makeNode('MatMul', ['r', 'w'], ['y'], [], { name: 'mm' }),
      ],
      [W, s, z],
    );
    const { diff, compressedView } = diffModels(a, b);
    expect(diff.compressed.mm).toMatchObject({ kinds: ['activations'], badge: '+Q/DQ', addedOps: ['QuantizeLinear', 'DequantizeLinear'] });
    expect(diff.compressed.mm.detail[0]).toMatch(/1 Quantize\/DequantizeLinear pair folded in .*: r/);
    expect(diff.original.mm.kinds).toEqual(['activations']);
    expect(opsOf(compressedView)).toEqual(['relu:Relu', 'mm:MatMul']);
    const relu = compressedView.nodes.findIndex((n) => n.key === 'relu');
    const mm = compressedView.nodes.findIndex((n) => n.key === 'mm');
    expect(compressedView.edges.some((e) => e.from === relu && e.to === mm && e.tensor === 'r')).toBe(true);
    expect(compressedView.inEdges[mm].length).toBe(1);
  });

  it('keeps a node the original lacks, with no neighbour to serve, as added', () => {
    const a = model([makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })]);
    const b = model([makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' }), makeNode('Shape', ['x'], ['shape'], [], { name: 'probe' })]);
    b.graph!.outputs.push(makeValueInfo('shape', DataType.INT64, [2]));
    const { diff } = diffModels(a, b);
    expect(diff.compressed.probe).toMatchObject({ kinds: ['added'] });
    expect(diff.counts).toEqual({ added: 1 });
  });
});

describe('ConstEvaluator', () => {
  it('evaluates int8 codes through Cast, Sub and a broadcast Mul, and on overridden codes', () => {
    const q = makeTensor('q', DataType.INT8, [2, 3], [-2, 0, 5, 127, -128, 1]);
    const zp = makeTensor('zp', DataType.INT8, [2, 1], [1, -1]);
    const sc = makeTensor('sc', DataType.FLOAT, [2, 1], [0.5, 0.25]);
    const m = model(
      [
        makeNode('Cast', ['q'], ['qf'], [attr.int('to', DataType.FLOAT)], { name: 'c1' }),
        makeNode('Cast', ['zp'], ['zf'], [attr.int('to', DataType.FLOAT)], { name: 'c2' }),
        makeNode('Sub', ['qf', 'zf'], ['d'], [], { name: 'sub' }),
        makeNode('Mul', ['d', 'sc'], ['w'], [], { name: 'mul' }),
        makeNode('Transpose', ['w'], ['wt'], [], { name: 't' }),
        makeNode('MatMul', ['x', 'wt'], ['y'], [], { name: 'mm' }),
      ],
      [q, zp, sc],
    );
    const ev = new ConstEvaluator(m);
    const t = ev.evaluate('main', 'wt');
    expect(t.dims).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([-1.5, 32, -0.5, -31.75, 2, 0.5]);
    expect(ev.sources('main', 'wt').map((x) => x.name).sort()).toEqual(['q', 'sc', 'zp']);
    const lo = ev.evaluate('main', 'w', new Map([['q', new Float64Array(6).fill(-128)]]));
    expect(Array.from(lo.data)).toEqual([-64.5, -64.5, -64.5, -31.75, -31.75, -31.75]);
  });

  it('evaluates a blocked DequantizeLinear (opset 21) and a per-axis one', () => {
    const q = makeTensor('q', DataType.INT8, [2, 4], [1, 2, 3, 4, -1, -2, -3, -4]);
    const s = makeTensor('s', DataType.FLOAT, [2, 2], [1, 10, 100, 1000]);
    const m = model(
      [makeNode('DequantizeLinear', ['q', 's'], ['w'], [attr.int('axis', 1), attr.int('block_size', 2)], { name: 'dq' }), makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })],
      [q, s],
      21,
    );
    expect(Array.from(new ConstEvaluator(m).evaluate('main', 'w').data)).toEqual([1, 2, 30, 40, -100, -200, -3000, -4000]);
    const s2 = makeTensor('s', DataType.FLOAT, [4], [1, 2, 3, 4]);
    const m2 = model([makeNode('DequantizeLinear', ['q', 's'], ['w'], [attr.int('axis', 1)], { name: 'dq' }), makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })], [q, s2]);
    expect(Array.from(new ConstEvaluator(m2).evaluate('main', 'w').data)).toEqual([1, 4, 9, 16, -1, -4, -9, -16]);
  });

  it('names an op it cannot evaluate', () => {
    const m = model([makeNode('Sin', ['w'], ['ws'], [], { name: 'sin' }), makeNode('MatMul', ['x', 'ws'], ['y'], [], { name: 'mm' })]);
    expect(() => new ConstEvaluator(m).evaluate('main', 'ws')).toThrow(/Sin is not a decode op/);
  });
});

describe('parameters of compressed layers', () => {
  const K = 32;
  const N = 4;
  const io = (nodes: Node[], inits: Tensor[], ms = false): Model =>
    makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }, ...(ms ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      graph: makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('x', DataType.FLOAT, [1, K])], outputs: [makeValueInfo('y', DataType.FLOAT, [1, N])] }),
    });
  const original = io([makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })], [makeTensor('w', DataType.FLOAT, [K, N], Array.from({ length: K * N }, (_, i) => i / 100))]);
  const params = (r: ReturnType<typeof diffModels>, side: 'originalView' | 'compressedView') => r[side].nodes.find((n) => n.key === 'mm')!.params;

  it('counts int4 codes packed two per byte (portable chain) as elements, not bytes', () => {
    const h = (K * N) / 2;
    // the portable int4 chain as src/compress/quantize/encode.ts writes it: Cast, Div, Floor, Mul, Sub, Concat, then Sub(8) and Mul(scale)
    const compressed = io(
      [
        makeNode('Cast', ['mm_int4x2'], ['p'], [attr.int('to', DataType.FLOAT)], { name: 'mm_cast' }),
        makeNode('Div', ['p', 'c16'], ['d'], [], { name: 'mm_div' }),
        makeNode('Floor', ['d'], ['hi'], [], { name: 'mm_floor' }),
        makeNode('Mul', ['hi', 'c16'], ['hm'], [], { name: 'mm_mul16' }),
        makeNode('Sub', ['p', 'hm'], ['lo'], [], { name: 'mm_lo' }),
        makeNode('Concat', ['lo', 'hi'], ['cat'], [attr.int('axis', 0)], { name: 'mm_concat' }),
        makeNode('Reshape', ['cat', 'shp'], ['r'], [], { name: 'mm_reshape' }),
        makeNode('Sub', ['r', 'c8'], ['s8'], [], { name: 'mm_sub8' }),
        makeNode('Mul', ['s8', 'sc'], ['wd'], [], { name: 'mm_scale' }),
        makeNode('MatMul', ['x', 'wd'], ['y'], [], { name: 'mm' }),
      ],
      [
        makeTensor('mm_int4x2', DataType.UINT8, [h], Array.from({ length: h }, (_, i) => i % 256)),
        makeTensor('c16', DataType.FLOAT, [], [16]),
        makeTensor('c8', DataType.FLOAT, [], [8]),
        makeTensor('sc', DataType.FLOAT, [1, N], [0.1, 0.1, 0.1, 0.1]),
        makeTensor('shp', DataType.INT64, [2], [K, N]),
      ],
    );
    const r = diffModels(original, compressed);
    expect(params(r, 'originalView')).toBe(K * N);
    expect(params(r, 'compressedView')).toBe(K * N); // was 64: the packed bytes
  });

  it("counts MatMulNBits' packed B as elements and leaves its scales out", () => {
    const compressed = io(
      [makeNode('MatMulNBits', ['x', 'B', 'S'], ['y'], [attr.int('K', K), attr.int('N', N), attr.int('bits', 4), attr.int('block_size', 32)], { name: 'mm', domain: 'com.microsoft' })],
      [makeTensor('B', DataType.UINT8, [N, 1, 16], Array.from({ length: N * 16 }, (_, i) => i)), makeTensor('S', DataType.FLOAT, [N], [0.1, 0.1, 0.1, 0.1])],
      true,
    );
    expect(params(diffModels(original, compressed), 'compressedView')).toBe(K * N); // was 68: 64 bytes + 4 scales
  });
});
