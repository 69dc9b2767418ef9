/**
 * The export report on a real compression of a synthetic CNN: JSON (identity, per-layer settings
 * and encodings, sizes, optional sections), Markdown and CSV, and their escaping rules.
 */
import { describe, expect, it } from 'vitest';
import { compressModel } from './compress';
import { makeRecipe, parseRecipeText, type Recipe } from './recipe';
import { buildReport, csvField, CSV_COLUMNS, layersCsv, reportJson, reportMarkdown, type ReportInput } from './report';
import { cnnFixture } from './testing/fixtures';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

function input(recipe: Recipe, extra: Partial<ReportInput> = {}): ReportInput {
  const { report } = compressModel(cnnFixture().model, recipe);
  return {
    generatedAt: '2026-01-02T03:04:05.000Z',
    tool: 'ONNX Compression Studio 0.1.0',
    modelName: 'cnn.onnx',
    original: [{ name: 'cnn.onnx', bytes: 12000, sha256: HASH_A }],
    result: [{ name: 'cnn.int8.onnx', bytes: 4000, sha256: HASH_B }],
    recipe,
    compress: report,
    ...extra,
  };
}

/** Splits CSV text (RFC 4180) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('buildReport', () => {
  const recipe = makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }, { conv2: { weights: 'int4', granularity: 'block', blockSize: 16 } });

  it('holds identity, sizes, the recipe and every layer with its requested settings and applied encodings', () => {
    const inp = input(recipe);
    const r = buildReport(inp);
    expect(r.format).toBe('onnx-compression-report');
    expect(r.model).toEqual({
      name: 'cnn.onnx',
      original: inp.original,
      result: inp.result,
      originalBytes: 12000,
      resultBytes: 4000,
      ratio: 3,
    });
    expect(r.target).toBe('portable');
    expect(r.layers.map((l) => l.key)).toEqual(inp.compress.layers.map((l) => l.key));
    const conv2 = r.layers.find((l) => l.key === 'conv2')!;
    expect(conv2).toMatchObject({ weights: 'int4', granularity: 'block', blockSize: 16, op: 'Conv' });
    expect(conv2.applied).toBe(inp.compress.layers.find((l) => l.key === 'conv2')!.applied);
    expect(conv2.encodings.length).toBeGreaterThan(0);
    expect(conv2.encodings[0].bytesAfter).toBeLessThan(conv2.encodings[0].bytesBefore);
    const conv1 = r.layers.find((l) => l.key === 'conv1')!;
    expect(conv1.weights).toBe('int8');
    expect(r.weights.bytesAfter).toBe(inp.compress.bytesAfter);
    // the recipe round-trips through the report
    expect(parseRecipeText(JSON.stringify(r.recipe))).toEqual(parseRecipeText(JSON.stringify(recipe)));
    // no measurements given: no such sections
    expect(r).not.toHaveProperty('fidelity');
    expect(r).not.toHaveProperty('accuracy');
    expect(r).not.toHaveProperty('benchmark');
    expect(JSON.parse(reportJson(r))).toEqual(r);
  });

  it('adds fidelity, accuracy and benchmark sections to JSON and Markdown when given', () => {
    const r = buildReport(
      input(recipe, {
        fidelity: { inputs: '2 random input sets', rows: [{ backend: 'wasm', ok: true, cosine: 0.99991234567, maxAbsDiff: 0.0123 }] },
        accuracy: { dataset: 'digits-test (450)', samples: 450, original: 447 / 450, compressed: 446 / 450 },
        benchmark: {
          method: '20 runs after 3 warm-up runs',
          rows: [
            { backend: 'wasm', metric: 'median latency (own run)', unit: 'ms', original: 2, compressed: 1.5 },
            { backend: 'webgpu', metric: 'side by side (12 rounds)', unit: 'ms', original: 10149, compressed: 10149 / 0.96, speedup: 0.96 },
          ],
        },
      }),
    );
    expect(r.fidelity?.rows[0].cosine).toBe(0.99991234567);
    expect(r.accuracy?.samples).toBe(450);
    const md = reportMarkdown(r);
    expect(md).toContain('## Fidelity');
    expect(md).toContain('| wasm | yes | 0.999912 | 0.0123 |');
    expect(md).toContain('| digits-test (450) | 450 | 99.33% | 99.11% | -0.22 pt |');
    // one speed-up, one direction (original / compressed), given where it was measured side by side;
    // no ratio of separate runs' medians (which read 1.223x "compressed / original" beside 0.96x)
    expect(md).toContain('| speed-up (original / compressed) |');
    expect(md).toContain('| wasm | median latency (own run) | 2 ms | 1.5 ms | — |');
    expect(md).toContain('| webgpu | side by side (12 rounds) | 10150 ms | 10570 ms | 0.96x |');
  });

  it('writes Markdown with the identity, per-layer table and the recipe', () => {
    const inp = input(recipe);
    const md = reportMarkdown(buildReport(inp));
    expect(md.startsWith('# Compression report: cnn.onnx\n')).toBe(true);
    expect(md).toContain(`\`${HASH_A}\``);
    expect(md).toContain(`\`${HASH_B}\``);
    expect(md).toContain('(3.00x smaller)');
    for (const l of inp.compress.layers) expect(md).toContain(`| \`${l.key}\` | ${l.op} |`);
    expect(md).toContain('int4, block 16');
    expect(md).toContain('```json\n{\n  "format": "onnx-compression-recipe"');
    expect(md).not.toContain('## Fidelity');
  });

  it('writes one CSV row per layer that a CSV reader reads back', () => {
    const inp = input(recipe);
    const r = buildReport(inp);
    const rows = parseCsv(layersCsv(r));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.length).toBe(1 + r.layers.length);
    for (const [i, l] of r.layers.entries()) {
      const row = Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, rows[i + 1][k]]));
      expect(row.key).toBe(l.key);
      expect(row.weights).toBe(l.weights);
      expect(Number(row.bytes_before)).toBe(l.bytesBefore);
      expect(Number(row.bytes_after)).toBe(l.bytesAfter);
      expect(row.applied).toBe(l.applied);
    }
  });

  it('escapes CSV fields and Markdown cells, and disarms spreadsheet formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=cmd()')).toBe("'=cmd()");
    expect(csvField('-x')).toBe("'-x");
    expect(csvField(-1.5)).toBe('-1.5');
    const inp = input(recipe);
    const layer = inp.compress.layers[0];
    const renamed = { ...inp, compress: { ...inp.compress, layers: [{ ...layer, key: 'a|b\nc', notes: ['x, "y"'] }] } };
    const r = buildReport(renamed);
    expect(reportMarkdown(r)).toContain('`a\\|b c`');
    expect(parseCsv(layersCsv(r))[1][0]).toBe('a|b\nc');
    expect(parseCsv(layersCsv(r))[1].at(-1)).toBe('x, "y"');
  });

  it('refuses a report without files', () => {
    expect(() => buildReport({ ...input(recipe), result: [] })).toThrow(/original and the result/);
  });
});
