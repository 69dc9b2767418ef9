/** Layer inputs for the GPTQ tests: standard normal draws, and H of correlated, ReLU'd rows. */
import { seeded } from '../../../testing/random';

/** One standard normal draw (Box–Muller). */
export function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
}

/** H = XᵀX of `samples` rows of correlated (four shared factors), ReLU'd inputs; `dead` columns are always zero. */
export function reluHessian(samples: number, cols: number, seed: number, dead: number[] = []): Float64Array {
  const rng = seeded(seed);
  const mix = Array.from({ length: cols * 4 }, () => gaussian(rng));
  const h = new Float64Array(cols * cols);
  const x = new Float64Array(cols);
  for (let s = 0; s < samples; s++) {
    const f = Array.from({ length: 4 }, () => gaussian(rng));
    for (let c = 0; c < cols; c++) {
      let v = 0.2 * gaussian(rng);
      for (let k = 0; k < 4; k++) v += f[k] * mix[c * 4 + k];
      x[c] = dead.includes(c) ? 0 : Math.max(0, v);
    }
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) h[i * cols + j] += x[i] * x[j];
  }
  return h;
}
