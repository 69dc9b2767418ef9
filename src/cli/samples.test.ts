import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../bench/npy';
import type { IoSummary } from '../onnx/summary';
import { readSamples } from './samples';

const io = (name: string, shape: (number | string)[]): IoSummary => ({ name, dtype: 'float32', shape }) as IoSummary;

describe('readSamples', () => {
  it('takes a .npy stacking N samples of a batch-1 input as N samples, named by index; a free batch keeps it whole', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stacked-'));
    fs.writeFileSync(path.join(dir, 'all.npy'), encodeNpy('float32', [3, 2], Float32Array.from([1, 2, 3, 4, 5, 6])));
    fs.writeFileSync(path.join(dir, 'one.npy'), encodeNpy('float32', [1, 2], Float32Array.from([7, 8])));
    const fixed = readSamples(dir, [io('x', [1, 2])]);
    expect(fixed.samples.map((s) => [s.name, s.inputs.x.dims, Array.from(s.inputs.x.data as Float32Array)])).toEqual([
      ['all.npy[0]', [1, 2], [1, 2]],
      ['all.npy[1]', [1, 2], [3, 4]],
      ['all.npy[2]', [1, 2], [5, 6]],
      ['one.npy', [1, 2], [7, 8]],
    ]);
    const free = readSamples(dir, [io('x', ['N', 2])]);
    expect(free.samples.map((s) => [s.name, s.inputs.x.dims])).toEqual([
      ['all.npy', [3, 2]],
      ['one.npy', [1, 2]],
    ]);
  });
});
