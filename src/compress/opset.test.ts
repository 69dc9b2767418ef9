import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode } from '../onnx/build';
import { canRaiseOpset, defaultOpset, raiseOpset } from './opset';

function modelWith(opset: number, ...nodes: ReturnType<typeof makeNode>[]) {
  return makeModel({ graph: makeGraph({ nodes }), irVersion: 4, opsetImport: [{ domain: '', version: opset }] });
}

describe('canRaiseOpset', () => {
  it('allows ops whose revisions only widened types or added optional attributes', () => {
    const m = modelWith(9, makeNode('Conv', ['x', 'w'], ['c']), makeNode('Relu', ['c'], ['r']), makeNode('Gemm', ['r', 'b', 'c2'], ['y']), makeNode('MaxPool', ['y'], ['z']));
    expect(canRaiseOpset(m, 21)).toEqual({ ok: true });
  });

  it('refuses when a node would change meaning or signature, naming it', () => {
    const m = modelWith(11, makeNode('Unsqueeze', ['x'], ['u'], [attr.ints('axes', [0])], { name: 'u1' }));
    expect(canRaiseOpset(m, 12)).toEqual({ ok: true });
    expect(canRaiseOpset(m, 13)).toEqual({ ok: false, reason: 'node "u1" (Unsqueeze) would change at opset 13: axes became an input' });
    expect(canRaiseOpset(modelWith(12, makeNode('Softmax', ['x'], ['y'], [], { name: 's' })), 13).ok).toBe(false);
    expect(canRaiseOpset(modelWith(13, makeNode('Softmax', ['x'], ['y'])), 21).ok).toBe(true);
    // Squeeze without axes means the same before and after 13
    expect(canRaiseOpset(modelWith(11, makeNode('Squeeze', ['x'], ['y'])), 21).ok).toBe(true);
    expect(canRaiseOpset(modelWith(17, makeNode('ReduceMean', ['x'], ['y'], [attr.ints('axes', [1])])), 21).ok).toBe(false);
  });

  it('refuses unknown ops and looks inside subgraphs', () => {
    expect(canRaiseOpset(modelWith(13, makeNode('FancyOp', ['x'], ['y'], [], { name: 'f' })), 21)).toEqual({
      ok: false,
      reason: 'node "f" (FancyOp) is not an operator this check knows',
    });
    const sub = makeGraph({ nodes: [makeNode('Slice', ['a'], ['b'], [attr.ints('starts', [0])], { name: 'old_slice' })] });
    const m = modelWith(9, makeNode('If', ['c'], ['y'], [attr.graph('then_branch', sub), attr.graph('else_branch', makeGraph())]));
    expect(canRaiseOpset(m, 13)).toMatchObject({ ok: false, reason: expect.stringContaining('old_slice') });
  });

  it('raises the opset and the IR version it needs', () => {
    const m = modelWith(13, makeNode('Relu', ['x'], ['y']));
    raiseOpset(m, 21);
    expect(defaultOpset(m)).toBe(21);
    expect(m.irVersion).toBe(10);
  });
});
