/**
 * A WebAssembly module shipped inside the code as base64 (the SIMD kernels of quantize/ and
 * recovery/), instantiated on first use; null where this engine cannot (no WebAssembly, or no
 * SIMD: the module then fails to compile), so callers keep their scalar path.
 */
export function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function embeddedKernel<K>(base64: string): () => K | null {
  let kernel: K | null | undefined;
  return () => {
    if (kernel === undefined) {
      kernel = null;
      try {
        if (typeof WebAssembly === 'object') kernel = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(base64))).exports as unknown as K;
      } catch {
        kernel = null;
      }
    }
    return kernel;
  };
}
