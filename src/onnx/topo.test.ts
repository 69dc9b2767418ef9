import { describe, expect, it } from 'vitest';
import { makeNode } from './build';
import { encodeModel } from './codec';
import { loadModel } from './load';
import { readsAhead, sortNodes, topoOrder } from './topo';
import { unsortedModel } from '../testing/unsorted';

describe('topological order', () => {
  it('orders nodes topologically even when the file does not; a cycle comes last in file order', () => {
    const nodes = [makeNode('Relu', ['b'], ['c']), makeNode('Relu', ['a'], ['b']), makeNode('Relu', ['x'], ['a'])];
    expect(topoOrder(nodes)).toEqual([2, 1, 0]);
    expect(readsAhead(nodes)).toBe(2);
    const cyc = [makeNode('Add', ['x', 'q'], ['p']), makeNode('Relu', ['p'], ['q']), makeNode('Relu', ['x'], ['r'])];
    expect(topoOrder(cyc)).toEqual([2, 0, 1]);
  });

  it("a node holding subgraphs waits for the outer values they read; a sorted list is left as it is", () => {
    const m = unsortedModel();
    const names = () => m.graph!.nodes.map((n) => n.name);
    // the Concat reads c32 (cast_out, listed last); the If's branches read `late` (listed after it)
    expect(readsAhead(m.graph!.nodes)).toBe(2);
    expect(sortNodes(m)).toBe(2);
    expect(names()).toEqual(['conv1', 'cast_in', 'resize', 'cast_out', 'concat', 'conv2', 'late', 'branch']);
    expect(readsAhead(m.graph!.nodes)).toBe(0);
    expect(sortNodes(m)).toBe(0);
    expect(names()).toEqual(['conv1', 'cast_in', 'resize', 'cast_out', 'concat', 'conv2', 'late', 'branch']);
  });

  it('load puts the graph in order and says how many nodes read ahead', () => {
    expect(loadModel(encodeModel(unsortedModel())).reorderedNodes).toBe(2);
    const loaded = loadModel(encodeModel(unsortedModel(false)));
    expect(loaded.reorderedNodes).toBe(1);
    expect(loaded.model.graph!.nodes.map((n) => n.name)).toEqual(['conv1', 'cast_in', 'resize', 'cast_out', 'concat', 'conv2', 'late']);
  });
});
