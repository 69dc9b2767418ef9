/**
 * Operator documentation: the lookup picks the schema version in force at the model's opset, and
 * the committed data (scripts/make-op-docs.py) documents every standard op the fixtures, the real
 * exports and the built-in sample use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../testing/fixtures';
import { decodeModel } from './codec';
import { modelGraphs } from './names';
import { findOpDoc, loadOpDocs, schemaDomain, type OpDoc, type OpDocs } from './op-docs';
import type { Model } from './types';

const docs = await loadOpDocs();

function since(domain: string, op: string, opset: number | undefined): number | undefined {
  const r = findOpDoc(docs, domain, op, opset);
  return r.found ? r.doc.since : undefined;
}

function version(n: number): OpDoc {
  return { since: n, summary: `v${n}`, inputs: [], outputs: [], attributes: [], constraints: [] };
}

describe('findOpDoc', () => {
  it('takes the newest since_version at or below the opset (Resize 10/11/13/18/19)', () => {
    const table: OpDocs = { source: 'test', opset: { '': 19 }, ops: { '': { Resize: [10, 11, 13, 18, 19].map(version) } } };
    const at = (opset: number) => {
      const r = findOpDoc(table, '', 'Resize', opset);
      return r.found ? r.doc.since : r.reason;
    };
    expect([10, 11, 12, 13, 17, 18, 19, 21].map(at)).toEqual([10, 11, 11, 13, 13, 18, 19, 19]);
    expect(at(9)).toBe('Resize first appears in ai.onnx opset 10; this model imports opset 9.');
  });

  it('picks Conv and Resize from the real schemas by opset', () => {
    expect(docs.source).toMatch(/^onnx \d+\.\d+/);
    expect(since('', 'Conv', 9)).toBe(1);
    expect(since('ai.onnx', 'Conv', 11)).toBe(11);
    expect(since('', 'Conv', 21)).toBe(docs.ops[''].Conv.at(-1)!.since);
    expect(since('', 'Conv', 21)).toBeGreaterThanOrEqual(11);
    expect(since('', 'Resize', 10)).toBe(10);
    expect(since('', 'Resize', 11)).toBe(11);
    expect(since('', 'Resize', 13)).toBe(13);
    // the newest Resize the data knows at or below 18 and 19 (13 with Debian's onnx 1.12; 18/19 with newer packages)
    for (const opset of [18, 19]) {
      const expected = Math.max(...docs.ops[''].Resize.map((v) => v.since).filter((s) => s <= opset));
      expect(since('', 'Resize', opset)).toBe(expected);
      expect(expected).toBeGreaterThanOrEqual(13);
    }
    expect(since('', 'Resize', 9)).toBeUndefined();
    // no opset imported for the domain: the newest
    expect(since('', 'Conv', undefined)).toBe(docs.ops[''].Conv.at(-1)!.since);
  });

  it('documents Conv: summary, inputs, attributes and type constraints', () => {
    const r = findOpDoc(docs, '', 'Conv', 13);
    if (!r.found) throw new Error(r.reason);
    expect(r.doc.summary).toMatch(/convolution/i);
    expect(r.doc.inputs.map((p) => [p.name, p.type, p.option ?? ''])).toEqual([
      ['X', 'T', ''],
      ['W', 'T', ''],
      ['B', 'T', 'optional'],
    ]);
    const attrs = Object.fromEntries(r.doc.attributes.map((a) => [a.name, a]));
    expect(Object.keys(attrs)).toEqual(expect.arrayContaining(['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']));
    expect(attrs.group).toMatchObject({ type: 'int', default: 1 });
    expect(attrs.auto_pad).toMatchObject({ type: 'string', default: 'NOTSET' });
    expect(r.doc.constraints[0]).toMatchObject({ name: 'T' });
    expect(r.doc.constraints[0].types).toContain('tensor(float)');
    const concat = findOpDoc(docs, '', 'Concat', 13);
    expect(concat.found && concat.doc.inputs[0].option).toBe('variadic');
    const split = findOpDoc(docs, '', 'Split', 13);
    expect(split.found && split.doc.attributes.find((a) => a.name === 'axis')?.default).toBe(0);
    const cast = findOpDoc(docs, '', 'Cast', 13);
    expect(cast.found && cast.doc.attributes.find((a) => a.name === 'to')?.required).toBe(true);
  });

  it('says plainly when an op has no schema', () => {
    const ms = findOpDoc(docs, 'com.microsoft', 'QuickGelu', 1);
    expect(ms).toMatchObject({ found: false, domain: 'com.microsoft' });
    expect(!ms.found && ms.reason).toBe('QuickGelu is a custom operator of com.microsoft, which has no ONNX schema: no documentation.');
    const unknown = findOpDoc(docs, '', 'NoSuchOp', 13);
    expect(!unknown.found && unknown.reason).toMatch(/^NoSuchOp has no schema in ai\.onnx/);
    // names that are properties of every object are not ops
    expect(findOpDoc(docs, '', 'constructor', 13).found).toBe(false);
    expect(findOpDoc(docs, '__proto__', 'toString', 13).found).toBe(false);
  });
});

function standardOps(model: Model): { domain: string; op: string; opset: number | undefined }[] {
  const opsets = new Map(model.opsetImport.map((o) => [schemaDomain(o.domain), o.version]));
  const out: { domain: string; op: string; opset: number | undefined }[] = [];
  for (const rec of modelGraphs(model)) {
    for (const node of rec.nodes) {
      const domain = schemaDomain(node.domain);
      if (domain !== '' && !domain.startsWith('ai.onnx')) continue;
      out.push({ domain, op: node.opType ?? '', opset: opsets.get(domain) });
    }
  }
  return out;
}

describe('op-docs.json coverage', () => {
  const real = new URL('../testing/real/', import.meta.url);
  const models: [string, Model][] = [
    ...FIXTURES.map((f): [string, Model] => [f.id, f.build().model]),
    ...readdirSync(real)
      .filter((n) => n.endsWith('.onnx'))
      .map((n): [string, Model] => [n, decodeModel(new Uint8Array(readFileSync(new URL(n, real))))]),
    ['digits-cnn.onnx', decodeModel(new Uint8Array(readFileSync(new URL('../../public/sample/digits-cnn.onnx', import.meta.url))))],
  ];

  it('documents every standard op of every fixture at its opset', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const [id, model] of models) {
      for (const { domain, op, opset } of standardOps(model)) {
        checked++;
        const r = findOpDoc(docs, domain, op, opset);
        if (!r.found) missing.push(`${id}: ${r.reason}`);
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect([...new Set(missing)]).toEqual([]);
  });
});
