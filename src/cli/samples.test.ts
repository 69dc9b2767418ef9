import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../bench/npy';
import type { IoSummary } from '../onnx/summary';
import { readSamples } from './samples';

const io = (name: string, shape: (number | string)[]): IoSummary => ({ name, dtype: 'float32', shape }) as IoSummary;

describe('readSamples', () => {
  it('takes a .npy stacking N samples along a batch axis (fixed 1 or symbolic) as N samples, named by index; another first dim keeps it whole', () => {
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
    // a symbolic batch splits too; a symbolic first dim that is not a batch (a sequence) keeps the array whole
    const free = readSamples(dir, [io('x', ['batch', 2])]);
    expect(free.samples.map((s) => s.name)).toEqual(['all.npy[0]', 'all.npy[1]', 'all.npy[2]', 'one.npy']);
    const sequence = readSamples(dir, [io('x', ['time', 2])]);
    expect(sequence.samples.map((s) => [s.name, s.inputs.x.dims])).toEqual([
      ['all.npy', [3, 2]],
      ['one.npy', [1, 2]],
    ]);
  });
});
