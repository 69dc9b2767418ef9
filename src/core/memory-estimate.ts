/**
 * Peak tab memory before opening or compressing a model in the page, from sizes alone, and
 * whether the browser is likely to run out (docs/EXPORT.md, "Memory before opening and
 * compressing"). The ratios come from `npm run bench:parse -- --big` and
 * `npm run bench:compress -- --big` (docs/COMPRESS-SPEED.md):
 *
 * - opening the page's way (the files read into memory, the model decoded over them as views):
 *   peak 1.026x the files' bytes (OPEN_RATIO);
 * - compressing: the model worker keeps that, the compress worker gets a structured-clone copy
 *   of the model file and of each data file held whole (SNAPSHOT_RATIO); a data file the model
 *   worker holds in chunks crosses as its Blob and is read from it a tensor at a time, never
 *   copied (src/workers/read-files.ts). It builds the compressed weights and encodes the file
 *   (about 2x the output: the CLI's one-file int8 run held 1.40 GiB over node's own for 721 MiB
 *   written), and the page keeps the result as a Blob (1x the output).
 */
import { formatBytes } from './bytes-and-counts';

/** peak memory while opening, per byte of the model's files (bench:parse -- --big, the page's way) */
export const OPEN_RATIO = 1.026;
/** the compress worker's copy of the files held whole (the snapshot's structured clone) */
export const SNAPSHOT_RATIO = 1;
/** compressed weights plus the encoded file, per output byte (bench:compress -- --big, one file) */
export const ENCODE_RATIO = 2;
/** the result kept as a Blob on the page */
export const BLOB_RATIO = 1;
/** the share of the device's memory one tab can count on (the OS, the browser and other tabs need the rest) */
export const DEVICE_SHARE = 0.5;
const GiB = 1024 ** 3;

export interface OpenSizes {
  /** the model file and its external data files */
  fileBytes: number;
}

export interface CompressSizes extends OpenSizes {
  /**
   * the bytes of the data files the compress worker reads from their Blobs a tensor at a time
   * (those the model worker holds in chunks): part of fileBytes, never copied; the rest of
   * fileBytes (the model file, data files held whole) is copied to the compress worker
   */
  blobBytes?: number;
  /** the compressed weights (the recipe's projected stored bytes; the weights themselves when unknown) */
  outputBytes: number;
  /** recovery's input statistics and working set (recoveryBytes), when the recipe asks for recovery */
  recoveryBytes?: number;
}

/**
 * Recovery's memory: every recovered layer's H (cols × cols float64 per group) is held at once
 * until the weights are written, plus the largest layer's GPTQ working set (its damped copy, the
 * factor, its inverse and the update matrix: about 4 more cols × cols float64).
 */
export function recoveryBytes(layers: readonly { cols: number; groups: number; /** cols² matrices per group: 2 for recovery "sequential" (H and the teacher's cross term) */ matrices?: number }[]): number {
  let held = 0;
  let largest = 0;
  for (const l of layers) {
    held += (l.matrices ?? 1) * l.groups * l.cols * l.cols * 8;
    largest = Math.max(largest, l.cols * l.cols * 8);
  }
  return held + 4 * largest;
}

export interface MemoryEstimate {
  /** estimated peak bytes of the tab */
  bytes: number;
  /** how it was estimated, for the message */
  basis: string;
}

export function estimateOpenMemory(s: OpenSizes): MemoryEstimate {
  return { bytes: Math.ceil(s.fileBytes * OPEN_RATIO), basis: `${OPEN_RATIO}x the files` };
}

export function estimateCompressMemory(s: CompressSizes): MemoryEstimate {
  const blob = Math.min(s.fileBytes, Math.max(0, s.blobBytes ?? 0));
  const copied = s.fileBytes - blob;
  const bytes = s.fileBytes * OPEN_RATIO + copied * SNAPSHOT_RATIO + s.outputBytes * (ENCODE_RATIO + BLOB_RATIO) + (s.recoveryBytes ?? 0);
  const copy = blob > 0 ? `a copy of the files held whole ${formatBytes(copied)} (the ${formatBytes(blob)} of data files read from their Blobs a tensor at a time, not copied)` : `a copy of its files ${formatBytes(copied)}`;
  return {
    bytes: Math.ceil(bytes),
    basis: `the open model ${formatBytes(s.fileBytes * OPEN_RATIO)}, ${copy} and ${ENCODE_RATIO + BLOB_RATIO}x the ${formatBytes(s.outputBytes)} result${s.recoveryBytes ? `, and ${formatBytes(s.recoveryBytes)} for recovery's input statistics (each recovered layer's columns² in float64)` : ''}`,
  };
}

/** What the browser says about memory: performance.memory where it exists (Chromium), navigator.deviceMemory otherwise. */
export interface BrowserMemory {
  /** performance.memory.jsHeapSizeLimit */
  jsHeapSizeLimit?: number;
  /** navigator.deviceMemory, in GiB (rounded down, at most 8) */
  deviceMemoryGiB?: number;
}

export interface MemoryLimit {
  bytes: number;
  /** where the figure comes from, for the message */
  source: string;
}

export function memoryLimit(m: BrowserMemory): MemoryLimit | undefined {
  if (m.jsHeapSizeLimit !== undefined && Number.isFinite(m.jsHeapSizeLimit) && m.jsHeapSizeLimit > 0) {
    return { bytes: m.jsHeapSizeLimit, source: "the browser's heap limit for this tab" };
  }
  if (m.deviceMemoryGiB !== undefined && Number.isFinite(m.deviceMemoryGiB) && m.deviceMemoryGiB > 0) {
    return { bytes: Math.floor(m.deviceMemoryGiB * GiB * DEVICE_SHARE), source: `half of the device's ${m.deviceMemoryGiB} GB` };
  }
  return undefined;
}

export type MemoryAction = 'open' | 'compress';

export interface MemoryVerdict {
  estimate: MemoryEstimate;
  limit: MemoryLimit | undefined;
  /** true when the estimate passes the limit */
  likelyOut: boolean;
  /** the warning to show when likelyOut; else a one-line statement of the estimate */
  message: string;
}

const WHAT_TO_TRY: Record<MemoryAction, string> = {
  open: 'For models over 2 GB use the command line (npm run cli -- compress), which reads weights a tensor at a time; close other tabs to free memory.',
  compress:
    'Try fewer layers in the recipe, close other tabs, or use the command line (npm run cli -- compress) for models over 2 GB: it reads weights a tensor at a time.',
};

/** Compares an estimate with the browser's limit; the message names both and what to try. */
export function judgeMemory(action: MemoryAction, estimate: MemoryEstimate, limit: MemoryLimit | undefined): MemoryVerdict {
  const verb = action === 'open' ? 'Opening this model' : 'Compressing this model';
  if (!limit) {
    return { estimate, limit, likelyOut: false, message: `${verb} needs about ${formatBytes(estimate.bytes)} (${estimate.basis}); this browser does not say how much memory a tab has.` };
  }
  const likelyOut = estimate.bytes > limit.bytes;
  const message = likelyOut
    ? `${verb} needs about ${formatBytes(estimate.bytes)} (${estimate.basis}), more than ${formatBytes(limit.bytes)} (${limit.source}): the tab may run out of memory. ${WHAT_TO_TRY[action]} Going on anyway.`
    : `${verb} needs about ${formatBytes(estimate.bytes)} of ${formatBytes(limit.bytes)} (${limit.source}).`;
  return { estimate, limit, likelyOut, message };
}
