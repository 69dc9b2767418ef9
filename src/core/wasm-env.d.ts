/**
 * The part of WebAssembly the SIMD kernels use (src/compress/quantize/blockwise-simd.ts), for the
 * projects without the DOM library (tsconfig.lib.json, tsconfig.node.json); the app project has
 * the full declarations and never includes this file.
 */
/** Base64 to a binary string (the WebAssembly kernels ship as base64 text). */
declare function atob(data: string): string;

/** The part of WebAssembly the SIMD kernels use (src/compress/quantize/blockwise-simd.ts). */
declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array<ArrayBuffer>);
  }
  class Instance {
    constructor(module: Module, imports?: object);
    readonly exports: Record<string, unknown>;
  }
}
