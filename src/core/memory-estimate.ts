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
 * - with recovery (recoveryMemory): the H of the largest pass of layers (one pass, streamed) or
 *   every layer's H (sequential rounds), one statistics run or a sequential round,
 *   the statistics copies of the model and onnxruntime, measured on resnet18 and the sample in
 *   the page (scripts/recovery-page-memory.ts) and the CLI (docs/RECIPE-NOTES.md, "Memory").
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
  /** recovery's memory (recoveryMemory), when the recipe asks for recovery */
  recovery?: RecoveryMemory;
}

/** bytes of float32 statistics one run returns at most (src/compress/recovery/hessian.ts STATS_BUDGET) */
export const RECOVERY_STATS_BUDGET = 128 * 2 ** 20;
/** bytes of layer input rows a statistics run holds at most (src/compress/recovery/hessian.ts ROWS_BUDGET) */
export const RECOVERY_ROWS_BUDGET = 512 * 2 ** 20;
/**
 * onnxruntime and its worker, the calibration data: what recovery adds with tiny layers (measured:
 * the sample in the page, 266-314 MiB over the page before compressing, 339-386 MiB over the empty
 * page, scripts/recovery-page-memory.ts)
 */
export const RECOVERY_RUNTIME = 300 * 2 ** 20;

export interface RecoveryLayer {
  /** the weight's reduction length (Conv: input channels per group × kernel positions) */
  cols: number;
  groups: number;
  /** output channels (the rows GPTQ solves; default cols) */
  rows?: number;
  /** asks recovery "sequential" (its round collects H again, with the teacher's cross term) */
  sequential?: boolean;
}

/** Recovery's memory by part (bytes), as recoveryMemory counts it. */
export interface RecoveryMemory {
  bytes: number;
  /**
   * H held at once: streamed, a pass of layers summed in float32 (recovery in one pass: each pass
   * of statistics runs when compression reaches its layers and is freed once they are written)
   * and its widest layer's H in float64 (cols² per group, made when its layer is written), the
   * largest of the passes; sequential rounds (float64): the largest round's, with the layers asking plain gptq
   * or bias still to be written (a round's H are freed once the next round's prefix has their codes)
   */
  h: number;
  /** one pass: H streamed a pass at a time (recovery/hessian.ts hessianSource) */
  streamed: boolean;
  /**
   * sequential: a later round's teacher cross terms (cols² float64 per group) beside every H (the
   * round's new H replaces its first: recovery/sequential.ts frees those first); counted instead
   * of `statistics` where larger (later rounds are deep layers with few input rows)
   */
  rounds: number;
  /** one statistics run: its float32 outputs twice (the runtime's and JavaScript's), the repeated graph's layer input rows (up to RECOVERY_ROWS_BUDGET, at most H's size) */
  statistics: number;
  /**
   * the runtime's copy of the model's weights: the statistics copies feed the large ones with each
   * run (RunModel.feedWeights: onnxruntime-web copies them into its heap for the run), so a copy
   * holds neither them in its bytes nor a prepacked copy in its session (before: 2x, the 100 MB
   * MatMul bench model's peak on the web runtime +500 → +302-341 MiB), and once more its Conv
   * weights, which are not fed (a session holds its own copy); sequential: the prefix's compressed
   * weights and the original's beside them, counted as once more
   */
  models: number;
  /** RECOVERY_RUNTIME */
  runtime: number;
  /**
   * GPTQ's WebAssembly memory, which grows to the widest layer's and never shrinks: one n×n float32
   * matrix (recovery/gptq-simd.ts); a sequential round's teacher solves in float64, (2n² + 2Rn) × 8
   */
  solver: number;
}

/**
 * Recovery's memory (issue #12, measured in docs/RECIPE-NOTES.md "Memory"): the layers in
 * main-graph order, the model's bytes, the rounds of "sequential" (as recovery/sequential.ts
 * splits the layers: equal counts in order).
 */
