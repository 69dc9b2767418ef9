/**
 * The contract between the page and the explore workers (a pool: each one holds the model, its
 * own onnxruntime-web wasm session per candidate, one thread). Plain data only.
 */
import type { ExploreLayer, Measured, MeasureOptions } from '../bench/explore/evaluator';
import type { Score } from '../bench/explore/score';
import type { ProjectionInput } from '../compress/project';
import type { Recipe, Target } from '../compress/recipe';
import type { ModelSnapshot } from '../onnx/snapshot';
import type { Calibration } from '../compress/activations/calibrate';
import type { LayerHessian } from '../compress/recovery/hessian';
import type { SnapshotHandover } from './read-files';
import type { DataSamples, DataSamplesRef } from './data-port';
import type { Method, PortLike, WorkerResult } from './kit/protocol';

export type { DataSamples, DataSamplesRef, ExploreLayer, Measured, MeasureOptions, ModelSnapshot, PortLike, Score, ProjectionInput, Recipe, Target, WorkerResult };


export interface ExploreInit {
  /** the model and its external data files (handles; the worker reads them for the cache key's hash only) */
  files: File[];
  /** the parsed model, from the model worker (not decoded again) */
  snapshot: SnapshotHandover;
  target: Target;
  /**
   * the Data place's samples (absent: random inputs at `dimValues`): the evaluation part, and the
   * calibration part where recovery or int8 activations ask for it. Never from the page: `samples`
   * names them and carries a port on which the worker asks the data worker, which holds them
   * (src/workers/data-port.ts), so the page's main thread does not clone them.
   */
  samples?: DataSamples;
  /** sizes of symbolic dims (random inputs) */
  dimValues: Record<string, number>;
  /** recovery "gptq" for every candidate: H of each layer's inputs on the Data place's calibration part */
  recovery?: true;
  /** int8 activations (target wasm): ranges from the Data place's calibration part */
  activations?: true;
  /** what the first worker computed from the calibration part, so the others do not compute it again */
  shared?: ExploreShared;
}

/** The init as the page's store names it: the client connects a port per worker (explore-client.ts). */
export type ExploreInitRequest = Omit<ExploreInit, 'samples'> & { samples?: DataSamplesRef };

/** Computed once from the calibration part by the first worker and handed to the others. */
export interface ExploreShared {
  /** recovery's input statistics per layer key */
  recovery?: Map<string, LayerHessian>;
  /** int8 activation ranges */
  calibration?: Calibration;
}

export interface ExploreReady {
  /** SHA-256 of the model's files, hex (the cache key) */
  hash: string;
  layers: ExploreLayer[];
  /** the original's score against itself (its accuracy; fidelity 1) */
  baseline: Score;
  originalFileBytes: number;
  /** the original's latency on wasm, one thread, measured as a candidate's (ms) */
  originalLatencyMs: number;
  /** what the projection of sizes needs (compact: shapes and byte counts) */
  projection: ProjectionInput;
  /** what is fed to every candidate, in one line */
  inputs: string;
  /** the labeled set's name, when there is one */
  labeled?: string;
  setupMs: number;
  /** what this worker computed from the calibration part (for the other workers; the page drops it once they have it) */
  shared?: ExploreShared;
}

export interface ExploreWorkerApi {
  init: Method<[init: ExploreInit], ExploreReady>;
  measure: Method<[recipe: Recipe, options?: MeasureOptions], Measured>;
  /** median ms per recipe, timed side by side in this worker (alternating runs) */
  timeSideBySide: Method<[recipes: Recipe[]], number[]>;
}
