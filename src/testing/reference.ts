/**
 * Naive reference implementations of a few ONNX operators, written from the operator spec, used
 * by fixtures to state their expected outputs independently of any model decoding: a wrong
 * weight decode in the codec makes onnxruntime's output differ from these.
 * Accumulation is in float64; results are float32. Layouts follow ONNX (row-major, NCHW).
 */

type Num = ArrayLike<number>;

/** a [m, k] x b [k, n] -> [m, n] */
export function matmul(a: Num, b: Num, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** x [rows, cols] + bias [cols] */
export function addRow(x: Num, bias: Num, cols: number): Float32Array {
  return Float32Array.from({ length: x.length }, (_, i) => x[i] + bias[i % cols]);
}

export function map(x: Num, f: (v: number, i: number) => number): Float32Array {
  return Float32Array.from({ length: x.length }, (_, i) => f(x[i], i));
}

export const relu = (x: Num) => map(x, (v) => (v > 0 ? v : 0));
export const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const leakyRelu = (x: Num, alpha: number) => map(x, (v) => (v >= 0 ? v : alpha * v));

/** Gemm with transB: a [m, k], b [n, k], bias [n] -> [m, n] */
export function gemmTransB(a: Num, b: Num, bias: Num | undefined, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Softmax over the last axis of [rows, cols]. */
export function softmaxRows(x: Num, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.exp(x[r * cols + c] - max) / sum;
  }
  return out;
}

export interface Nchw {
  data: Float32Array;
  dims: [number, number, number, number];
}

/** Conv2d, group 1, symmetric padding `pad`, stride `stride`. w [o, c, kh, kw]. */
export function conv2d(x: Nchw, w: Num, wDims: [number, number, number, number], bias: Num | undefined, pad: number, stride: number): Nchw {
  const [n, c, h, wd] = x.dims;
  const [o, wc, kh, kw] = wDims;
  if (wc !== c) throw new Error('conv2d: channel mismatch');
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const out = new Float32Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = bias ? bias[oc] : 0;
          for (let ic = 0; ic < c; ic++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * stride - pad + ky;
                const ix = xx * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += x.data[((b * c + ic) * h + iy) * wd + ix] * w[((oc * c + ic) * kh + ky) * kw + kx];
              }
          out[((b * o + oc) * oh + y) * ow + xx] = s;
        }
  return { data: out, dims: [n, o, oh, ow] };
}

/** Inference BatchNormalization over the channel axis of NCHW. */
export function batchNorm(x: Nchw, scale: Num, bias: Num, mean: Num, variance: Num, eps: number): Nchw {
  const [, c, h, w] = x.dims;
  const plane = h * w;
  const out = map(x.data, (v, i) => {
    const ch = Math.floor(i / plane) % c;
    return ((v - mean[ch]) / Math.sqrt(variance[ch] + eps)) * scale[ch] + bias[ch];
  });
  return { data: out, dims: x.dims };
}

/** MaxPool2d with kernel k, stride s, no padding. */
export function maxPool2d(x: Nchw, k: number, s: number): Nchw {
  const [n, c, h, w] = x.dims;
  const oh = Math.floor((h - k) / s) + 1;
  const ow = Math.floor((w - k) / s) + 1;
  const out = new Float32Array(n * c * oh * ow);
  for (let b = 0; b < n * c; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let m = -Infinity;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++) m = Math.max(m, x.data[(b * h + y * s + ky) * w + xx * s + kx]);
        out[(b * oh + y) * ow + xx] = m;
      }
  return { data: out, dims: [n, c, oh, ow] };
}

/**
 * ONNX LSTM, one direction, default activations (Sigmoid, Tanh, Tanh), gate order i, o, f, c.
 * x [T, B, I]; w [4H, I]; r [4H, H]; wb, rb [4H]. Returns Y [T, 1, B, H], Y_h and Y_c [1, B, H].
 */
export function lstm(x: Num, T: number, B: number, I: number, w: Num, r: Num, wb: Num, rb: Num, H: number) {
  const y = new Float32Array(T * B * H);
  const h = new Float64Array(B * H);
  const c = new Float64Array(B * H);
  for (let t = 0; t < T; t++) {
    const hPrev = Float64Array.from(h);
    for (let b = 0; b < B; b++) {
      const gate = (g: number, j: number) => {
        const row = g * H + j;
        let s = wb[row] + rb[row];
        for (let p = 0; p < I; p++) s += x[(t * B + b) * I + p] * w[row * I + p];
        for (let p = 0; p < H; p++) s += hPrev[b * H + p] * r[row * H + p];
        return s;
      };
      for (let j = 0; j < H; j++) {
        const ig = sigmoid(gate(0, j));
        const og = sigmoid(gate(1, j));
        const fg = sigmoid(gate(2, j));
        const cg = Math.tanh(gate(3, j));
        const k = b * H + j;
        c[k] = fg * c[k] + ig * cg;
        h[k] = og * Math.tanh(c[k]);
        y[(t * B + b) * H + j] = h[k];
      }
    }
  }
  return { y, yh: Float32Array.from(h), yc: Float32Array.from(c) };
}

/** Dequantize: (q - zeroPoint) * scale, with per-element scale/zero point lookups. */
export function dequantize(q: ArrayLike<number>, scaleAt: (i: number) => number, zeroAt: (i: number) => number): Float32Array {
  return Float32Array.from({ length: q.length }, (_, i) => Math.fround((q[i] - zeroAt(i)) * scaleAt(i)));
}