export function recoveryMemory(
  layers: readonly RecoveryLayer[],
  modelBytes: number,
  rounds = 4,
  /** bytes of the model's Conv weights, which the statistics do not feed: a session holds its own copy of them */
  convBytes = 0,
): RecoveryMemory {
  const hOf = (l: RecoveryLayer) => l.groups * l.cols * l.cols * 8;
  const h = layers.reduce((n, l) => n + hOf(l), 0);
  // the statistics in passes of at most RECOVERY_STATS_BUDGET float32 bytes (hessian.ts passesFor)
  let pass = 0;
  let largestPass = 0;
  // streamed: a pass's sums in float32 blocks (at most its float32 bytes) beside the H of the layer
  // being written, float32 as its sums (made when it is taken, freed once it is written), the largest of the passes
  let widest = 0;
  let streamedHeld = 0;
  for (const l of layers) {
    const b = hOf(l) / 2;
    const fresh = pass > 0 && pass + b > RECOVERY_STATS_BUDGET;
    pass = fresh ? b : pass + b;
    widest = fresh ? b : Math.max(widest, b);
    largestPass = Math.max(largestPass, pass);
    streamedHeld = Math.max(streamedHeld, pass + widest);
  }
  const statistics = 2 * largestPass + Math.min(RECOVERY_ROWS_BUDGET, h);
  const sequential = layers.some((l) => l.sequential);
  let later = 0;
  // sequential: the H of one round at a time (recovery/sequential.ts: round k's "sequential" layers
  // get theirs in round k, and a round's go once the next round's prefix has their codes), beside
  // the layers asking plain gptq or bias that are still to be written (theirs from the first round)
  let oneRound = 0;
  if (sequential) {
    const r = Math.max(1, Math.min(Math.floor(rounds), layers.length));
    const bounds = Array.from({ length: r + 1 }, (_, k) => Math.round((k * layers.length) / r));
    for (let k = 0; k < r; k++) {
      const round = layers.slice(bounds[k], bounds[k + 1]);
      const own = round.reduce((n, l) => n + (l.sequential || k === 0 ? hOf(l) : 0), 0);
      const pending = layers.slice(bounds[k]).reduce((n, l, i) => n + (!l.sequential && (k > 0 || i >= round.length) ? hOf(l) : 0), 0);
      oneRound = Math.max(oneRound, own + pending);
      if (k > 0) later = Math.max(later, round.reduce((n, l) => n + (l.sequential ? hOf(l) : 0), 0));
    }
  }
  if (layers.length === 0) return { bytes: 0, h: 0, streamed: false, rounds: 0, statistics: 0, models: 0, runtime: 0, solver: 0 };
  // one round (recovery/sequential.ts recoverySource): H streamed (above)
  const streamed = !sequential || Math.min(Math.floor(rounds), layers.length) <= 1;
  const held = streamed ? streamedHeld : oneRound;
  const models = (sequential ? 2 : 1) * modelBytes + Math.max(0, Math.min(convBytes, modelBytes));
  const runtime = RECOVERY_RUNTIME;
  // (the teacher: a sequential layer after the first round; the rounds split as above)
  const first = Math.round(layers.length / Math.max(1, Math.min(Math.floor(rounds), layers.length)));
  const solver = layers.reduce((m, l, i) => Math.max(m, l.cols * l.cols * 4, !streamed && l.sequential && i >= first ? (2 * l.cols * l.cols + 2 * (l.rows ?? l.cols) * l.cols) * 8 : 0), 0);
  return { bytes: held + Math.max(later, statistics) + models + runtime + solver, h: held, streamed, rounds: later, statistics, models, runtime, solver };
}

export interface MemoryEstimate {
  /** estimated peak bytes of the tab */
  bytes: number;
  /** how it was estimated, for the message */
  basis: string;
  /** of `bytes`, recovery's (estimateCompressMemory with recovery): where it is most, the message says what to try for it */
  recoveryBytes?: number;
}

