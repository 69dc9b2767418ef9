/**
 * The serving side of GPTQ's native products (gptq-simd.ts GptqNative): what a thread that owns a
 * runtime with native MatMul (the CLI's onnxruntime-node worker, cli/gptq-native.ts) does for each
 * call, reading GPTQ's shared memory. The runtime cannot read shared memory (onnxruntime-node
 * refuses a SharedArrayBuffer's view), so the server keeps its own copies: a chunk's W and D as
 * loaded (the errors' inputs, once a chunk), D's swept columns (added a block at a time) and the
 * block's rows of M (NATIVE_COLS × n a call: about n² a chunk).
 *
 * Per block of columns [i0, i1), one run of a small model:
 *   - S = D[:, :i0]·T[i0:i1, :i0]ᵀ (T: M's lower part), the sweep's sums over the columns before
 *     the block;
 *   - for X = W and X = D as loaded: rowsum(X[:, i0:i1]·Hu ∘ X[:, i0:]), Hu being H's rows i0 …
 *     i1 − 1 from column i0 on with its lower part 0 and half its diagonal: twice that is the
 *     block's share of x H xᵀ (each pair i < j once, the diagonal once), so the blocks' sums are
 *     the whole quadratic form at half the products of X·H.
 * The products sum in float32 in the runtime's order; the server adds the blocks in float64.
 */
import { makeGraph, makeModel, makeNode, makeValueInfo, attr } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType } from '../../onnx/types';
import type { RunModel } from '../activations/calibrate';
import { NATIVE_COLS } from './gptq-simd';

let models: { errors: Uint8Array; both: Uint8Array } | undefined;

/**
 * The block models, on the server's transposed copies ([n, rows]: a block's columns are a run of
 * rows there, handed over as views, so the runtime copies nothing):
 *   - errors: for X = W and D, rowsum over the block of Xᵀ[i0:i1] ∘ (Hu · Xᵀ[i0:]) → [rows];
 *   - both: the errors and Sᵀ = T[i0:i1, :i0] · Dᵀ[:i0] → [i1 − i0, rows].
 */
export function nativeModels(): { errors: Uint8Array; both: Uint8Array } {
  if (models) return models;
  const axis0 = makeTensor('axis0', DataType.INT64, [1], BigInt64Array.of(0n));
  const errorNodes = (x: string) => [
    makeNode('MatMul', ['hu', `${x}_rest`], [`${x}_g`], [], { name: `${x}_product` }),
    makeNode('Mul', [`${x}_g`, `${x}_block`], [`${x}_terms`], [], { name: `${x}_terms` }),
    makeNode('ReduceSum', [`${x}_terms`, 'axis0'], [`${x}_e`], [attr.int('keepdims', 0)], { name: `${x}_sum` }),
  ];
  const inputs = [
    makeValueInfo('hu', DataType.FLOAT, ['b', 'k']),
    makeValueInfo('w_rest', DataType.FLOAT, ['k', 'r']),
    makeValueInfo('w_block', DataType.FLOAT, ['b', 'r']),
    makeValueInfo('d_rest', DataType.FLOAT, ['k', 'r']),
    makeValueInfo('d_block', DataType.FLOAT, ['b', 'r']),
  ];
  const outputs = [makeValueInfo('w_e', DataType.FLOAT), makeValueInfo('d_e', DataType.FLOAT)];
  const model = (nodes: ReturnType<typeof makeNode>[], extraInputs: ReturnType<typeof makeValueInfo>[], extraOutputs: ReturnType<typeof makeValueInfo>[]) =>
    encodeModel(
      makeModel({
        graph: makeGraph({ nodes, initializers: [axis0], inputs: [...inputs, ...extraInputs], outputs: [...outputs, ...extraOutputs] }),
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
      }),
    );
  const common = [...errorNodes('w'), ...errorNodes('d')];
  models = {
    errors: model(common, [], []),
    both: model(
      [...common, makeNode('MatMul', ['t', 'dc'], ['s'], [], { name: 's' })],
      [makeValueInfo('t', DataType.FLOAT, ['b', 'i']), makeValueInfo('dc', DataType.FLOAT, ['i', 'r'])],
      [makeValueInfo('s', DataType.FLOAT)],
    ),
  };
  return models;
}

/** The operations of the protocol (cli/gptq-native.ts writes them, the server reads them). */
export const NativeOp = { BEGIN: 1, BLOCK: 2, FINISH: 3 } as const;

