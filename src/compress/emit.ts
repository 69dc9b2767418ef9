/**
 * Builds the small subgraphs a compressed weight is decoded with: new initializers and nodes
 * with fresh, deterministic names, written for the model's opset.
 */
import { attr, emptyTensor, makeNode } from '../onnx/build';
import { tensorByteLength } from '../onnx/tensor';
import { DataType, type Attribute, type Node, type Tensor } from '../onnx/types';
import { toFloat16 } from './fp16/fp16';
import type { NameAllocator } from './graph-edit';

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class Emitter {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private readonly names: NameAllocator;
  readonly opset: number;
  private readonly valueBase: string;

  /** `valueBase` prefixes the new value (and node) names. */
  constructor(names: NameAllocator, opset: number, valueBase: string) {
    this.names = names;
    this.opset = opset;
    this.valueBase = valueBase;
  }

  valueName(suffix: string): string {
    return this.names.fresh(`${this.valueBase}${suffix}`);
  }

  /** An initializer holding raw little-endian bytes; returns its name. */
  init(suffix: string, dataType: number, dims: number[], raw: Uint8Array): string {
    const name = this.valueName(suffix);
    this.initializers.push(emptyTensor({ name, dataType, dims: [...dims], rawData: raw }));
    return name;
  }

  floats(suffix: string, dims: number[], values: Float32Array): string {
    return this.init(suffix, DataType.FLOAT, dims, bytesOf(values));
  }

  int64s(suffix: string, values: number[]): string {
    return this.init(suffix, DataType.INT64, [values.length], bytesOf(BigInt64Array.from(values, (v) => BigInt(v))));
  }

  scalar(suffix: string, value: number): string {
    return this.floats(suffix, [], Float32Array.of(value));
  }

  /**
   * Adds a node with one output; returns the output name. The node is named like its output
   * (node and value names are separate namespaces, and the output name is already unique).
   */
  node(op: string, inputs: string[], attributes: Attribute[] = [], outSuffix = `_${op.toLowerCase()}`, domain?: string): string {
    const out = this.valueName(outSuffix);
    this.nodes.push(makeNode(op, inputs, [out], attributes, { name: out, ...(domain ? { domain } : {}) }));
    return out;
  }

  cast(x: string, to: number): string {
    return this.node('Cast', [x], [attr.int('to', to)]);
  }

  reshape(x: string, shape: number[]): string {
    return this.node('Reshape', [x, this.int64s('_shape', shape)]);
  }

  /** x[start:end] along `axis`, in the Slice form of the opset (attributes before 10, inputs since). */
  slice(x: string, axis: number, start: number, end: number): string {
    if (this.opset < 10) {
      return this.node('Slice', [x], [attr.ints('starts', [start]), attr.ints('ends', [end]), attr.ints('axes', [axis])]);
    }
    return this.node('Slice', [x, this.int64s('_starts', [start]), this.int64s('_ends', [end]), this.int64s('_axes', [axis])]);
  }

  /** Bytes held by the initializers made so far. */
  storedBytes(): number {
    let n = 0;
    for (const t of this.initializers) n += tensorByteLength(t);
    return n;
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Stores float values in the weight's own type (float32; float16 when they fit; else float32 and a Cast); returns the value name. */
export function storeFloats(e: Emitter, suffix: string, values: Float32Array, shape: number[], dataType: number): string {
  if (dataType === DataType.FLOAT) return e.floats(suffix, shape, values);
  if (dataType === DataType.FLOAT16) {
    const r = toFloat16(values);
    if (r.ok) return e.init(suffix, DataType.FLOAT16, shape, bytesOf(r.bits));
  }
  return e.cast(e.floats(suffix, shape, values), dataType);
}
