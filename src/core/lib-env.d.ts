/**
 * The few host globals the algorithm rooms may use, declared for tsconfig.lib.json only (that
 * project has lib ES2023 and no DOM or Node types, so nothing else from a host leaks in).
 * Browsers, workers and Node all provide these; the app and node projects use their own,
 * fuller declarations and never include this file.
 */

interface TextDecodeOptions {
  stream?: boolean;
}
interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}
interface TextDecoder {
  readonly encoding: string;
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  decode(input?: ArrayBufferView | ArrayBufferLike, options?: TextDecodeOptions): string;
}
declare var TextDecoder: {
  prototype: TextDecoder;
  new (label?: string, options?: TextDecoderOptions): TextDecoder;
};

interface TextEncoderEncodeIntoResult {
  read: number;
  written: number;
}
interface TextEncoder {
  readonly encoding: string;
  encode(input?: string): Uint8Array<ArrayBuffer>;
  encodeInto(source: string, destination: Uint8Array): TextEncoderEncodeIntoResult;
}
declare var TextEncoder: {
  prototype: TextEncoder;
  new (): TextEncoder;
};

/** Only what cancellable work reads from a signal; callers pass a real AbortSignal. */
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Monotonic clock for timings in bench code. */
declare var performance: { now(): number };


/** structuredClone (browsers, workers, Node 17+), as release.ts uses it: to move a buffer out. */
declare function structuredClone<T>(value: T, options?: { transfer?: ArrayBuffer[] }): T;
