/**
 * Test hooks for the e2e suite, on every build (they cost nothing until used):
 * - every worker reports each model decode on the BroadcastChannel 'studio-debug', and the page
 *   counts them in `globalThis.__studioDebug.decodes` (the promise: a model is decoded once per open);
 * - `__studioDebug.crash(name)` makes a worker (by client name: 'model', 'compress', …) crash
 *   while its next call is in flight, as a bug or running out of memory would;
 * - `__studioDebug.memory`, when set, replaces what the browser says about memory
 *   (performance.memory.jsHeapSizeLimit, navigator.deviceMemory) for the page's memory estimate
 *   (src/state/memory-check.ts): a small limit shows the warning with a small model;
 * - `__studioDebug.chunkBytes`, when set, is the largest buffer the workers hold a data file in
 *   (default 1 GiB, src/workers/read-files.ts), and the size of the Blob parts a result's data
 *   file is made of (default 256 MiB): a few KB sends a small model's external data down the path
 *   of a data file over 2 GiB;
 * - `__studioDebug.singleFileLimit`, when set, sends a compressed result whose weights pass that
 *   many bytes to an external data file (default: only past protobuf's 2 GB), so a small model's
 *   result takes the path of a result over 2 GB;
 * - `__studioDebug.verifyBudgetMs`, when set, is the runtime check's time budget per backend
 *   (default 3 s): 0 stops every backend but the reference after its first input set, as a slow
 *   one (WebGPU on a software adapter) stops after a few.
 */
import { isChunked, isLazy, type FileBytes } from '../../onnx/chunked';
import { onDecode, type DecodeEvent } from '../../onnx/decode-log';
import { liveClients } from './client';

const CHANNEL = 'studio-debug';

export interface DecodeReport extends DecodeEvent {
  worker: string;
}

/** A data file a worker holds in chunks (reported on the same channel as decodes). */
export interface ChunksReport {
  kind: 'chunks';
  worker: string;
  name: string;
  /**
   * in chunks, or read by offset when a tensor is asked for (never held), or (a result's data
   * file) made as Blob parts of about chunkBytes as its pieces were read
   */
  held: 'chunks' | 'by-offset' | 'blob-parts';
  /** 0 when read by offset; the Blob parts for 'blob-parts' */
  chunks: number;
  chunkBytes: number;
}

export interface StudioDebug {
  decodes: DecodeReport[];
  /** every data file a worker took in chunks (model worker on open, compress worker on handover) */
  chunked: ChunksReport[];
  crash(name: string): boolean;
  /** what the browser says about memory, as the memory check reads it (unset: the browser's own figures) */
  memory?: { jsHeapSizeLimit?: number; deviceMemoryGiB?: number };
  /** the largest buffer a data file is held in, in bytes (unset: 1 GiB) */
  chunkBytes?: number;
  /** a compressed result with more weight bytes than this gets an external data file (unset: past 2 GB) */
  singleFileLimit?: number;
  /** the runtime check's time budget per backend, in ms (unset: 3 s) */
  verifyBudgetMs?: number;
}

function debugNumber(key: 'chunkBytes' | 'singleFileLimit' | 'verifyBudgetMs', min: number): number | undefined {
  const v = (globalThis as { __studioDebug?: StudioDebug }).__studioDebug?.[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : undefined;
}

/** On the page: the weight bytes past which a result is split, set by a test, if any. */
export function debugSingleFileLimit(): number | undefined {
  return debugNumber('singleFileLimit', 0);
}

/** On the page: the runtime check's time budget set by a test, if any. */
export function debugVerifyBudgetMs(): number | undefined {
  return debugNumber('verifyBudgetMs', 0);
}

/** On the page: the chunk size set by a test, if any. */
export function debugChunkBytes(): number | undefined {
  return debugNumber('chunkBytes', 1);
}

/** In a worker: tell the page about every decode on this thread. */
export function reportDecodes(worker: string): void {
  if (typeof BroadcastChannel === 'undefined') return;
  const channel = new BroadcastChannel(CHANNEL);
  onDecode((e) => channel.postMessage({ ...e, worker } satisfies DecodeReport));
}

/** In a worker: tell the page about the data files it holds in chunks. */
export function reportChunks(worker: string, files: readonly { name: string; bytes: FileBytes }[]): void {
  if (typeof BroadcastChannel === 'undefined') return;
  const channel = new BroadcastChannel(CHANNEL);
  for (const f of files) {
    if (isChunked(f.bytes)) channel.postMessage({ kind: 'chunks', worker, name: f.name, held: 'chunks', chunks: f.bytes.chunks.length, chunkBytes: f.bytes.chunkBytes } satisfies ChunksReport);
    else if (isLazy(f.bytes)) channel.postMessage({ kind: 'chunks', worker, name: f.name, held: 'by-offset', chunks: 0, chunkBytes: 0 } satisfies ChunksReport);
  }
  channel.close();
}

/** In a worker: tell the page how many Blob parts a result's data file was made of. */
export function reportParts(worker: string, name: string, parts: number, partBytes: number): void {
  if (typeof BroadcastChannel === 'undefined') return;
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ kind: 'chunks', worker, name, held: 'blob-parts', chunks: parts, chunkBytes: partBytes } satisfies ChunksReport);
  channel.close();
}

/** On the page: installs `globalThis.__studioDebug` (once). */
export function installDebugHook(): void {
  const g = globalThis as { __studioDebug?: StudioDebug };
  if (g.__studioDebug || typeof BroadcastChannel === 'undefined') return;
  const debug: StudioDebug = {
    decodes: [],
    chunked: [],
    crash(name) {
      const c = liveClients.get(name);
      if (!c) return false;
      c.crashOnNextCall();
      return true;
    },
  };
  new BroadcastChannel(CHANNEL).addEventListener('message', (e) => {
    const data = e.data as DecodeReport | ChunksReport;
    if ('kind' in data && data.kind === 'chunks') debug.chunked.push(data);
    else debug.decodes.push(data as DecodeReport);
  });
  g.__studioDebug = debug;
}
