import { describe, expect, it } from 'vitest';
import type { RunModel } from '../compress/activations/calibrate';
import { nodeRunModel } from '../compress/recovery/testing/node-run';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { DataType } from '../onnx/types';
import { pacedRunModel } from './gc-pace';

const MiB = 2 ** 20;

describe('pacedRunModel: garbage collected as the outputs pile up', () => {
  it('collects before a run once the earlier runs returned the limit, then counts again; the outputs and the flags pass through', async () => {
    const events: string[] = [];
    let k = 0;
    const inner: RunModel = async () => {
      events.push(`run ${++k}`);
      // 3 MiB of float32 and an int64 shape: only typed arrays are counted
      return { h: { dims: [3 * MiB / 4], data: new Float32Array((3 * MiB) / 4) }, shape: { dims: [1], data: BigInt64Array.of(7n) } };
    };
    inner.keepsSession = true;
    inner.nativeProducts = true;
    inner.feedWeights = true;
    const released: Uint8Array[] = [];
    inner.release = async (b) => void released.push(b);
    const paced = pacedRunModel(inner, 8 * MiB, () => events.push('gc'));
    for (let i = 0; i < 7; i++) {
      const out = await paced(new Uint8Array(1), {});
      expect((out.h.data as Float32Array).length).toBe((3 * MiB) / 4);
    }
    // 3, 6, 9 MiB (+8 bytes each): the fourth run collects first; 3, 6, 9 again: the seventh
    expect(events).toEqual(['run 1', 'run 2', 'run 3', 'gc', 'run 4', 'run 5', 'run 6', 'gc', 'run 7']);
    expect([paced.keepsSession, paced.nativeProducts, paced.feedWeights]).toEqual([true, true, true]);
    const bytes = new Uint8Array(2);
    await paced.release?.(bytes);
    expect(released).toEqual([bytes]);
  });

  it("with V8's own collector, onnxruntime-node runs as before", async () => {
    const graph = makeGraph({ nodes: [makeNode('Relu', ['x'], ['y'], [], { name: 'relu' })], inputs: [makeValueInfo('x', DataType.FLOAT, [4])], outputs: [makeValueInfo('y', DataType.FLOAT, [4])] });
    const bytes = encodeModel(makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }));
    const run = pacedRunModel(nodeRunModel(), 1);
    for (let i = 0; i < 3; i++) {
      const out = await run(bytes, { x: { dtype: 'float32', dims: [4], data: Float32Array.of(-1, 2, -3, i) } });
      expect(Array.from(out.y.data as Float32Array)).toEqual([0, 2, 0, i]);
    }
    await run.release?.(bytes);
  });
});
