/**
 * Sequential recovery (issue #12; recipe `recovery: "sequential"`): the layer inputs GPTQ works
 * with come from the model whose earlier layers are already compressed, and the layer aims at the
 * original model's outputs (teacher.ts), so it makes up for what the layers before it lost instead
 * of errors piling up.
 *
 * The recovered layers (recoveryLayers, in main-graph order) are split into R rounds of about equal
 * count (R = 4 unless asked). Round 1 collects H from the original model (what one pass uses) for
 * its own layers and for the layers asking plain "gptq" or "bias" (it stays their answer); a layer
 * a later round cannot reach gets its H from the original in that round. Round k > 1 compresses the model with the recipe as given for
 * the layers of rounds < k (their H known by then) and with the layers of rounds ≥ k left float
 * (weights fp32, no pruning, float activations): the "prefix model"; its "sequential" layers of
 * round k get H collected on it, and with the original run beside it (teacher.ts), the cross
 * term that aims them at the original outputs (for the layers no other layer of the round feeds,
 * with at least TEACHER_MIN_ROWS input rows per column). Its structure is what compressModel writes
 * (decode nodes, folded BatchNormalization, MatMulNBits), so the prefix is exactly the one the
 * final file holds: the same H gives the same codes. Within a round, a layer sees the round's
 * earlier layers float.
 *
 * One round where the recipe has channel pruning with recovery (weight shapes change between the
 * float and the compressed model) or only one layer is recovered.
 *
 * Costs: R - 1 extra compressions (GPTQ of the prefix again) and R - 1 extra statistics passes,
 * each over the calibration samples, running the prefix and the original, for that round's layers.
 * Memory: one round's H at a time (and the plain layers' until they are written): the prefix of
 * round k computes the GPTQ codes of the layers before it, which the final file reuses
 * (step.ts's cache), so their H, cross terms and weighted H are released there (releaseSolved).
 */
