/** A statistic for display: 4 significant digits, exponent for very small or large magnitudes. */
export function formatStat(v: number): string {
  if (Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** 0.1234 -> "12.3%" */
export function formatPercent(f: number): string {
  if (!Number.isFinite(f)) return '–';
  const p = f * 100;
  return `${p === 0 || p >= 10 ? p.toFixed(p % 1 === 0 ? 0 : 1) : p.toFixed(2)}%`;
}

/** "[16, 1, 3, 3]" */
export function formatDims(dims: readonly (number | string)[] | null): string {
  return dims === null ? 'unknown' : `[${dims.join(', ')}]`;
}
