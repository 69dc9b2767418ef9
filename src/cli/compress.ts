/**
 * `compress`: apply a recipe to a model and write one self-contained .onnx file.
 *
 * The same core calls, in the same order, as the studio's compress worker (src/workers/
 * compress-run.ts): load -> compressModel -> pull remaining external data inline -> encodeModel,
 * so the same model and recipe give the same bytes here and in the page (tested).
 *
 * With --samples and layers asking for int8 activations, the samples are run through the float
 * model in onnxruntime-node first (compress/activations/calibrate.ts) and the ranges go to
 * compressModel as `calibration`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { collectCalibration, hasLargeRuns, synthesizeSamples, type Calibration, type RunModel, type Sample } from '../compress/activations/calibrate';
import type { HessianSource } from '../compress/recovery/hessian';
import { mapSource, recoverySource } from '../compress/recovery/sequential';
import { dataFreeRecovery } from '../compress/recovery/bn-stats';
import { recoveryLayers, recoveryModes, wantsRecovery, withoutRecovery } from '../compress/recovery/plan';
import { asksRecovery } from '../compress/recovery/meta';
import { CHECK_SAMPLES, checkNote, checkRecovery, halfOutputs, probabilityOutputs } from '../compress/recovery/check';
import { compressModel, compressModelStreaming, type CompressOptions, type CompressReport, type LayerReport } from '../compress/compress';
import { parseRecipeText, resolveRecipe, type LayerSettings, type Recipe } from '../compress/recipe';
import { encodeModel } from '../onnx/codec';
import { externalReferences, inlineExternalData } from '../onnx/external';
import { recipeLayers } from '../onnx/stored-tensors';
import { summarizeModel } from '../onnx/summary';
import type { ExternalDataResolver, Model } from '../onnx/types';
import { loadModelFromPath } from './fs-model';
import { gptqNativeNote, startGptqNative } from './gptq-native';
import { startGptqThreads } from './gptq-threads';
import { splitData, type LoadedData } from '../bench/data-load';
import { dataPathFor, writeCompressed, type WrittenData } from './model-output';
import { descriptionFromFlags, loadDataFed, type DataFlags } from './data';
import { pacedRunModel } from './gc-pace';
import { onShutdown } from './shutdown';

export interface CompressArgs extends DataFlags {
  model: string;
  recipe: string;
  out: string;
  /** --external-data NAME: weights of 1 KB or more go to the file NAME beside OUT */
  externalData?: string;
  /** one file up to this many bytes, else `<OUT>.data` beside it (default MAX_INLINE_BYTES: protobuf's 2 GB; lowered by tests) */
  maxInlineBytes?: number;
  /** calibrate on random input sets (synthesizeSamples), as the studio does, when no --samples */
  synthesizeSamples?: boolean;
  json?: boolean;
  /** recipe keys set in the recipe's defaults (--recovery, --equalize, --clip-search, --act-order, --both-orders) */
  overrides?: { recovery?: 'none' | 'bias' | 'gptq' | 'sequential'; equalize?: boolean; clipSearch?: boolean; actOrder?: boolean; orderSearch?: boolean };
  /** sequential recovery: layer inputs collected in this many rounds (recovery/sequential.ts; default 1) */
  recoveryRounds?: number;
}

/**
 * The sessions ortRunModel's runners made and did not release, released before the CLI exits
 * (cli/shutdown.ts). Weakly: a session whose model bytes are gone is still collected (and released
 * by onnxruntime-node) as before; autotune makes many.
 */
const live = new Set<WeakRef<Ort.InferenceSession>>();
let releasesAtShutdown = false;

/**
 * Runs a model in onnxruntime-node for calibration (one session per model bytes). Loaded on first
 * use only: most compressions never calibrate.
 */
