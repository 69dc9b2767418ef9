/** Number formatting for the Benchmark tab. */
import type { BackendId, JobResult } from '../../state/bench-store';

export const BACKEND_NAMES: Record<BackendId, string> = {
  'wasm-1': 'wasm, 1 thread',
  'wasm-n': 'wasm, threads',
  webgl: 'WebGL',
  webgpu: 'WebGPU',
};

export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v >= 100) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(2)} ms`;
  return `${(v * 1000).toFixed(0)} µs`;
}

export function db(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '∞ (identical)';
  return `${v.toFixed(2)} dB`;
}

export function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(2)}%`;
}

export function num(v: number, digits = 6): string {
  if (Number.isNaN(v)) return 'NaN';
  return v.toFixed(digits);
}

export function sci(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === 0) return '0';
  return v.toExponential(2);
}

/** A number for data-* attributes (Infinity as "Infinity", NaN as "NaN"). */
export function raw(v: number | undefined): string {
  return v === undefined ? '' : String(v);
}

/** One backend's results: the original's and the compressed model's. */
export type Pair = { backend: BackendId; original?: JobResult; compressed?: JobResult };

/** Results grouped per backend, in the order they arrived. */
export function byBackend(results: readonly JobResult[]): Pair[] {
  const order: BackendId[] = [];
  for (const r of results) if (!order.includes(r.backend)) order.push(r.backend);
  return order.map((backend) => ({
    backend,
    original: results.find((r) => r.backend === backend && r.model === 'original'),
    compressed: results.find((r) => r.backend === backend && r.model === 'compressed'),
  }));
}
