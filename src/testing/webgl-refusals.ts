/**
 * Tiny models that onnxruntime-web's WebGL backend refuses, one reason each (subgraphs, input
 * data types, an operator's version, an operator it lacks), with inputs to feed them. The e2e
 * suite runs them on WebGL in headless Chromium; the messages it captured are the cases of
 * src/bench/ort-log.test.ts.
 */
import { attr, makeGraph, makeNode } from '../onnx/build';
import { DataType, type Model } from '../onnx/types';
import { BOOL, FLOAT, INT64, boolInput, f32, floatInput, i64, int64Input, modelAt, vi, type FixtureInput } from './fixture-kit';

export interface RefusalCase {
  id: string;
  model: Model;
  inputs: Record<string, FixtureInput>;
}

/** x [3] float and a bool cond: If(cond) then Relu(x) else Neg(x); the If node is named "gate". */
export function ifModel(opset = 13): Model {
  const thenBranch = makeGraph({ name: 'then', outputs: [vi('t_out', FLOAT, [3])], nodes: [makeNode('Relu', ['x'], ['t_out'], [], { name: 'then_relu' })] });
  const elseBranch = makeGraph({ name: 'else', outputs: [vi('e_out', FLOAT, [3])], nodes: [makeNode('Neg', ['x'], ['e_out'], [], { name: 'else_neg' })] });
  const graph = makeGraph({
    name: 'if_gate',
    inputs: [vi('x', FLOAT, [3]), vi('cond', BOOL, [])],
    outputs: [vi('y', FLOAT, [3])],
    nodes: [makeNode('If', ['cond'], ['y'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)], { name: 'gate' })],
  });
  return modelAt(opset, graph);
}

function loopModel(): Model {
  const body = makeGraph({
    name: 'body',
    inputs: [vi('i', INT64, []), vi('c_in', BOOL, []), vi('acc', FLOAT, [3])],
    outputs: [vi('c_out', BOOL, []), vi('acc_out', FLOAT, [3])],
    nodes: [makeNode('Identity', ['c_in'], ['c_out'], [], { name: 'keep' }), makeNode('Add', ['acc', 'x'], ['acc_out'], [], { name: 'step' })],
  });
  const graph = makeGraph({
    name: 'loop',
    inputs: [vi('x', FLOAT, [3])],
    outputs: [vi('y', FLOAT, [3])],
    initializers: [i64('trips', [], [2])],
    nodes: [
      makeNode('Constant', [], ['go'], [attr.tensor('value', { ...i64('', [], [1]), dataType: DataType.BOOL, rawData: Uint8Array.of(1) })], { name: 'go_const' }),
      makeNode('Loop', ['trips', 'go', 'x'], ['y'], [attr.graph('body', body)], { name: 'repeat' }),
    ],
  });
  return modelAt(13, graph);
}

function unary(op: string, type: number, inType: number, opset: number, extra: Parameters<typeof makeNode>[3] = []): Model {
  const graph = makeGraph({
    name: op.toLowerCase(),
    inputs: [vi('x', inType, [4])],
    outputs: [vi('y', type, [4])],
    nodes: [makeNode(op, ['x'], ['y'], extra, { name: `${op.toLowerCase()}_node` })],
  });
  return modelAt(opset, graph);
}

function binary(op: string, type: number, opset: number): Model {
  const graph = makeGraph({
    name: op.toLowerCase(),
    inputs: [vi('a', type, [4]), vi('b', type, [4])],
    outputs: [vi('y', type, [4])],
    nodes: [makeNode(op, ['a', 'b'], ['y'], [], { name: `${op.toLowerCase()}_node` })],
  });
  return modelAt(opset, graph);
}

/** ReduceSum at opset 13 (axes as an input): WebGL has it up to opset 12 only. */
function reduceSumModel(): Model {
  const graph = makeGraph({
    name: 'reduce',
    inputs: [vi('x', FLOAT, [4])],
    outputs: [vi('y', FLOAT, [1])],
    initializers: [i64('axes', [1], [0])],
    nodes: [makeNode('ReduceSum', ['x', 'axes'], ['y'], [], { name: 'total' })],
  });
  return modelAt(13, graph);
}

function conv1dModel(): Model {
  const graph = makeGraph({
    name: 'conv1d',
    inputs: [vi('x', FLOAT, [1, 1, 4])],
    outputs: [vi('y', FLOAT, [1, 1, 3])],
    initializers: [f32('w', [1, 1, 2], [1, 1])],
    nodes: [makeNode('Conv', ['x', 'w'], ['y'], [], { name: 'smooth' })],
  });
  return modelAt(13, graph);
}

function binaryShaped(op: string, type: number, dims: number[]): Model {
  const graph = makeGraph({
    name: op.toLowerCase(),
    inputs: [vi('a', type, dims), vi('b', type, dims)],
    outputs: [vi('y', type, dims)],
    nodes: [makeNode(op, ['a', 'b'], ['y'], [], { name: `${op.toLowerCase()}_node` })],
  });
  return modelAt(13, graph);
}

const four = [1, -2, 3, -4];

/** Each refusal case: a model and its feeds. */
export function webglRefusalCases(): RefusalCase[] {
  return [
    { id: 'if', model: ifModel(), inputs: { x: floatInput([3], [1, -2, 3]), cond: boolInput([], [1]) } },
    { id: 'loop', model: loopModel(), inputs: { x: floatInput([3], [1, -2, 3]) } },
    { id: 'int64-add', model: binary('Add', INT64, 13), inputs: { a: int64Input([4], four), b: int64Input([4], four) } },
    {
      id: 'float16-add',
      model: binary('Add', DataType.FLOAT16, 13),
      inputs: { a: { type: 'float16', dims: [4], data: Uint16Array.of(0x3c00, 0x4000, 0x4200, 0x4400) }, b: { type: 'float16', dims: [4], data: Uint16Array.of(0x3c00, 0x4000, 0x4200, 0x4400) } },
    },
    { id: 'op-version', model: reduceSumModel(), inputs: { x: floatInput([4], four) } },
    { id: 'unknown-op', model: unary('Erf', FLOAT, FLOAT, 13), inputs: { x: floatInput([4], four) } },
    { id: 'conv1d', model: conv1dModel(), inputs: { x: floatInput([1, 1, 4], four) } },
    { id: 'int32-matmul', model: binaryShaped('MatMul', DataType.INT32, [2, 2]), inputs: { a: { type: 'int32', dims: [2, 2], data: Int32Array.from(four) }, b: { type: 'int32', dims: [2, 2], data: Int32Array.from(four) } } },
  ];
}
