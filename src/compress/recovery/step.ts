/**
 * The recovery method's step in compressModel: after a weight is quantized (round to nearest, its
 * grid computed from the original values), GPTQ replaces the codes of each output channel with
 * ones that keep the layer's outputs on the calibration inputs closer (gptq.ts). Same grid, same
 * encoding, same bytes count: only codes change.
 */
import type { Layer } from '../../onnx/layers';
import type { QuantizedTensor } from '../quantize/quantize';
import type { RecoveryReport } from '../types';
import { gptqRows } from './gptq';
import { weightMatrix, type LayerHessian } from './hessian';

/** Refines `qt` (the layer's weight `values`, of shape `shape` as the layer reads it) in place; the report, or why not. */
export function recoverWeight(layer: Layer, shape: readonly number[], values: Float32Array, qt: QuantizedTensor, hessian: LayerHessian | undefined): { report?: RecoveryReport; note?: string } {
  if (!hessian) return { note: 'recovery gptq: no calibration inputs for this layer (give samples; Conv, Gemm and MatMul of the main graph only)' };
  const m = weightMatrix(layer, shape);
  if (!m || m.cols !== hessian.cols) return { note: `recovery gptq: its weight [${shape.join(', ')}] does not match its inputs (${hessian.cols} per row); round to nearest kept` };
  const groups = hessian.h.length;
  const per = m.rows / groups;
  let before = 0;
  let after = 0;
  const notes: string[] = [];
  for (let g = 0; g < groups; g++) {
    const rows = Array.from({ length: per }, (_, i) => g * per + i);
    const r = gptqRows(values, qt, m, rows, hessian.h[g]);
    if (!r.ok && r.note) notes.push(r.note);
    before += r.errorBefore / groups;
    after += r.errorAfter / groups;
  }
  const few = hessian.rows < m.cols ? `; ${hessian.rows} input rows for ${m.cols} columns: damped` : '';
  return {
    report: { method: 'gptq', errorBefore: before, errorAfter: after, rows: hessian.rows },
    ...(notes.length || few ? { note: `recovery gptq: ${[...new Set(notes)].join('; ')}${few}`.replace(': ; ', ': ') } : {}),
  };
}
