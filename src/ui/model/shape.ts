/**
 * "[1, 3, 224, 224]", symbolic dims as their names: "[batch, 3, 224, 224]"; scalars "[]";
 * an unranked tensor (no shape at all) "unknown".
 */
export function formatShape(shape: readonly (number | string | null | undefined)[] | null | undefined): string {
  if (shape === null || shape === undefined) return 'unknown';
  return `[${shape.map((d) => (d === null || d === undefined || d === '' ? '?' : String(d))).join(', ')}]`;
}

/** 1234567 -> "1,234,567" */
export function formatInteger(n: number): string {
  return n.toLocaleString('en-US');
}