export function estimateOpenMemory(s: OpenSizes): MemoryEstimate {
  return { bytes: Math.ceil(s.fileBytes * OPEN_RATIO), basis: `${OPEN_RATIO}x the files` };
}

export function estimateCompressMemory(s: CompressSizes): MemoryEstimate {
  const blob = Math.min(s.fileBytes, Math.max(0, s.blobBytes ?? 0));
  const copied = s.fileBytes - blob;
  const r = s.recovery && s.recovery.bytes > 0 ? s.recovery : undefined;
  const bytes = s.fileBytes * OPEN_RATIO + copied * SNAPSHOT_RATIO + s.outputBytes * (ENCODE_RATIO + BLOB_RATIO) + (r?.bytes ?? 0);
  const recovery = r
    ? `, and ${formatBytes(r.bytes)} for recovery: ${r.streamed ? `the H of one pass of layers at a time ${formatBytes(r.h)} (the largest pass; each is freed once its layers are written)` : `the H of one round of layers at a time ${formatBytes(r.h)} (the largest, with the layers asking plain gptq still to be written; a round's are freed once the next round's prefix has their codes)`}, ${r.rounds > 0 ? `the larger of a statistics run ${formatBytes(r.statistics)} and a sequential round's cross terms ${formatBytes(r.rounds)}` : `a statistics run ${formatBytes(r.statistics)}`}, the runtime's copy of the weights ${formatBytes(r.models)}, GPTQ's workspace ${formatBytes(r.solver)} and onnxruntime with the calibration data ${formatBytes(r.runtime)}`
    : '';
  const copy = blob > 0 ? `a copy of the files held whole ${formatBytes(copied)} (the ${formatBytes(blob)} of data files read from their Blobs a tensor at a time, not copied)` : `a copy of its files ${formatBytes(copied)}`;
  return {
    bytes: Math.ceil(bytes),
    basis: `the open model ${formatBytes(s.fileBytes * OPEN_RATIO)}, ${copy} and ${ENCODE_RATIO + BLOB_RATIO}x the ${formatBytes(s.outputBytes)} result${recovery}`,
    ...(r ? { recoveryBytes: r.bytes } : {}),
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

const RECOVERY_TO_TRY =
  "Most of it is recovery's: a layer's statistics and GPTQ's workspace grow with the square of its input columns. Try recovery \"bias\", or \"gptq\" on fewer layers (the widest are the costliest), close other tabs, or use the command line (npm run cli -- compress --recovery gptq --samples DIR), which has no per-tab limit.";

/** Compares an estimate with the browser's limit; the message names both and what to try. */
export function judgeMemory(action: MemoryAction, estimate: MemoryEstimate, limit: MemoryLimit | undefined): MemoryVerdict {
  const verb = action === 'open' ? 'Opening this model' : 'Compressing this model';
  if (!limit) {
    return { estimate, limit, likelyOut: false, message: `${verb} needs about ${formatBytes(estimate.bytes)} (${estimate.basis}); this browser does not say how much memory a tab has.` };
  }
  const likelyOut = estimate.bytes > limit.bytes;
  // recovery most of it (a video model's 13,824-column Conv3d layers: H and GPTQ's workspace grow with columns²): what helps is about recovery, not the file's size
  const what = action === 'compress' && (estimate.recoveryBytes ?? 0) * 2 > estimate.bytes ? RECOVERY_TO_TRY : WHAT_TO_TRY[action];
  const message = likelyOut
    ? `${verb} needs about ${formatBytes(estimate.bytes)} (${estimate.basis}), more than ${formatBytes(limit.bytes)} (${limit.source}): the tab may run out of memory. ${what} Going on anyway.`
    : `${verb} needs about ${formatBytes(estimate.bytes)} of ${formatBytes(limit.bytes)} (${limit.source}).`;
  return { estimate, limit, likelyOut, message };
}
