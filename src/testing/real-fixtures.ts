/**
 * Fixtures from files written by other tools (scripts/make-real-models.py: torch and onnx.helper
 * exports, committed under src/testing/real/). The caller reads the files (tests have Node's fs;
 * this room does not) and passes the bytes and the reference JSON here.
 */
import { decodeModel } from '../onnx/codec';
import type { ExpectedOutput, Fixture, FixtureInput, InputType } from './fixture-kit';

/** The reference file written next to each model: inputs fed to torch and what it computed. */
export interface RealReference {
  model: string;
  note: string;
  producer?: string;
  irVersion?: number;
  opset?: Record<string, number>;
  inputs: Record<string, { type: InputType; dims: number[]; data: number[] }>;
  outputs: Record<string, { type: InputType; dims: number[]; data: number[] }>;
}

/** Names of the committed real models (src/testing/real/<name>.onnx and <name>.json). */
export const REAL_MODELS = ['cnn-opset9', 'transformer-opset17', 'lstm-opset11', 'helper-opset13'] as const;

function toInput(v: RealReference['inputs'][string]): FixtureInput {
  switch (v.type) {
    case 'float32':
      return { type: v.type, dims: v.dims, data: Float32Array.from(v.data) };
    case 'int64':
      return { type: v.type, dims: v.dims, data: BigInt64Array.from(v.data, (x) => BigInt(x)) };
    case 'bool':
      return { type: v.type, dims: v.dims, data: Uint8Array.from(v.data) };
    default:
      throw new Error(`real fixture: input type ${v.type} is not handled`);
  }
}

/** A runnable fixture over a file: build() decodes the file, outputs are checked against the reference within `tolerance`. */
export function realFixture(name: string, bytes: Uint8Array, reference: RealReference, tolerance = 1e-4): Fixture {
  return {
    id: `real:${name}`,
    description: reference.note,
    features: ['real-export', ...(reference.producer ? [`producer:${reference.producer}`] : [])],
    runnable: true,
    source: () => bytes,
    build: () => ({ model: decodeModel(bytes) }),
    inputs: () => Object.fromEntries(Object.entries(reference.inputs).map(([k, v]) => [k, toInput(v)])),
    expected: () =>
      Object.fromEntries(
        Object.entries(reference.outputs).map(([k, v]): [string, ExpectedOutput] => [
          k,
          { dims: v.dims, data: v.type === 'int64' ? v.data.map((x) => BigInt(x)) : v.data, tolerance: v.type === 'float32' ? tolerance : 0 },
        ]),
      ),
  };
}