export async function ortRunModel(): Promise<RunModel> {
  const ort = await import('onnxruntime-node');
  if (!releasesAtShutdown) {
    releasesAtShutdown = true;
    onShutdown(async () => {
      const all = [...live].map((r) => r.deref()).filter((s): s is Ort.InferenceSession => s !== undefined);
      live.clear();
      await Promise.all(all.map((s) => s.release().catch(() => undefined)));
    });
  }
  const sessions = new WeakMap<Uint8Array, Promise<Ort.InferenceSession>>();
  const run: RunModel = async (bytes, sample) => {
    let session = sessions.get(bytes);
    // errors only: the statistics and calibration copies leave initializers onnxruntime warns about.
    // The recovery statistics copies (calibrate.ts markLargeRuns) run with onnxruntime's CPU memory
    // arena and no memory pattern: without the arena each of their intermediates over glibc's mmap
    // threshold (32 MiB at most) is fresh pages every run, at ~15 µs a page fault here (the
    // PaddleOCR detector's 640x640 patches: its recovery 69-71 s → 31 s, the same bytes; IS-Net
    // 1024x1024, 4 samples: see docs/RECIPE-NOTES.md, session 22), and a pattern plans a run's
    // intermediates as one block beside the arena's chunks (+290 MB on the detector, no faster).
    // Every other session has no arena: what a run allocates goes back when it ends (IS-Net's
    // forward passes with an arena held 9.0 GB at the peak against 5.2 GB without).
    if (!session) {
      const large = hasLargeRuns(bytes);
      sessions.set(bytes, (session = ort.InferenceSession.create(bytes, { logSeverityLevel: 3, enableCpuMemArena: large, enableMemPattern: !large })));
      void session.then((s) => live.add(new WeakRef(s)), () => undefined);
    }
    const feeds: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(sample)) {
      feeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
    }
    const out = await (await session).run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
  };
  run.release = async (bytes) => {
    const session = sessions.get(bytes);
    sessions.delete(bytes);
    if (session) {
      const s = await session;
      for (const r of live) if (r.deref() === s) live.delete(r);
      await s.release();
    }
  };
  // a session per bytes object, the bytes read only when it is created
  run.keepsSession = true;
  // native MatMul: GPTQ's factor of wide layers through it (recovery/factor-runtime.ts)
  run.nativeProducts = true;
  // the recovery statistics feed large weights in place instead of each session copying them (hessian.ts, weightsAsInputs)
  run.feedWeights = true;
  // dead outputs collected as they pile up, not tens of MB later (gc-pace.ts)
  return pacedRunModel(run);
}

/** Random input sets for --synthesize-samples (the studio calibrates on as many). */
const SYNTHESIZED_SETS = 8;