/** One chunk's state on the serving thread. */
export class GptqNativeServer {
  private rows = 0;
  private n = 0;
  /** W, D as loaded and D's swept columns, transposed ([n, rows]) */
  private wt = new Float32Array(0);
  private dt = new Float32Array(0);
  private dct = new Float32Array(0);
  /** D's columns [0, swept) are in dct */
  private swept = 0;
  /** D's byte offset in the memory (the chunk's lane) */
  private dAt = 0;
  private hu = new Float32Array(0);
  private t = new Float32Array(0);
  private ew = new Float64Array(0);
  private ed = new Float64Array(0);

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly run: RunModel,
  ) {}

  /** Serves one call (`args` as GptqNative's methods take them). */
  async handle(op: number, args: readonly number[]): Promise<void> {
    if (op === NativeOp.BEGIN) return this.begin(args[0], args[1], args[2], args[3]);
    if (op === NativeOp.BLOCK) return this.block(args[0], args[1], args[2], args[3], args[4]);
    if (op === NativeOp.FINISH) return this.finish(args[0]);
    throw new Error(`GPTQ native: unknown operation ${op}`);
  }

  private begin(rows: number, n: number, W: number, D: number): void {
    const f = new Float32Array(this.memory.buffer);
    const len = rows * n;
    if (this.wt.length < len) {
      this.wt = new Float32Array(len);
      this.dt = new Float32Array(len);
      this.dct = new Float32Array(len);
    }
    this.rows = rows;
    this.n = n;
    transposeInto(f, W / 4, rows, n, 0, n, this.wt);
    transposeInto(f, D / 4, rows, n, 0, n, this.dt);
    this.swept = 0;
    this.dAt = D;
    this.ew = new Float64Array(rows);
    this.ed = new Float64Array(rows);
  }

  private async block(i0: number, i1: number, M: number, HDIAG: number, S: number): Promise<void> {
    const { rows, n } = this;
    const buffer = this.memory.buffer;
    const f = new Float32Array(buffer);
    const b = i1 - i0;
    const k = n - i0;
    // Hu: H's rows i0 … i1 − 1 from column i0 on (M's strict upper part), the lower part 0 and half the diagonal
    if (this.hu.length < b * k) this.hu = new Float32Array(NATIVE_COLS * n);
    const hu = this.hu.subarray(0, b * k);
    const hd = new Float64Array(buffer, HDIAG, n);
    for (let r = 0; r < b; r++) {
      const from = M / 4 + (i0 + r) * n + i0;
      hu.set(f.subarray(from, from + k), r * k);
      hu.fill(0, r * k, r * k + r);
      hu[r * k + r] = hd[i0 + r] / 2;
    }
    const mat = (data: Float32Array, d0: number, d1: number) => ({ dtype: 'float32' as const, dims: [d0, d1], data });
    const feeds: Parameters<RunModel>[1] = {
      hu: mat(hu, b, k),
      w_rest: mat(this.wt.subarray(i0 * rows, n * rows), k, rows),
      w_block: mat(this.wt.subarray(i0 * rows, i1 * rows), b, rows),
      d_rest: mat(this.dt.subarray(i0 * rows, n * rows), k, rows),
      d_block: mat(this.dt.subarray(i0 * rows, i1 * rows), b, rows),
    };
    const sums = S >= 0 && i0 > 0;
    if (sums) {
      // D's columns swept since the last block, and T's rows of this block before it
      transposeInto(f, this.dAt / 4, rows, n, this.swept, i0, this.dct);
      this.swept = i0;
      if (this.t.length < b * i0) this.t = new Float32Array(NATIVE_COLS * n);
      const t = this.t.subarray(0, b * i0);
      for (let r = 0; r < b; r++) {
        const from = M / 4 + (i0 + r) * n;
        t.set(f.subarray(from, from + i0), r * i0);
      }
      feeds.t = mat(t, b, i0);
      feeds.dc = mat(this.dct.subarray(0, i0 * rows), i0, rows);
    }
    const got = await this.run(sums ? nativeModels().both : nativeModels().errors, feeds);
    const ew = float32(got.w_e?.data, rows, 'w_e');
    const ed = float32(got.d_e?.data, rows, 'd_e');
    for (let r = 0; r < rows; r++) {
      this.ew[r] += 2 * ew[r];
      this.ed[r] += 2 * ed[r];
    }
    // Sᵀ [b, rows], as the workspace reads it
    if (sums) new Float32Array(this.memory.buffer, S, rows * b).set(float32(got.s?.data, rows * b, 's'));
  }

  private finish(res: number): void {
    const out = new Float64Array(this.memory.buffer, res, 2 * this.rows);
    out.set(this.ed);
    out.set(this.ew, this.rows);
  }
}

/** Columns [c0, c1) of the row-major [rows, n] matrix at float index `at` of `f`, into rows c0 … c1 − 1 of `out` ([n, rows]). */
function transposeInto(f: Float32Array, at: number, rows: number, n: number, c0: number, c1: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const src = at + r * n;
    for (let c = c0; c < c1; c++) out[c * rows + r] = f[src + c];
  }
}

function float32(data: unknown, length: number, what: string): Float32Array {
  if (!(data instanceof Float32Array) || data.length !== length) throw new Error(`GPTQ native: ${what} did not come back as ${length} float32 values`);
  return data;
}
