/**
 * Operator documentation from the ONNX schemas (src/onnx/op-docs.json, written by
 * scripts/make-op-docs.py): per domain, op and since_version, a one-paragraph summary, inputs,
 * outputs, attributes and type constraints. The data is a lazily imported chunk of its own, so
 * it ships with the app and costs the main bundle nothing.
 */

export interface OpDocParam {
  name: string;
  /** a type parameter ('T') or a type ('tensor(int64)') */
  type: string;
  option?: 'optional' | 'variadic';
}

export interface OpDocAttribute {
  name: string;
  /** 'int', 'ints', 'float', 'string', 'tensor', 'graph', ... */
  type: string;
  default?: number | string | (number | string)[];
  required?: boolean;
}

export interface OpDocConstraint {
  name: string;
  types: string[];
}

export interface OpDoc {
  since: number;
  summary: string;
  deprecated?: boolean;
  inputs: OpDocParam[];
  outputs: OpDocParam[];
  attributes: OpDocAttribute[];
  constraints: OpDocConstraint[];
}

export interface OpDocs {
  /** which onnx package the schemas came from, e.g. 'onnx 1.12.0' */
  source: string;
  /** the newest opset per domain that the schemas know ('' is ai.onnx) */
  opset: Record<string, number>;
  /** domain ('' for ai.onnx) → op type → versions, oldest first */
  ops: Record<string, Record<string, OpDoc[]>>;
}

export type OpDocLookup =
  | { found: true; domain: string; op: string; doc: OpDoc; opset: number | undefined }
  | { found: false; domain: string; op: string; reason: string };

/** The schema domain of a node's domain: '' and 'ai.onnx' are the same. */
export function schemaDomain(domain: string | undefined): string {
  return !domain || domain === 'ai.onnx' ? '' : domain;
}

function domainLabel(domain: string): string {
  return domain === '' ? 'ai.onnx' : domain;
}

/**
 * The documentation of `op` in `domain` at the model's opset for that domain: the newest
 * version whose since_version is at most `opset` (the newest of all when the model imports no
 * such opset). Ops without a schema, such as com.microsoft's contrib ops, say so.
 */
export function findOpDoc(docs: OpDocs, domain: string | undefined, op: string, opset: number | undefined): OpDocLookup {
  const d = schemaDomain(domain);
  const versions = Object.hasOwn(docs.ops, d) && Object.hasOwn(docs.ops[d], op) ? docs.ops[d][op] : undefined;
  if (!versions || versions.length === 0) {
    const reason = Object.hasOwn(docs.ops, d)
      ? `${op} has no schema in ${domainLabel(d)} (${docs.source}): it is a custom or newer operator.`
      : `${op} is a custom operator of ${domainLabel(d)}, which has no ONNX schema: no documentation.`;
    return { found: false, domain: d, op, reason };
  }
  if (opset === undefined || !Number.isFinite(opset)) return { found: true, domain: d, op, doc: versions[versions.length - 1], opset };
  let pick: OpDoc | undefined;
  for (const v of versions) if (v.since <= opset) pick = v;
  if (!pick) {
    return { found: false, domain: d, op, reason: `${op} first appears in ${domainLabel(d)} opset ${versions[0].since}; this model imports opset ${opset}.` };
  }
  return { found: true, domain: d, op, doc: pick, opset };
}

let loading: Promise<OpDocs> | undefined;

/** The documentation data, imported once, on first use. */
export function loadOpDocs(): Promise<OpDocs> {
  loading ??= import('./op-docs.json').then((m) => m.default as unknown as OpDocs);
  return loading;
}