import { throwIfAborted } from '../../core/errors';
import { externalReferences, inlineExternalData } from '../../onnx/external';
import { findLayers, type Layer } from '../../onnx/layers';
import type { ExternalDataResolver, Model, Node } from '../../onnx/types';
import type { Calibration, RunModel, Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import { collectHessians, hessianSource, recoverable, recoveredInput, type HessianSource, type LayerHessian } from './hessian';
import { recoveryLayers } from './plan';
import { prepareFactors } from './factor-runtime';
import { releaseSolved } from './step';
import { resolveRecipe } from '../recipe';
import { teacherModel } from './teacher';
import { logInputAfter } from './sensitivity';
import { recipeLayers } from '../../onnx/stored-tensors';

/**
 * Rounds of recovery "sequential" when not asked. Measured (docs/RECIPE-NOTES.md, "Recovery"):
 * 4 rounds gave most of the gain of 8 on the embedding dev model at half the time.
 */
export const DEFAULT_ROUNDS = 4;

export interface SequentialOptions {
  /** rounds for the layers asking "sequential" (1: one pass, H from the original model only); default DEFAULT_ROUNDS */
  rounds?: number;
  /** activation ranges the final compression uses (the prefix model gets them too) */
  calibration?: Calibration;
  signal?: AbortSignal;
  /** samples done over all rounds (the total known from the start) */
  onProgress?: (done: number, total: number) => void;
  /** aim at the original model's outputs (the cross term, teacher.ts); default true */
  teacher?: boolean;
}

export interface SequentialResult {
  hessians: Map<string, LayerHessian>;
  /** rounds run */
  rounds: number;
  /** what was done, for the report */
  note: string;
}

type Planned = ReturnType<typeof recoveryLayers>[number];

/** `items` in `rounds` consecutive chunks of about equal count. */
export function chunks<T>(items: readonly T[], rounds: number): T[][] {
  const r = Math.max(1, Math.min(rounds, items.length));
  const out: T[][] = [];
  for (let k = 0; k < r; k++) out.push(items.slice(Math.round((k * items.length) / r), Math.round(((k + 1) * items.length) / r)));
  return out.filter((c) => c.length > 0);
}

function channelPruning(model: Model, recipe: Recipe): boolean {
  return resolveRecipe(recipe, recipeLayers(model)).some((l) => l.settings.prune > 0 && l.settings.pruneMethod === 'channel');
}

/**
 * The recipe with the layers `float` left float (no weight compression, pruning, recovery or
 * activation quantization), every other layer as asked.
 */
export function withFloatLayers(recipe: Recipe, float: Iterable<string>): Recipe {
  const layers = { ...recipe.layers };
  for (const key of float) layers[key] = { ...layers[key], weights: 'fp32', prune: 0, recovery: 'none', activations: 'fp32' };
  return { ...recipe, layers };
}

/**
 * The keys of `layers` that another of `layers` feeds (one of them is upstream of its input), in
 * `model`'s main graph.
 */
export function fedByRound(model: Model, layers: readonly Layer[]): Set<string> {
  const producer = new Map<string, Node>();
  for (const n of model.graph?.nodes ?? []) for (const o of n.outputs) if (o) producer.set(o, n);
  const members = new Set(layers.map((l) => l.node));
  const fed = new Set<string>();
  for (const l of layers) {
    const seen = new Set<Node>();
    const stack = [...l.node.inputs.filter(Boolean)];
    while (stack.length > 0) {
      const n = producer.get(stack.pop() as string);
      if (!n || seen.has(n)) continue;
      seen.add(n);
      if (members.has(n) && n !== l.node) {
        fed.add(l.key);
        break;
      }
      for (const x of n.inputs) if (x) stack.push(x);
    }
  }
  return fed;
}

/**
 * The prefix model: `model` compressed by `recipe` with H `recovery`, the layers `float` left
 * float; self-contained (external data inlined) so it can run. Its recovered layers found by key.
 */
export function prefixModel(
  model: Model,
  external: ExternalDataResolver | undefined,
  recipe: Recipe,
  float: readonly string[],
  recovery: ReadonlyMap<string, LayerHessian>,
  calibration?: Calibration,
  signal?: AbortSignal,
): { model: Model; layers: Map<string, Layer> } {
  const out = compressModel(model, withFloatLayers(recipe, float), { ...(external ? { external } : {}), ...(calibration ? { calibration } : {}), recovery, activationCostGuard: true, ...(signal ? { signal } : {}) }).model;
  const self = external && externalReferences(out).length > 0 ? inlineExternalData(out, external) : out;
  const want = new Set(float);
  const layers = new Map<string, Layer>();
  for (const l of findLayers(self)) if (want.has(l.key) && recoverable(l)) layers.set(l.key, l);
  return { model: self, layers };
}

/**
 * H of every layer the recipe recovers, collected sequentially (see the file's comment); the
 * map compressModel takes as `recovery`. `model` as loaded (external data read through
 * `external`), `run` runs model bytes on a sample.
 */
export async function collectRecoveryHessians(
  model: Model,
  external: ExternalDataResolver | undefined,
  recipe: Recipe,
  samples: readonly Sample[],
  run: RunModel,
  options: SequentialOptions = {},
): Promise<SequentialResult> {
  const { signal } = options;
  const { planned, rounds, onePass } = roundsOf(model, recipe, options.rounds);
  const self = inlined(model, external);
  const later = rounds.slice(1).reduce((n, c) => n + c.length, 0);
  const total = samples.length * (1 + (later > 0 ? rounds.length - 1 : 0));
  let base = 0;
  const progress = (done: number) => options.onProgress?.(base + done, total);
  // round 1 from the original: its own layers, and the layers asking plain "gptq" or "bias" (their
  // statistics stay the original's); a later round's "sequential" layers get theirs in that round
  const first = new Set(rounds[0].map((p) => p.layer.key));
  const hessians = await collectHessians(
    self,
    planned.filter((p) => first.has(p.layer.key) || !p.sequential),
    samples,
    run,
    { ...(signal ? { signal } : {}), onProgress: progress },
  );
  base += samples.length;
  let missed = 0;
  let lost = 0;
  let teacherless = 0;
  let taughtNot = 0;
  let weighted = 0;
  for (let k = 1; k < rounds.length; k++) {
    throwIfAborted(signal);
    const float = rounds.slice(k).flat().map((p) => p.layer.key);
    const known = new Map([...hessians].filter(([key]) => !float.includes(key)));
    const prefix = prefixModel(model, external, recipe, float, known, options.calibration, signal);
    // the prefix computed the GPTQ codes of the layers it compresses, which the final file reuses: their H go
    for (const h of known.values()) if (h.h.length > 0) releaseSolved(h);
    const layers: Planned[] = [];
    const kept: Planned[] = [];
    // layers asking plain gptq (or bias) keep round 1's statistics
    for (const p of rounds[k].filter((q) => q.sequential)) {
      const l = prefix.layers.get(p.layer.key);
      const w = l?.weights.find((v) => v.role === 'weight' && v.inputIndex === recoveredInput(l));
      // (a layer in an If branch keeps round 1's: the teacher's rows are the main graph's)
      if (l && w && w.via.length === 0 && l.graphPath === 'main' && w.shape.join() === p.shape.join()) layers.push({ ...p, layer: l });
      else kept.push(p);
    }
    // a layer the prefix does not show as it is (decoded weights, another shape) keeps inputs from the original
    if (kept.length > 0) {
      for (const [key, h] of await collectHessians(self, kept, samples, run, signal ? { signal } : {})) hessians.set(key, h);
      missed += kept.length;
    }
    // with the teacher: the original beside the prefix, each layer's original input as its
    // partner, for the layers no other layer of the round feeds (those see, in the prefix, the
    // round's earlier layers float; in the final file those layers already make up for what
    // came before, and aiming at the original again would correct twice)
    const joined = options.teacher === false ? undefined : teacherModel(prefix.model, self);
    if (joined) {
      const fed = fedByRound(prefix.model, layers.map((p) => p.layer));
      for (const p of layers) {
        const original = rounds[k].find((q) => q.layer.key === p.layer.key)?.layer.node;
        const input = original?.inputs[0];
        // a layer a Log reads (sensitivity.ts) aims at its own weights, each output channel
        // weighted by the Log's sensitivity on the original model's values (no weighted cross term)
        const logInput = original && logInputAfter(self, original);
        if (logInput) {
          Object.assign(p, { weightBy: joined.rename(logInput) });
          weighted++;
        } else if (input && !fed.has(p.layer.key)) Object.assign(p, { partner: joined.rename(input) });
        else if (input) taughtNot++;
      }
    } else if (options.teacher !== false) teacherless++;
    // the round's layers' first H go before their new H and cross terms are collected (not three at
    // once: resnet18's last round, 489 MiB less at the peak); a layer of the round always gets rows
    // again (the prefix has the original's shapes), else it is counted and keeps round to nearest
    for (const p of layers) hessians.delete(p.layer.key);
    const got = layers.length > 0 ? await collectHessians(joined?.model ?? prefix.model, layers, samples, run, { ...(signal ? { signal } : {}), onProgress: progress }) : new Map<string, LayerHessian>();
    for (const [key, h] of got) hessians.set(key, h);
    lost += layers.length - got.size;
    base += samples.length;
  }
  const note =
    rounds.length > 1
      ? `sequential in ${rounds.length} rounds (${rounds.map((c) => c.length).join(' + ')} layers): each round's layer inputs from the model with the earlier rounds' layers compressed, ${options.teacher === false ? "aiming at the layer's own weights" : teacherless > 0 ? `aiming at the original model's outputs except in ${teacherless} round${teacherless === 1 ? '' : 's'} (subgraphs: the layer's own weights)` : "aiming at the original model's outputs"}${taughtNot > 0 ? ` (${taughtNot} layer${taughtNot === 1 ? '' : 's'} fed by an earlier layer of the same round: at their own weights)` : ''}${weighted > 0 ? ` (${weighted} layer${weighted === 1 ? '' : 's'} a Log reads: at ${weighted === 1 ? 'its' : 'their'} own weights, weighted by the Log's sensitivity)` : ''}${missed > 0 ? `; ${missed} layer${missed === 1 ? '' : 's'} kept inputs from the original` : ''}${lost > 0 ? `; ${lost} layer${lost === 1 ? '' : 's'} without input rows in ${lost === 1 ? 'its' : 'their'} round: round to nearest` : ''}`
      : onePass;
  return { hessians, rounds: rounds.length, note };
}

/** The model with its external data inline (the statistics copies run it from bytes). */
const inlined = (model: Model, external: ExternalDataResolver | undefined): Model => (external && externalReferences(model).length > 0 ? inlineExternalData(model, external) : model);

/** The recovered layers in rounds (one where no layer asks for "sequential", or with channel pruning), and the note of one pass. */
function roundsOf(model: Model, recipe: Recipe, rounds: number | undefined): { planned: Planned[]; rounds: Planned[][]; onePass: string } {
  const planned = recoveryLayers(model, recipe);
  const asked = planned.some((p) => p.sequential) ? Math.max(1, Math.floor(rounds ?? DEFAULT_ROUNDS)) : 1;
  const channel = channelPruning(model, recipe);
  const onePass =
    channel && asked > 1 ? 'one pass (layer inputs from the original model): channel pruning changes weight shapes, so not sequential' : 'one pass (layer inputs from the original model)';
  return { planned, rounds: channel ? [planned] : chunks(planned, asked), onePass };
}

/** A map of H as a HessianSource (everything held already). */
export function mapSource(hessians: ReadonlyMap<string, LayerHessian>, run?: RunModel, ordered?: ReadonlySet<string>): HessianSource {
  return {
    count: hessians.size,
    plan: () => undefined,
    async take(key) {
      const h = hessians.get(key);
      // the final file's layers not solved in a prefix: their factor through a native runtime (factor-runtime.ts), a layer at a time
      if (h && run?.nativeProducts) await prepareFactors(h.h, h.cols, run, undefined, false, ordered?.has(key) ?? false);
      return h;
    },
    release: () => undefined,
  };
}

export interface RecoverySource {
  source: HessianSource;
  /** rounds that ran (sequential) or will run (1: streamed) */
  rounds: number;
  note: string;
}

/**
 * What compressModelStreaming takes for the recipe's recovery: with one round (no layer asks for
 * "sequential", or channel pruning makes it one pass) a HessianSource that collects each pass of
 * statistics when compression reaches its layers and frees it after (hessian.ts hessianSource):
 * `onPass` then reports those passes, during compression. Sequential rounds are collected here
 * first (collectRecoveryHessians: each round's prefix is compressed with the earlier rounds' H,
 * so they are all held) and reported through `onProgress`.
 */
export async function recoverySource(
  model: Model,
  external: ExternalDataResolver | undefined,
  recipe: Recipe,
  samples: readonly Sample[],
  run: RunModel,
  options: SequentialOptions & { onPass?: (pass: number, passes: number, done: number, total: number) => void } = {},
): Promise<RecoverySource> {
  const { planned, rounds, onePass } = roundsOf(model, recipe, options.rounds);
  if (rounds.length > 1) {
    const r = await collectRecoveryHessians(model, external, recipe, samples, run, options);
    return { source: mapSource(r.hessians, run, new Set(planned.filter((p) => p.actOrder).map((p) => p.layer.key))), rounds: r.rounds, note: r.note };
  }
  const { signal, onPass } = options;
  const source = hessianSource(inlined(model, external), planned, samples, run, { ...(signal ? { signal } : {}), ...(onPass ? { onPass } : {}) });
  return { source, rounds: 1, note: onePass };
}
