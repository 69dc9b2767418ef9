/**
 * Runs the clean-up passes a recipe asks for (all of them by default), in a fixed order:
 * Constants to initializers, drop Identity/Dropout, fold BatchNormalization, remove dead nodes
 * and unused initializers, share identical initializers. Each pass keeps the model's outputs
 * (bit-identical, except the BatchNormalization fold, which recomputes weights in float64 and
 * stores them as float32). Mutates `model`; returns what each pass did.
 */
import type { ExternalDataResolver, Model } from '../../onnx/types';
import type { NameAllocator } from '../graph-edit';
import { constantsToInitializers } from './constants-to-initializers';
import { dropIdentity } from './drop-identity';
import { foldBatchNorm } from './fold-batchnorm';
import { countNodes } from './graph-scope';
import { CLEANUP_PASSES, defaults, PASS_LABELS, type CleanupOptions, type CleanupPass, type CleanupPassReport, type CleanupReport } from './meta';
import type { PassResult } from './pass';
import { removeDead } from './remove-dead';
import { shareInitializers } from './share-initializers';

export interface CleanupContext {
  names: NameAllocator;
  external?: ExternalDataResolver;
}

function runPass(pass: CleanupPass, model: Model, ctx: CleanupContext): PassResult {
  switch (pass) {
    case 'constantsToInitializers':
      return constantsToInitializers(model);
    case 'dropIdentity':
      return dropIdentity(model);
    case 'foldBatchNorm':
      return foldBatchNorm(model, ctx);
    case 'removeDead':
      return removeDead(model);
    case 'shareInitializers':
      return shareInitializers(model, ctx.names);
  }
}

export function runCleanup(model: Model, options: Partial<CleanupOptions>, ctx: CleanupContext): CleanupReport {
  const opts = { ...defaults, ...options };
  const nodesBefore = countNodes(model);
  const passes: CleanupPassReport[] = [];
  for (const pass of CLEANUP_PASSES) {
    if (!opts[pass]) {
      passes.push({ pass, label: PASS_LABELS[pass], enabled: false, count: 0, summary: 'off', details: [] });
      continue;
    }
    const r = runPass(pass, model, ctx);
    passes.push({ pass, label: PASS_LABELS[pass], enabled: true, ...r });
  }
  return { passes, nodesBefore, nodesAfter: countNodes(model) };
}
