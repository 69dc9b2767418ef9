/**
 * Finds out which onnxruntime-web backends work here, by running a tiny model for real on
 * wasm and asking for a WebGPU adapter. Runs inside a worker.
 */
import { encodeModel } from '../onnx/codec';
import { adapterName } from './gpu-adapter';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { DataType } from '../onnx/types';
import { errorMessage } from '../core/errors';
import type { BackendStatus, RuntimeReport } from './model-api';
import { loadOrt, wasmThreads } from './ort';

/** y = Relu(x) over a [1, 4] float tensor, opset 13. */
export function probeModelBytes(): Uint8Array {
  const graph = makeGraph({
    name: 'probe',
    nodes: [makeNode('Relu', ['x'], ['y'], [], { name: 'relu' })],
    inputs: [makeValueInfo('x', DataType.FLOAT, [1, 4])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [1, 4])],
  });
  return encodeModel(
    makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'studio-probe', graph }),
  );
}

async function probeWasm(): Promise<RuntimeReport['wasm']> {
  const threads = wasmThreads();
  try {
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(probeModelBytes(), { executionProviders: ['wasm'] });
    try {
      const x = new ort.Tensor('float32', Float32Array.from([-2, -0.5, 0.5, 2]), [1, 4]);
      const t0 = performance.now();
      const out = await session.run({ x });
      const runMs = performance.now() - t0;
      const y = Array.from(out.y.data as Float32Array);
      if (y.join(',') !== '0,0,0.5,2') {
        return { available: false, threads, detail: `wasm gave wrong results: [${y.join(', ')}]` };
      }
      return {
        available: true,
        threads,
        runMs,
        detail: threads > 1 ? `ready, ${threads} threads` : 'ready, 1 thread (page is not cross-origin isolated)',
      };
    } finally {
      await session.release();
    }
  } catch (e) {
    return { available: false, threads, detail: `wasm failed: ${errorMessage(e)}` };
  }
}

/** The part of WebGPU used here (TypeScript's DOM library does not declare WebGPU yet). */
interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

async function probeWebGpu(): Promise<BackendStatus> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { available: false, detail: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, detail: 'no WebGPU adapter (GPU blocked or disabled)' };
    const name = adapterName(adapter.info);
    return { available: true, detail: `adapter found${name ? `: ${name}` : ''}` };
  } catch (e) {
    return { available: false, detail: `WebGPU adapter request failed: ${errorMessage(e)}` };
  }
}

export async function probeRuntimes(): Promise<RuntimeReport> {
  const [wasm, webgpu] = await Promise.all([probeWasm(), probeWebGpu()]);
  return { crossOriginIsolated: Boolean(globalThis.crossOriginIsolated), wasm, webgpu };
}
