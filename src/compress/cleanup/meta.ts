/** Graph clean-up passes (what onnx-simplifier users expect): ids, labels, options and defaults. */
export const id = 'cleanup';
export const label = 'Clean up the graph';

/** The passes, in the order compressModel runs them. */
export const CLEANUP_PASSES = ['constantsToInitializers', 'dropIdentity', 'foldBatchNorm', 'removeDead', 'shareInitializers'] as const;
export type CleanupPass = (typeof CLEANUP_PASSES)[number];

export const PASS_LABELS: Readonly<Record<CleanupPass, string>> = Object.freeze({
  constantsToInitializers: 'Move Constant-held tensors to initializers',
  dropIdentity: 'Drop Identity and Dropout',
  foldBatchNorm: 'Fold BatchNormalization into the preceding Conv/ConvTranspose/Gemm',
  removeDead: 'Remove dead nodes and unused initializers',
  shareInitializers: 'Share identical initializers',
});

/** Which passes run (each keeps the model's outputs unchanged). */
export type CleanupOptions = Record<CleanupPass, boolean>;

/** Every pass on: what compressModel does when a recipe says nothing about clean-up. */
export const defaults: Readonly<CleanupOptions> = Object.freeze({
  constantsToInitializers: true,
  dropIdentity: true,
  foldBatchNorm: true,
  removeDead: true,
  shareInitializers: true,
});

/** What one pass did. */
export interface CleanupPassReport {
  pass: CleanupPass;
  label: string;
  enabled: boolean;
  /** how many things it changed (folds, moves, nodes and initializers removed, tensors merged) */
  count: number;
  /** one line: what the count means, and what was left as it was */
  summary: string;
  /** one line per change or refusal, e.g. `bn1 folded into conv1` */
  details: string[];
}

export interface CleanupReport {
  passes: CleanupPassReport[];
  /** nodes in all graphs, before and after */
  nodesBefore: number;
  nodesAfter: number;
}
