/** Reading node attributes by name (absent attributes fall back to the caller's default). */
import type { Attribute, Node } from './types';

const utf8 = new TextDecoder();

export function findAttribute(node: Node, name: string): Attribute | undefined {
  for (const a of node.attributes) if (a.name === name) return a;
  return undefined;
}

export function attrInt(node: Node, name: string, fallback: number): number {
  const a = findAttribute(node, name);
  return a?.i === undefined ? fallback : Number(a.i);
}

/** The ints of an attribute, or undefined when it is absent or empty. */
export function attrInts(node: Node, name: string): number[] | undefined {
  const a = findAttribute(node, name);
  return a && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = findAttribute(node, name);
  return a?.f === undefined ? fallback : a.f;
}

export function attrString(node: Node, name: string): string | undefined {
  const a = findAttribute(node, name);
  return a?.s ? utf8.decode(a.s) : undefined;
}