/** Activation ranges from the user's samples (or random ones), for the layers that ask for int8 activations. */
async function calibrate(model: Model, external: ExternalDataResolver | undefined, samples: readonly Sample[], source?: 'synthesized'): Promise<Calibration> {
  // onnxruntime gets the model as bytes: external data goes inline for the calibration run
  const self = externalReferences(model).length > 0 && external ? inlineExternalData(model, external) : model;
  const flag = source === 'synthesized' ? '--synthesize-samples' : '--samples';
  try {
    return await collectCalibration(self, samples, await ortRunModel(), source ? { source } : {});
  } catch (e) {
    if (e instanceof AppError) throw new AppError(e.code, `${flag}: ${e.message}`, { cause: e });
    throw new AppError('invalid-argument', `${flag}: the model did not run on the samples: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The recovery progress line (stderr, on a terminal only): `recovery: sample 5 of 12`, with
 * recovery "sequential" `recovery: round 2 of 4, sample 5 of 12` (done and total count samples
 * over every round).
 */
export function recoveryProgress(done: number, total: number, samples: number): string {
  const rounds = Math.max(1, Math.round(total / Math.max(1, samples)));
  if (rounds <= 1) return `recovery: sample ${done} of ${total}`;
  const round = Math.min(rounds, Math.max(1, Math.ceil(done / samples)));
  return `recovery: round ${round} of ${rounds}, sample ${done - (round - 1) * samples} of ${samples}`;
}

/**
 * H of the inputs of every layer the recipe asks to recover (recovery "gptq"), on the calibration
 * samples, in `rounds` rounds (recovery/sequential.ts); an error naming --samples when there are
 * none (random inputs would teach nothing).
 */
async function recoveryData(
  model: Model,
  external: ExternalDataResolver,
  recipe: Recipe,
  samples: Sample[] | undefined,
  rounds: number | undefined,
  calibration: Calibration | undefined,
  onPass: ((pass: number, passes: number, done: number, total: number) => void) | undefined,
): Promise<{ source: HessianSource; note: string } | undefined> {
  if (!wantsRecovery(model, recipe)) return undefined;
  if (!samples || samples.length === 0) {
    // recovery "bias" alone works from BatchNorm statistics without data; gptq needs real inputs
    const free = dataFreeRecovery(model, recoveryLayers(model, recipe));
    if (free.needsSamples) throw new AppError('invalid-argument', 'recovery "gptq" learns from real inputs: give calibration samples with --samples DIR|FILE');
    return { source: mapSource(free.means), note: free.note };
  }
  // minutes on a CNN: say where it is, on a terminal (a pipe or a test reads a clean stderr)
  const tty = process.stderr.isTTY;
  const onProgress = tty ? (done: number, total: number) => process.stderr.write(`\r\x1b[K${recoveryProgress(done, total, samples.length)}`) : undefined;
  // GPTQ's rows on the other cores too, and its wide layers' products on onnxruntime's MatMul (they start while the statistics run)
  startGptqNative(startGptqThreads()?.memory);
  try {
    const r = await recoverySource(model, external, recipe, samples, await ortRunModel(), { ...(rounds ? { rounds } : {}), ...(calibration ? { calibration } : {}), ...(onProgress ? { onProgress } : {}), ...(onPass ? { onPass } : {}) });
    return { source: r.source, note: `recovery: ${r.note}` };
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

/** The recovered result, or round to nearest's when the model's outputs came out further from the original (recovery/check.ts). */
async function checkedRecovery(
  original: Model,
  external: ExternalDataResolver,
  recipe: Recipe,
  options: CompressOptions,
  recovered: { model: Model; report: CompressReport },
  samples: Sample[],
  basis: 'calibration' | 'evaluation',
  /** on a terminal: each sample as it is checked */
  onProgress?: (done: number, total: number) => void,
): Promise<{ model: Model; report: CompressReport }> {
  const { recovery: _h, ...rest } = options;
  const rtn = compressModel(original, withoutRecovery(recipe), rest);
  const bytes = (m: Model) => encodeModel(externalReferences(m).length > 0 ? inlineExternalData(m, external) : m);
  const check = await checkRecovery(bytes(original), bytes(rtn.model), bytes(recovered.model), samples, await ortRunModel(), basis, probabilityOutputs(original), halfOutputs(original), onProgress ? { onProgress } : {});
  const chosen = check.keep ? recovered : rtn;
  chosen.report.notes.push(checkNote(check, recoveryModes(recipe)));
  return chosen;
}

/** Calibration input sets as the calibrator takes them (a labeled set's rows one by one). */
export function calibrationSamples(part: ReturnType<typeof splitData>['calibration']): Sample[] {
  if (part.sets) return part.sets.map((set) => Object.fromEntries(set.map((t) => [t.name, { dtype: t.dtype, dims: t.dims, data: t.data }])));
  const l = part.labeled;
  if (!l) return [];
  const per = l.sampleDims.reduce((p, d) => p * d, 1);
  return Array.from(l.labels, (_, i) => ({ [l.inputName]: { dtype: 'float32', dims: [1, ...l.sampleDims], data: l.data.slice(i * per, (i + 1) * per) } }));
}

/** Reads and validates the recipe file: a bad one is AppError('invalid-argument') naming the key. */
export function readRecipe(file: string): Recipe {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('io', `No such recipe file: ${file}`);
    if (code === 'EISDIR') throw new AppError('invalid-argument', `--recipe ${file} is a folder, not a recipe file.`);
    throw new AppError('io', `Cannot read ${file}: ${code ?? String(e)}.`);
  }
  try {
    return parseRecipeText(text);
  } catch (e) {
    if (e instanceof AppError) throw new AppError(e.code, `${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

function checkOut(out: string, model: string): void {
  const dir = path.dirname(path.resolve(out));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) throw new AppError('invalid-argument', `The output folder ${path.dirname(out)} does not exist.`);
  try {
    const o = fs.statSync(out);
    if (o.isDirectory()) throw new AppError('invalid-argument', `--out ${out} is a folder; give a file name.`);
    const m = fs.statSync(model);
    if (o.ino === m.ino && o.dev === m.dev) throw new AppError('invalid-argument', '--out must not be the input model itself.');
  } catch (e) {
    if (e instanceof AppError) throw e;
  }
}

function describeSettings(s: LayerSettings): string {
  const parts: string[] = [s.weights];
  if (s.weights === 'int8' || s.weights === 'int4') {
    parts.push(s.granularity === 'block' ? `block${s.blockSize}` : s.granularity);
    if (!s.symmetric) parts.push('asym');
  }
  if (s.prune > 0) parts.push(`prune ${Math.round(s.prune * 1000) / 10}%${s.pruneMethod === 'channel' ? ' ch' : ''}`);
  if (s.activations === 'int8') parts.push('act int8');
  return parts.join(' ');
}

/** A relative error as a percent with 2 significant digits (the page's layer rows say the same). */
const pctError = (x: number) => `${(x * 100).toPrecision(2)}%`;

/**
 * A layer's GPTQ line: each recovered weight's output error on the calibration inputs without
 * recovery, then with it (Σ‖Ŷ − Y‖² / Σ‖Y‖² over the layer's whole output), as the page's row says.
 */
function gptqCell(l: LayerReport): string {
  return l.weights.flatMap((w) => (w.recovery ? [`${pctError(w.recovery.errorBefore)} → ${pctError(w.recovery.errorAfter)}`] : [])).join(', ');
}

/**
 * The per-layer table, with columns padded to their widest cell; with a "gptq error" column (the
 * layer's output error on the calibration inputs before → after) when any layer was recovered.
 */
export function formatLayerTable(layers: readonly LayerReport[]): string[] {
  const gptq = layers.some((l) => l.weights.some((w) => w.recovery));
  const header = ['layer', 'op', 'requested', 'applied', 'before', 'after', ...(gptq ? ['gptq error'] : []), 'note'];
  const rows = layers.map((l) => [
    l.key,
    l.op,
    describeSettings(l.requested),
    l.error !== undefined ? 'left as it was' : l.quantized ? 'already quantized' : l.applied,
    formatBytes(l.bytesBefore),
    formatBytes(l.bytesAfter),
    ...(gptq ? [gptqCell(l)] : []),
    l.error !== undefined ? `error: ${l.error}` : l.notes.join('; '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([4, 5, ...(gptq ? [6] : [])]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export interface CompressOutcome {
  model: string;
  out: string;
  fileBytesBefore: number;
  /** the model file plus its data file, when there is one */
  fileBytesAfter: number;
  /** the model file alone, when its weights went to a data file */
  modelBytes?: number;
  /** the data file beside OUT (--external-data NAME, or automatic past 2 GB) */
  data?: WrittenData;
  samples?: { count: number; names: string[]; ignored: string[]; note?: string; data?: string };
  report: CompressReport;
}

/** Runs the compression and writes OUT; returns what was done. */
export async function runCompress(args: CompressArgs): Promise<{ outcome: CompressOutcome; renamedNodes: number; reorderedNodes?: number }> {
  checkOut(args.out, args.model);
  const read = readRecipe(args.recipe);
  const recipe = args.overrides ? { ...read, defaults: { ...read.defaults, ...args.overrides } } : read;
  const loaded = loadModelFromPath(args.model);
  try {
    // a bad --external-data NAME is refused before any work
    if (args.externalData !== undefined) dataPathFor(args.externalData, args, loaded.model, loaded.external);
    let wantsActivations: boolean;
    /** flags no layer's settings act on (said in the notes, not silently dropped) */
    const unused: string[] = [];
    try {
      // a layer key that names no layer: reported against the recipe file, before any work
      const resolved = resolveRecipe(recipe, recipeLayers(loaded.model));
      wantsActivations = resolved.some((l) => l.settings.activations === 'int8');
      const recovering = resolved.filter((l) => asksRecovery(l.settings));
      if (args.recoveryRounds !== undefined && !recovering.some((l) => l.settings.recovery === 'sequential')) {
        unused.push(`--recovery-rounds ${args.recoveryRounds}: no layer asks for recovery "sequential" (--recovery sequential): ignored`);
      }
      for (const [on, flag] of [[args.overrides?.actOrder, '--act-order'], [args.overrides?.orderSearch, '--both-orders']] as const) {
        if (on && !recovering.some((l) => l.settings.recovery === 'gptq' || l.settings.recovery === 'sequential')) {
          unused.push(`${flag}: no layer asks for recovery "gptq" or "sequential" (--recovery gptq|sequential): ignored`);
        }
      }
    } catch (e) {
      if (e instanceof AppError) throw new AppError(e.code, `${args.recipe}: ${e.message}`, { cause: e });
      throw e;
    }
    let data: LoadedData | undefined;
    if (args.samples !== undefined) data = await loadDataFed(args.samples, descriptionFromFlags(args), summarizeModel(loaded), path.resolve(args.model));
    const part = data ? splitData(data) : undefined;
    let calibration: Calibration | undefined;
    if (wantsActivations && data && part) calibration = await calibrate(loaded.model, loaded.external, calibrationSamples(part.calibration));
    else if (wantsActivations && args.synthesizeSamples) {
      calibration = await calibrate(loaded.model, loaded.external, synthesizeSamples(loaded.model, { count: SYNTHESIZED_SETS }), 'synthesized');
    }
    // on a terminal, where it is: the layer, and while a pass of layer-input statistics runs, its sample
    const tty = process.stderr.isTTY;
    let at = '';
    let line = '';
    // (a pass done: GPTQ of its layers runs next, so the layer line comes back)
    const onPass = tty
      ? (pass: number, passes: number, done: number, total: number) =>
          process.stderr.write(`\r\x1b[K${done < total ? `${at}recovery: layer inputs, pass ${pass + 1} of ${passes}, sample ${done} of ${total}` : line}`)
      : undefined;
    const recovered = await recoveryData(loaded.model, loaded.external, recipe, part ? calibrationSamples(part.calibration) : undefined, args.recoveryRounds, calibration, onPass);
    const source = recovered?.source;
    const options: CompressOptions = { external: loaded.external, ...(calibration ? { calibration } : {}) };
    const onProgress = (done: number, total: number, key: string) => {
      at = `layer ${done} of ${total} · `;
      line = `layer ${done} of ${total}${key ? ` · ${key}` : ''}`;
      process.stderr.write(`\r\x1b[K${line}`);
    };
    // (the layers too: GPTQ on a wide Conv takes seconds each)
    let { model, report } = source ? await compressModelStreaming(loaded.model, recipe, source, tty ? { ...options, onProgress } : options) : compressModel(loaded.model, recipe, options);
    if (tty && source) process.stderr.write('\r\x1b[K');
    if (source && source.count > 0 && part) {
      // the check runs held-out samples where --calibration N split them off (the calibration ones favour what was fitted to them)
      const held = part.overlap ? [] : calibrationSamples(part.evaluation).slice(0, CHECK_SAMPLES);
      const checking = tty ? (done: number, total: number) => process.stderr.write(`\r\x1b[Krecovery check: sample ${done} of ${total} (original, round to nearest, recovered)`) : undefined;
      ({ model, report } = await checkedRecovery(loaded.model, loaded.external, recipe, options, { model, report }, held.length > 0 ? held : calibrationSamples(part.calibration), held.length > 0 ? 'evaluation' : 'calibration', checking));
      if (tty) process.stderr.write('\r\x1b[K');
    }
    if (recovered?.note) report.notes.push(recovered.note);
    // (GPTQ went on without its native products: say so, the result is still recovery's)
    const native = source ? gptqNativeNote() : undefined;
    if (native) report.notes.push(native);
    report.notes.push(...unused);
    const written = writeCompressed(model, loaded.model, loaded.external, args);
    let fileBytesBefore = loaded.fileSize;
    for (const loc of new Set(externalReferences(loaded.model).map((r) => r.location))) fileBytesBefore += loaded.external.size(loc) ?? 0;
    let samples: CompressOutcome['samples'];
    if (data && part) {
      samples = {
        count: data.count,
        names: data.names,
        ignored: data.ignored,
        ...(data.kind === 'tensors' ? {} : { data: `${data.summary}; ${part.line}` }),
        ...(wantsActivations
          ? {}
          : recovered
            ? { note: 'used by recovery (layer inputs); no layer asks for int8 activations' }
            : { note: 'no layer asks for int8 activations: the samples were checked but not used' }),
      };
    }
    return {
      outcome: {
        model: args.model,
        out: args.out,
        fileBytesBefore,
        fileBytesAfter: written.modelBytes + (written.data?.bytes ?? 0),
        ...(written.data ? { modelBytes: written.modelBytes, data: written.data } : {}),
        ...(samples ? { samples } : {}),
        report,
      },
      renamedNodes: loaded.renamedNodes,
      ...(loaded.reorderedNodes ? { reorderedNodes: loaded.reorderedNodes } : {}),
    };
  } finally {
    loaded.external.close();
  }
}

/** The `compress` command: returns the lines to print. */
export async function compressCommand(args: CompressArgs): Promise<string[]> {
  const { outcome, renamedNodes, reorderedNodes } = await runCompress(args);
  if (args.json) return [JSON.stringify(outcome, null, 2)];
  const r = outcome.report;
  const ratio = outcome.fileBytesAfter > 0 ? outcome.fileBytesBefore / outcome.fileBytesAfter : 0;
  const d = outcome.data;
  const sizes = d ? `${formatBytes(outcome.modelBytes ?? 0)} + data ${formatBytes(d.bytes)}` : formatBytes(outcome.fileBytesAfter);
  const lines = [
    `Wrote ${outcome.out}${d ? ` and ${d.path}` : ''} (${sizes}, from ${formatBytes(outcome.fileBytesBefore)}: ${ratio.toFixed(2)}x smaller)`,
    `target ${r.target}; opset ${r.opset.before ?? 'none'}${r.opset.after !== r.opset.before ? ` -> ${r.opset.after ?? 'none'}` : ''}${r.opset.note ? ` (${r.opset.note})` : ''}`,
    `${r.layersChanged} of ${r.layers.length} layers changed${r.layersFailed > 0 ? `, ${r.layersFailed} left as they were (see errors)` : ''}; weights ${formatBytes(r.bytesBefore)} -> ${formatBytes(r.bytesAfter)}`,
  ];
  if (outcome.samples) {
    const s = outcome.samples;
    lines.push(
      `samples: ${s.count} checked against the model's inputs${s.ignored.length ? ` (${s.ignored.length} other files ignored)` : ''}${s.note ? `; ${s.note}` : ''}`,
    );
    if (s.data) lines.push(`data: ${s.data}`);
  }
  const passes = r.cleanup?.passes.filter((p) => p.enabled && p.count > 0) ?? [];
  if (r.cleanup && passes.length > 0) lines.push(`clean-up: ${passes.map((p) => p.summary).join('; ')} (nodes ${r.cleanup.nodesBefore} -> ${r.cleanup.nodesAfter})`);
  if (r.pruning && (r.pruning.groups.length > 0 || r.pruning.refused.length > 0)) {
    const removed = r.pruning.groups.reduce((n, g) => n + g.removed.length, 0);
    lines.push(`channel pruning: ${removed} channels removed in ${r.pruning.groups.length} groups, parameters ${r.pruning.paramsBefore} -> ${r.pruning.paramsAfter}`);
    for (const x of r.pruning.refused) lines.push(`channel pruning refused for ${x.layers.join(', ')}: ${x.reason}`);
  }
  if (d?.automatic) {
    lines.push(
      `note: as one file the result would pass ${formatBytes(d.limit ?? 0)} (one ONNX file holds at most 2 GB): its weights went to ${d.location} beside ${path.basename(outcome.out)}; keep the two together (--external-data NAME chooses the name)`,
    );
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (renamedNodes) lines.push(`${renamedNodes} nodes with empty or repeated names were given unique names (the layer keys below).`);
  if (reorderedNodes) lines.push(`${reorderedNodes} nodes read a value made by a node listed after them: the result lists every node after its inputs (topological order, as ONNX asks).`);
  lines.push('', ...formatLayerTable(r.layers));
  return lines;
}
