/**
 * The strided views' fast paths (gptq.ts columnGroups, used by GPTQ's fill and step.ts biasDelta):
 * for every weight view weightMatrix makes and every quantization layout, the group of (r, c) is
 * the group of (r, 0) plus columnGroups' (0, c), and `at` is r·strides[0] + c·strides[1]; and the
 * results do not depend on the fast path (a view without strides gives the same bits).
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeNode } from '../../onnx/build';
import type { Layer } from '../../onnx/layers';
import { quantizeTensor, type GroupLayout } from '../quantize/quantize';
import { columnGroups, gptqRows, groupOfElement, type WeightMatrix } from './gptq';
import { weightMatrix } from './hessian';
import { biasDelta } from './step';
import { gaussian } from './testing/hessian';

const layerOf = (op: 'Conv' | 'MatMul' | 'Gemm', transB = 0): Layer => ({ op, node: makeNode(op, ['x', 'w'], ['y'], op === 'Gemm' ? [attr.int('transB', transB)] : []) }) as unknown as Layer;

const CASES: { name: string; layer: Layer; shape: number[]; layouts: GroupLayout[] }[] = [
  {
    name: 'Conv [O, I, kh, kw]',
    layer: layerOf('Conv'),
    shape: [6, 8, 3, 3],
    layouts: [{ kind: 'tensor' }, { kind: 'channel', axis: 0 }, { kind: 'block', axis: 1, blockSize: 4 }, { kind: 'block', axis: 0, blockSize: 4 }],
  },
  {
    name: 'MatMul [K, N]',
    layer: layerOf('MatMul'),
    shape: [40, 12],
    layouts: [{ kind: 'tensor' }, { kind: 'channel', axis: 1 }, { kind: 'block', axis: 0, blockSize: 16 }, { kind: 'channel', axis: 0 }],
  },
  { name: 'Gemm [K, N]', layer: layerOf('Gemm'), shape: [40, 12], layouts: [{ kind: 'channel', axis: 1 }, { kind: 'block', axis: 0, blockSize: 8 }] },
  { name: 'Gemm transB [N, K]', layer: layerOf('Gemm', 1), shape: [12, 40], layouts: [{ kind: 'channel', axis: 0 }, { kind: 'block', axis: 1, blockSize: 16 }] },
];

const random = (n: number, seed: number) => {
  const rng = seeded(seed);
  return Float32Array.from({ length: n }, () => gaussian(rng));
};
/** the same view without its strides (the general path: `at` and groupOfElement per element) */
const plain = (m: WeightMatrix): WeightMatrix => ({ rows: m.rows, cols: m.cols, at: m.at });

describe('strided weight views', () => {
  for (const c of CASES) {
    for (const layout of c.layouts) {
      const label = `${c.name}, ${layout.kind}${'axis' in layout ? ` axis ${layout.axis}` : ''}`;
      it(`${label}: at and the groups follow the strides`, () => {
        const values = random(c.shape.reduce((p, d) => p * d, 1), 1);
        const qt = quantizeTensor(values, c.shape, layout, 4, true);
        const m = weightMatrix(c.layer, c.shape) as WeightMatrix;
        const [rs, cs] = m.strides as readonly [number, number];
        const cg = columnGroups(qt, m) as Int32Array;
        const seen = new Set<number>();
        for (let r = 0; r < m.rows; r++)
          for (let k = 0; k < m.cols; k++) {
            const e = m.at(r, k);
            seen.add(e);
            expect(e).toBe(r * rs + k * cs);
            expect(groupOfElement(qt, m.at(r, 0)) + cg[k]).toBe(groupOfElement(qt, e));
          }
        // every element once
        expect(seen.size).toBe(values.length);
      });
      it(`${label}: bias correction and GPTQ give the same bits with and without the strides`, () => {
        const values = random(c.shape.reduce((p, d) => p * d, 1), 2);
        const m = weightMatrix(c.layer, c.shape) as WeightMatrix;
        const mean = [Float64Array.from(random(m.cols, 3), (v) => v + 0.5)];
        const qt = quantizeTensor(values, c.shape, layout, 4, false);
        expect(biasDelta(values, qt, m, mean)).toEqual(biasDelta(values, qt, plain(m), mean));
        const written = Float32Array.from(values, (v) => Math.fround(v * 0.9));
        expect(biasDelta(values, undefined, m, mean, written)).toEqual(biasDelta(values, undefined, plain(m), mean, written));
        // H of correlated inputs
        const x = random(64 * m.cols, 4);
        const h = new Float64Array(m.cols * m.cols);
        for (let s = 0; s < 64; s++) for (let i = 0; i < m.cols; i++) for (let j = 0; j < m.cols; j++) h[i * m.cols + j] += x[s * m.cols + i] * x[s * m.cols + j] + (i === j ? 1 : 0);
        const rows = Array.from({ length: m.rows }, (_, r) => r);
        for (const actOrder of [false, true]) {
          const [a, b] = [quantizeTensor(values, c.shape, layout, 4, false), quantizeTensor(values, c.shape, layout, 4, false)];
          const ra = gptqRows(values, a, m, rows, h, { actOrder });
          const rb = gptqRows(values, b, plain(m), rows, h, { actOrder });
          expect(ra).toEqual(rb);
          expect(a.q).toEqual(b.q);
          // GPTQ changed some codes (the comparison is not of two untouched tensors)
          expect(a.q).not.toEqual(quantizeTensor(values, c.shape, layout, 4, false).q);
        }
      });
    }
  }
});
