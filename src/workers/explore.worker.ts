/**
 * An explore worker: holds one model, prepared once (clean-up, the original's outputs on the
 * inputs), and measures candidate recipes on onnxruntime-web's wasm backend with one thread (the
 * page runs several of these side by side). The model comes parsed, from the model worker. A thin
 * kit `serve` over bench/explore.
 */
import { AppError } from '../core/errors';
import { CandidateEvaluator, type OpenSession } from '../bench/explore/evaluator';
import { webRunSession } from './ort-session';
import { planInputs } from '../bench/plan';
import { modelTensorBytes } from '../compress/compress';
import { projectionInput } from '../compress/project';
import { inlineExternalData, externalReferences } from '../onnx/external';
import { findLayers } from '../onnx/layers';
import { fromSnapshot } from '../onnx/snapshot';
import { MAX_MESSAGE_BYTES } from '../onnx/codec';
import { formatBytes } from '../core/bytes-and-counts';
import { receiveHandover } from './read-files';
import { summarizeModel } from '../onnx/summary';
import type { ExploreInit, ExploreReady, ExploreWorkerApi } from './explore-api';
import { reportDecodes } from './kit/debug';
import { serve, type Handlers } from './kit/serve';
import { loadOrtCpu } from './ort';
import { withWebRun } from './web-run-model';
import { partAsSamples, type DataPart } from '../bench/data-load';
import { fetchDataParts } from './data-port';
import { collectHessians, type LayerHessian } from '../compress/recovery/hessian';
import { recoveryLayers } from '../compress/recovery/plan';
import { setSolvedBudget } from '../compress/recovery/step';
import { makeRecipe } from '../compress/recipe';
import { collectCalibration, type Calibration } from '../compress/activations/calibrate';

let evaluator: CandidateEvaluator | undefined;

async function sha256(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = await crypto.subtle.digest('SHA-256', all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** onnxruntime-web sessions on wasm, one thread (several workers run side by side). */
const openWasm: OpenSession = async (bytes) => {
  const ort = await loadOrtCpu();
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return { ...webRunSession(ort, session), release: () => session.release() };
};

const handlers: Handlers<ExploreWorkerApi> = {
  async init(ctx, init: ExploreInit): Promise<ExploreReady> {
    try {
      return await prepare(init, ctx.signal);
    } finally {
      // a call that failed before asking for its samples lets the data worker's end go
      init.samples?.port.close();
    }
  },

  async timeSideBySide(_ctx, recipes) {
    if (!evaluator) throw new Error('the explore worker has no model yet');
    return evaluator.timeSideBySide(recipes);
  },

  async measure(_ctx, recipe, options) {
    if (!evaluator) throw new Error('the explore worker has no model yet');
    return evaluator.measure(recipe, undefined, options);
  },
};

async function prepare(init: ExploreInit, signal: AbortSignal): Promise<ExploreReady> {
  const t0 = performance.now();
  const total = init.files.reduce((n, f) => n + f.size, 0);
  if (total > MAX_MESSAGE_BYTES) {
    throw new AppError(
      'too-large',
      `Explore runs every candidate on onnxruntime-web as one file, which holds at most 2 GB; this model is ${formatBytes(total)} with its data files. Compress it with a recipe instead (Compress), or use the CLI.`,
    );
  }
  // the samples, from the data worker (not the page): the evaluation part, and the calibration part where asked
  let given: { part?: DataPart; calibration?: DataPart } = {};
  if (init.samples) {
    const { port, ...ref } = init.samples;
    given = await fetchDataParts(port, ref, signal);
  }
  const files = await Promise.all(init.files.map(async (f) => new Uint8Array(await f.arrayBuffer())));
  // the cache key: the model's files and, with data, its evaluation part's values
  const evaluation = given.part;
  const data = evaluation ? (evaluation.labeled ? [new Uint8Array(evaluation.labeled.data.buffer, evaluation.labeled.data.byteOffset, evaluation.labeled.data.byteLength)] : (evaluation.sets ?? []).flat().map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))) : [];
  const hash = `${await sha256(files)}${data.length ? `:data-${(await sha256(data)).slice(0, 16)}` : ''}`;
  const loaded = fromSnapshot(await receiveHandover(init.snapshot));
  const summary = summarizeModel(loaded);
  const refs = externalReferences(loaded.model).length > 0;
  if (refs && !loaded.external) throw new AppError('invalid-argument', 'the model keeps weights in external data files: open them together with the model');
  const model = refs && loaded.external ? inlineExternalData(loaded.model, loaded.external) : loaded.model;
  const labeled = evaluation?.labeled;
  const plan = planInputs(summary.inputs, { ...(labeled ? { labeled } : {}), ...(evaluation?.sets ? { sets: evaluation.sets } : {}), dimValues: init.dimValues });
  const calibrationPart: DataPart = given.calibration ?? {};
  // recovery: H of every recoverable layer's inputs, once, on the calibration part
  let recovery: Map<string, LayerHessian> | undefined;
  let recoveryLine = '';
  if (init.recovery) {
    const samples = partAsSamples(calibrationPart);
    if (samples.length === 0) throw new AppError('invalid-argument', 'recovery needs calibration samples: give data in the Data tab');
    recovery = init.shared?.recovery ?? (await withWebRun((run) => collectHessians(model, recoveryLayers(model, makeRecipe(init.target, { weights: 'int8', recovery: 'gptq' })), samples, run)));
    recoveryLine = `; recovery gptq on ${samples.length} calibration samples`;
  }
  // int8 activations (the latency search, target wasm): ranges once, on the calibration part
  let calibration: Calibration | undefined;
  if (init.activations && init.target === 'wasm') {
    const samples = partAsSamples(calibrationPart);
    if (samples.length === 0) throw new AppError('invalid-argument', 'int8 activations need calibration samples: give data in the Data tab');
    calibration = init.shared?.calibration ?? (await withWebRun((run) => collectCalibration(model, samples, run, { source: 'samples' })));
    recoveryLine += `; int8 activations calibrated on ${samples.length} calibration samples`;
  }
  evaluator = await CandidateEvaluator.create(model, plan, openWasm, { target: init.target, ...(recovery ? { recovery } : {}), ...(calibration ? { calibration } : {}) });
  return {
    hash,
    layers: evaluator.layers,
    baseline: evaluator.baseline,
    originalFileBytes: evaluator.originalBytes,
    originalLatencyMs: evaluator.baselineLatencyMs,
    projection: projectionInput(model, findLayers(model), modelTensorBytes(model)),
    inputs: `${plan.description}${recoveryLine}`,
    ...(labeled ? { labeled: labeled.source } : {}),
    setupMs: performance.now() - t0,
    // computed here (not handed over): for the other workers
    ...(!init.shared && (recovery || calibration) ? { shared: { ...(recovery ? { recovery } : {}), ...(calibration ? { calibration } : {}) } } : {}),
  };
}

// kept GPTQ solves beyond each layer's latest (recovery/step.ts): up to four workers side by side, 64 MiB each
setSolvedBudget(64 * 2 ** 20);

reportDecodes('explore');
serve(handlers);
