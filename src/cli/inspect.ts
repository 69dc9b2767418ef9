/** `inspect`: a readable summary of a model, or the summary object as JSON. */
import { formatBytes, formatCount } from '../core/bytes-and-counts';
import type { IoSummary, ModelSummary } from '../onnx/summary';

function table(rows: string[][], indent = '  '): string[] {
  if (rows.length === 0) return [];
  // (reduce, not Math.max(...): a model with a few hundred thousand rows would overflow the call's arguments)
  const widths = rows[0].map((_, c) => rows.reduce((m, r) => Math.max(m, (r[c] ?? '').length), 0));
  return rows.map((r) =>
    (indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).trimEnd(),
  );
}

const shapeText = (shape: IoSummary['shape']) => (shape === null ? '(unranked)' : `[${shape.join(', ')}]`);

/** The human-readable form of a summary, as lines. */
export function formatSummary(s: ModelSummary): string[] {
  const lines: string[] = [];
  const opsets = Object.entries(s.opsets)
    .map(([d, v]) => `${d === '' ? 'ai.onnx' : d} ${v}`)
    .join(', ');
  lines.push(`${s.fileName}  (${formatBytes(s.fileSize)})`);
  lines.push(`  IR version   ${s.irVersion ?? '?'}`);
  lines.push(`  producer     ${[s.producer.name, s.producer.version].filter(Boolean).join(' ') || '(none)'}`);
  lines.push(`  opsets       ${opsets || '(none)'}`);
  lines.push(
    `  nodes        ${s.nodeCount}${s.graphCount > 1 ? ` in ${s.graphCount} graphs` : ''}${s.functionCount ? `, ${s.functionCount} functions` : ''}`,
  );
  lines.push(`  parameters   ${formatCount(s.params)} (${s.params})`);
  lines.push(
    `  weights      ${formatBytes(s.weightBytes)}${s.externalBytes ? `, ${formatBytes(s.externalBytes)} external in ${s.externalFiles.join(', ')}` : ''}`,
  );
  if (s.renamedNodes) lines.push(`  renamed      ${s.renamedNodes} nodes had an empty or repeated name`);
  if (s.reorderedNodes) lines.push(`  reordered    ${s.reorderedNodes} nodes read a value made by a node listed after them (onnxruntime runs it; ONNX asks for topological order): put in that order`);
  const meta = Object.entries(s.metadata);
  for (const [k, v] of meta) lines.push(`  meta         ${k} = ${v.replace(/\s+/g, ' ').slice(0, 120)}`);

  lines.push('', 'Inputs');
  lines.push(...table(s.inputs.map((i) => [i.name, i.dtype, shapeText(i.shape)])));
  lines.push('', 'Outputs');
  lines.push(...table(s.outputs.map((o) => [o.name, o.dtype, shapeText(o.shape)])));

  lines.push('', 'Operators');
  lines.push(...table(Object.entries(s.opCounts).map(([op, n]) => [String(n).padStart(6), op || '(empty)'])));

  lines.push('', `Layers (${s.layers.length})`);
  if (s.layers.length === 0) lines.push('  (none: no node consumes a weight tensor)');
  const rows = s.layers.map((l) => [
    l.key,
    l.domain ? `${l.domain}.${l.op}` : l.op,
    formatCount(l.params),
    l.weights.map((w) => `${w.role === 'weight' ? '' : `${w.role} `}${w.dtype}[${w.shape.join('x')}]`).join(', '),
    [l.graph === 'main' ? '' : `in ${l.graph}`, l.quantized ? `already quantized (${l.quantized})` : '', l.sharedWith ? `its weight is ${l.sharedWith}'s (stored once)` : ''].filter(Boolean).join('; '),
  ]);
  if (rows.length) lines.push(...table([['key', 'op', 'params', 'weights', ''], ...rows]));
  if (s.layers.some((l) => l.op === 'tensor')) lines.push('  (op "tensor": a large float tensor no layer claims, compressed where it is stored; its key is its name)');
  return lines;
}
