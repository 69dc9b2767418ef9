import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { loadModel } from '../onnx/load';
import { makeTensor } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import { controlFlowModel } from './testing/synthetic';
import { buildViewGraph } from './view-graph';

const load = (path: string) => loadModel(new Uint8Array(readFileSync(path)), { fileName: path }).model;

describe('view graph', () => {
  it('folds Constant nodes, initializers and constant-only chains into their consumers', () => {
    const model = makeModel({
      graph: makeGraph({
        nodes: [
          makeNode('Constant', [], ['w_raw'], [attr.tensor('value', makeTensor('w_raw', DataType.INT8, [3, 4], new Array(12).fill(1)))], { name: 'c0' }),
          makeNode('DequantizeLinear', ['w_raw', 'scale'], ['w_deq'], [], { name: 'dq' }),
          makeNode('Transpose', ['w_deq'], ['w_t'], [attr.ints('perm', [1, 0])], { name: 'tr' }),
          makeNode('MatMul', ['x', 'w_t'], ['h'], [], { name: 'mm' }),
          makeNode('Add', ['h', 'bias'], ['y'], [], { name: 'add' }),
        ],
        initializers: [makeTensor('scale', DataType.FLOAT, [], [0.5]), makeTensor('bias', DataType.FLOAT, [3], [1, 2, 3])],
        inputs: [makeValueInfo('x', DataType.FLOAT, ['batch', 4])],
        outputs: [makeValueInfo('y', DataType.FLOAT, ['batch', 3])],
      }),
    });
    const v = buildViewGraph(model);
    const ops = v.nodes.filter((n) => n.kind === 'op').map((n) => n.key);
    expect(ops).toEqual(['mm', 'add']);
    expect(v.folded).toBe(3);
    const mm = v.nodes.find((n) => n.key === 'mm')!;
    expect(mm.isLayer).toBe(true);
    expect(mm.weights).toHaveLength(1);
    expect(mm.weights[0]).toMatchObject({ name: 'w_raw', dtype: 'int8', shape: [3, 4], role: 'weight', via: ['DequantizeLinear', 'Transpose'], inputIndex: 1 });
    expect(mm.params).toBe(12);
    const add = v.nodes.find((n) => n.key === 'add')!;
    expect(add.weights[0]).toMatchObject({ name: 'bias', shape: [3], role: 'const' });
    // x -> mm -> add -> y, with the shape of h propagated through MatMul
    const edges = v.edges.map((e) => `${v.nodes[e.from].id}>${v.nodes[e.to].id}:${e.tensor}`);
    expect(edges).toEqual(['i:main:x>n:mm:x', 'n:mm>n:add:h', 'n:add>o:main:y:y']);
    expect(v.typeOf(0, 'h')).toEqual({ dtype: 'float32', shape: ['batch', 3] });
  });

  it('reads the sample CNN: Conv and Gemm with their weight shapes, edge shapes from value_info', () => {
    const v = buildViewGraph(load('public/sample/digits-cnn.onnx'));
    const conv = v.nodes.find((n) => n.key === '/features/conv1/Conv')!;
    expect(conv.weights.map((w) => [w.role, w.shape])).toEqual([
      ['weight', [16, 1, 3, 3]],
      ['bias', [16]],
    ]);
    const gemm = v.nodes.find((n) => n.key === '/classifier/fc1/Gemm')!;
    expect(gemm.weights.map((w) => w.shape)).toEqual([[64, 512], [64]]);
    expect(v.typeOf(0, '/features/conv1/Conv_output_0')?.shape).toEqual(['batch', 16, 8, 8]);
    expect(v.nodes.filter((n) => n.kind === 'input').map((n) => n.name)).toEqual(['input']);
    expect(v.nodes.filter((n) => n.kind === 'output').map((n) => n.name)).toEqual(['logits']);
  });

  it('propagates shapes where the file declares none (torch export without value_info)', () => {
    const v = buildViewGraph(load('src/testing/real/transformer-opset17.onnx'));
    // the first LayerNormalization keeps the input's shape; the qkv MatMul changes the last dim
    const ln = v.nodes.find((n) => n.op === 'LayerNormalization')!;
    const out = v.edges.find((e) => e.from === v.nodes.indexOf(ln))!;
    expect(v.typeOf(0, out.tensor)?.shape).toEqual(['batch', 'seq', 32]);
    const qkv = v.nodes.find((n) => n.op === 'MatMul')!;
    const qkvOut = v.edges.find((e) => e.from === v.nodes.indexOf(qkv))!;
    expect(v.typeOf(0, qkvOut.tensor)?.shape).toEqual(['batch', 'seq', 96]);
  });

  it('keeps If/Loop bodies as graphs of their own, wired to the outer values they read', () => {
    const model = loadModel(encodeModel(controlFlowModel()), {}).model;
    const v = buildViewGraph(model);
    expect(v.graphs.map((g) => g.path)).toEqual(['main', 'branch/then_branch', 'branch/else_branch', 'repeat/body']);
    const ifNode = v.nodes.find((n) => n.key === 'branch')!;
    expect(ifNode.subgraphs.map((s) => s.attr)).toEqual(['then_branch', 'else_branch']);
    const id = (i: number) => v.nodes[i].id;
    const edges = v.edges.map((e) => `${id(e.from)}>${id(e.to)}${e.control ? ' (control)' : ''}`);
    // the then-branch reads proj_out (outer) and W_then (an outer initializer, folded as its weight)
    expect(edges).toContain('n:proj>n:then_relu');
    expect(edges).toContain('n:proj>n:else_neg');
    expect(edges).toContain('n:branch>n:then_relu (control)');
    expect(v.nodes.find((n) => n.key === 'then_matmul')!.weights[0]).toMatchObject({ name: 'W_then', shape: [4, 4] });
    // the Loop body's Constant folds into the Add; body inputs are nodes of the body
    expect(v.nodes.find((n) => n.key === 'loop_add')!.weights[0]).toMatchObject({ name: 'step', shape: [4] });
    expect(v.nodes.filter((n) => n.graph === 3 && n.kind === 'input').map((n) => n.name)).toEqual(['iter', 'cond_in', 'acc_in']);
  });
});
