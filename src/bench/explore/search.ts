/**
 * Mixed precision (and pruning) search over per-layer settings, and the trade-off sweep.
 *
 * Per layer the options are weights fp32/fp16/int8/int4, each optionally with magnitude pruning at
 * 25/50/75%. Each option has an estimated cost (from the per-layer sensitivity: the metric drop
 * of the layer alone, its weights' and its pruning's drops added) and a projected size (size.ts).
 *
 * Budget (size) search:
 *  1. greedy from "everything fp32": repeatedly take the move (one layer to a smaller option) with
 *     the least estimated cost per byte saved until the projected size fits, under three cost
 *     weightings (metric drop blended with 1 - cosine, metric first, cosine only);
 *  2. the uniform settings that fit join as starting points;
 *  3. all of them are measured for real (compressed, run, scored) and the best is refined: the
 *     layers it hurts most are raised one option at a time while the greedy lowers others to stay
 *     in budget, each candidate measured, kept when it measures better.
 * Floor (accuracy/fidelity) search: the greedy path down to the smallest size, measured by
 * bisection for the smallest configuration that keeps the metric at or above the floor.
 * Every measured configuration is a point (size, metric) for the Pareto chart.
 */
import { AppError, throwIfAborted } from '../../core/errors';
import { makeRecipe, serializeRecipe, type PartialLayerSettings, type Recipe, type Target, type WeightMode } from '../../compress/recipe';
import type { ExploreLayer, Measured } from './evaluator';
import { metricOf, type MetricKind, type Score } from './score';
import type { ProbeId, SensitivityEntry } from './sensitivity';
import type { SizeModel } from './size';

export interface SearchOption {
  /** e.g. "int4", "int8+p50" */
  id: string;
  weights: WeightMode;
  prune: number;
}

const WEIGHTS: readonly WeightMode[] = ['fp32', 'fp16', 'int8', 'int4'];
const PRUNES = [0, 0.25, 0.5, 0.75] as const;

export function searchOptions(allowPrune: boolean): SearchOption[] {
  const out: SearchOption[] = [];
  for (const w of WEIGHTS) {
    for (const p of allowPrune ? PRUNES : [0]) out.push({ id: p === 0 ? w : `${w}+p${Math.round(p * 100)}`, weights: w, prune: p });
  }
  return out;
}

function optionSettings(o: SearchOption): PartialLayerSettings {
  return o.prune > 0 ? { weights: o.weights, prune: o.prune, pruneMethod: 'magnitude' } : { weights: o.weights };
}

/** layer key -> option id */
export type Assignment = Record<string, string>;

/** The recipe of an assignment: the most common option as the defaults, the others as layer overrides. */
export function assignmentRecipe(target: Target, assignment: Assignment, options: readonly SearchOption[]): Recipe {
  const byId = new Map(options.map((o) => [o.id, o]));
  const counts = new Map<string, number>();
  for (const id of Object.values(assignment)) counts.set(id, (counts.get(id) ?? 0) + 1);
  let common = 'fp32';
  let most = -1;
  for (const o of options) {
    const c = counts.get(o.id) ?? 0;
    if (c > most) {
      most = c;
      common = o.id;
    }
  }
  const def = byId.get(common) as SearchOption;
  const defaults: PartialLayerSettings = def.id === 'fp32' ? {} : optionSettings(def);
  const layers: Record<string, PartialLayerSettings> = {};
  for (const [key, id] of Object.entries(assignment)) {
    if (id === common) continue;
    const o = byId.get(id) as SearchOption;
    const s: PartialLayerSettings = { weights: o.weights };
    if (o.prune > 0) Object.assign(s, { prune: o.prune, pruneMethod: 'magnitude' });
    else if (def.prune > 0) s.prune = 0;
    layers[key] = s;
  }
  return makeRecipe(target, defaults, layers);
}

export type CostMode = 'blend' | 'metric' | 'cosine';

/** Estimated cost of each (layer, option) from the sensitivity entries. */
export class CostTable {
  private readonly probes = new Map<string, Map<ProbeId, SensitivityEntry>>();

  constructor(entries: readonly SensitivityEntry[]) {
    for (const e of entries) {
      let m = this.probes.get(e.key);
      if (!m) this.probes.set(e.key, (m = new Map()));
      m.set(e.probe, e);
    }
  }

  has(key: string): boolean {
    return this.probes.has(key);
  }

  private d(key: string, probe: ProbeId, mode: CostMode): number {
    const e = this.probes.get(key)?.get(probe);
    if (!e) return Infinity;
    if (e.refused) return Infinity;
    const drop = Math.max(0, Number.isFinite(e.drop) ? e.drop : Infinity);
    const cos = Number.isFinite(e.cosineDrop) ? Math.max(0, e.cosineDrop) : Infinity;
    if (mode === 'metric') return drop + 1e-3 * cos;
    if (mode === 'cosine') return cos;
    return drop + cos;
  }

  cost(key: string, o: SearchOption, mode: CostMode): number {
    let w = 0;
    if (o.weights === 'fp16') w = 1e-9;
    else if (o.weights === 'int8') w = this.d(key, 'int8', mode);
    else if (o.weights === 'int4') w = Math.max(this.d(key, 'int4', mode), this.d(key, 'int8', mode));
    let p = 0;
    if (o.prune >= 0.75) p = Math.max(this.d(key, 'prune75', mode), this.d(key, 'prune50', mode), this.d(key, 'prune25', mode));
    else if (o.prune >= 0.5) p = Math.max(this.d(key, 'prune50', mode), this.d(key, 'prune25', mode));
    else if (o.prune > 0) p = this.d(key, 'prune25', mode);
    return w + p;
  }
}

export interface PathStep {
  assignment: Assignment;
  /** projected size (sum of the layers' projections + everything else) */
  size: number;
  /** estimated cost (sum over layers) */
  cost: number;
}

interface GreedyInput {
  layers: readonly ExploreLayer[];
  options: readonly SearchOption[];
  sizes: SizeModel;
  costs: CostTable;
  mode: CostMode;
}

/**
 * The greedy path from `start`: each step moves one layer (not in `pinned`) to a smaller option,
 * the one with the least cost increase per byte saved (larger savings first on ties). Stops when
 * the size fits `budget` (exact projection) or no move is left.
 */
export function greedyPath(g: GreedyInput, start: Assignment, options: { budget?: number; pinned?: ReadonlySet<string> } = {}): PathStep[] {
  const { layers, sizes, costs, mode } = g;
  const opts = g.options;
  const optIndex = new Map(opts.map((o, i) => [o.id, i]));
  const keys = layers.map((l) => l.key).filter((k) => costs.has(k));
  const size = (k: string, i: number) => sizes.layerBytes(k, optionSettings(opts[i]));
  const cost = (k: string, i: number) => costs.cost(k, opts[i], mode);
  const cur = new Map<string, number>();
  for (const l of layers) cur.set(l.key, optIndex.get(start[l.key] ?? 'fp32') ?? 0);
  const layerSum = () => {
    let s = 0;
    for (const l of layers) s += size(l.key, cur.get(l.key) as number);
    return s;
  };
  // what the layers do not cover (biases of other nodes, non-layer tensors) stays as it is
  const fp32All: Assignment = Object.fromEntries(layers.map((l) => [l.key, 'fp32']));
  const allFp32Layers = layers.reduce((s, l) => s + size(l.key, optIndex.get('fp32') as number), 0);
  const outside = sizes.total(assignmentRecipe(sizes.target, fp32All, opts)) - allFp32Layers;
  let total = outside + layerSum();
  let totalCost = keys.reduce((s, k) => s + cost(k, cur.get(k) as number), 0);
  const snapshot = (): Assignment => Object.fromEntries([...cur].map(([k, i]) => [k, opts[i].id]));
  const path: PathStep[] = [{ assignment: snapshot(), size: total, cost: totalCost }];
  const fits = () => options.budget !== undefined && total <= options.budget && sizes.total(assignmentRecipe(sizes.target, snapshot(), opts)) <= options.budget;
  if (fits()) return path;
  for (;;) {
    let best: { k: string; i: number; ratio: number; ds: number; dc: number } | undefined;
    for (const k of keys) {
      if (options.pinned?.has(k)) continue;
      const ci = cur.get(k) as number;
      const cs = size(k, ci);
      const cc = cost(k, ci);
      for (let i = 0; i < opts.length; i++) {
        const ds = cs - size(k, i);
        if (!(ds > 0)) continue;
        const c = cost(k, i);
        if (!Number.isFinite(c)) continue;
        const dc = c - cc;
        const ratio = Math.max(0, dc) / ds;
        if (!best || ratio < best.ratio || (ratio === best.ratio && ds > best.ds)) best = { k, i, ratio, ds, dc };
      }
    }
    if (!best) break;
    cur.set(best.k, best.i);
    total -= best.ds;
    totalCost += best.dc;
    path.push({ assignment: snapshot(), size: total, cost: totalCost });
    if (fits()) break;
  }
  return path;
}

/**
 * With recovery on for a whole search (Explore's switch, `cli autotune --recovery gptq`): every
 * recipe measured and every point made asks for recovery "gptq" in its defaults, unless it says
 * otherwise (the no-recovery comparison points say "none").
 */
export function withRecovery(recipe: Recipe): Recipe {
  return recipe.defaults.recovery === undefined ? { ...recipe, defaults: { ...recipe.defaults, recovery: 'gptq' } } : recipe;
}

/** 'uniform-rtn': a uniform setting without recovery, measured beside the recovered one when the search runs with recovery */
export type PointKind = 'original' | 'uniform' | 'uniform-rtn' | 'search';

export interface ExplorePoint {
  id: number;
  kind: PointKind;
  /** what it is, e.g. "uniform int4" or "mixed, budget 41.2 kB" */
  label: string;
  recipe: Recipe;
  /** per-layer option ids (search points) */
  assignment?: Assignment;
  /** projected download size in bytes (the top bar's projection of the recipe) */
  size: number;
  /** the compressed file's bytes */
  fileBytes: number;
  /** median latency of one run on the explorer's runtime (wasm, one thread in the page), ms */
  latencyMs: number;
  /** the latency search's side-by-side timing of its finalists: this point's median, the original's, how many */
  sideBySide?: { ms: number; originalMs: number; finalists: number };
  score: Score;
  /** the chosen metric's value */
  metric: number;
  /** the size budget it was searched for */
  budget?: number;
}

export interface ExplorerSetup {
  layers: readonly ExploreLayer[];
  sizes: SizeModel;
  entries: readonly SensitivityEntry[];
  metric: MetricKind;
  baseline: Score;
  originalFileBytes: number;
  /** the original's latency, measured as a candidate's */
  originalLatencyMs: number;
  allowPrune: boolean;
  measure: (recipe: Recipe, signal?: AbortSignal) => Promise<Measured>;
  /** applied to every recipe the explorer makes (recovery on for the whole search) */
  decorate?: (recipe: Recipe) => Recipe;
  /** median ms per recipe, timed side by side (alternating runs in one runtime): the latency search's finalists */
  timeSideBySide?: (recipes: Recipe[], signal?: AbortSignal) => Promise<number[]>;
  signal?: AbortSignal;
  /** each newly measured point */
  onPoint?: (p: ExplorePoint) => void;
  /** refinement rounds per budget (default 4) */
  refineRounds?: number;
}

export const UNIFORM: readonly { label: string; settings: PartialLayerSettings }[] = [
  { label: 'uniform fp16', settings: { weights: 'fp16' } },
  { label: 'uniform int8', settings: { weights: 'int8' } },
  { label: 'uniform int4', settings: { weights: 'int4' } },
  { label: 'prune 25%', settings: { prune: 0.25, pruneMethod: 'magnitude' } },
  { label: 'prune 50%', settings: { prune: 0.5, pruneMethod: 'magnitude' } },
  { label: 'prune 75%', settings: { prune: 0.75, pruneMethod: 'magnitude' } },
];

/** Better in the metric; on equal metric, higher cosine; then smaller. */
export function better(a: ExplorePoint, b: ExplorePoint): boolean {
  const ma = Number.isNaN(a.metric) ? -Infinity : a.metric;
  const mb = Number.isNaN(b.metric) ? -Infinity : b.metric;
  if (ma !== mb) return ma > mb;
  if (a.score.cosine !== b.score.cosine) return a.score.cosine > b.score.cosine;
  return a.size < b.size;
}

/**
 * The points no other point beats in both cost (smaller or equal; the size, or what `cost` reads,
 * such as latency) and metric (higher or equal), by cost.
 */
export function paretoFront<T extends { size: number; metric: number }>(points: readonly T[], cost: (p: T) => number = (p) => p.size): T[] {
  const sorted = [...points]
    .filter((p) => !Number.isNaN(p.metric) && Number.isFinite(cost(p)))
    .sort((a, b) => cost(a) - cost(b) || b.metric - a.metric);
  const out: T[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.metric > best) {
      out.push(p);
      best = p.metric;
    }
  }
  return out;
}

/** Whether `front` has, for every point of `others`, a point at most as large and at least as good. */
export function dominatesOrEquals(front: readonly { size: number; metric: number }[], others: readonly { size: number; metric: number }[]): boolean {
  return others.every((u) => front.some((f) => f.size <= u.size && f.metric >= u.metric));
}

/** Measures configurations (each recipe once) and searches. */
export class Explorer {
  readonly points: ExplorePoint[] = [];
  readonly options: SearchOption[];
  private readonly costs: CostTable;
  private readonly byRecipe = new Map<string, Promise<ExplorePoint>>();
  private nextId = 1;
  readonly original: ExplorePoint;

  constructor(private readonly setup: ExplorerSetup) {
    this.setup = { ...setup };
    this.options = searchOptions(setup.allowPrune);
    this.costs = new CostTable(setup.entries);
    const recipe = makeRecipe(setup.sizes.target, {});
    this.original = {
      id: 0,
      kind: 'original',
      label: 'original',
      recipe,
      size: setup.sizes.total(recipe),
      fileBytes: setup.originalFileBytes,
      latencyMs: setup.originalLatencyMs,
      score: setup.baseline,
      metric: metricOf(setup.baseline, setup.metric),
    };
    this.points.push(this.original);
    this.byRecipe.set(serializeRecipe(recipe), Promise.resolve(this.original));
  }

  /** A new cancel signal and point callback for the next run on this explorer (its measured points are kept). */
  setRun(signal: AbortSignal | undefined, onPoint: ((p: ExplorePoint) => void) | undefined): void {
    this.setup.signal = signal;
    this.setup.onPoint = onPoint;
  }

  private get target(): Target {
    return this.setup.sizes.target;
  }

  /** Measures a recipe (once: the same recipe again gives the same point). */
  point(plain: Recipe, kind: PointKind, label: string, extra: { assignment?: Assignment; budget?: number } = {}): Promise<ExplorePoint> {
    const recipe = this.setup.decorate ? this.setup.decorate(plain) : plain;
    const text = serializeRecipe(recipe);
    const hit = this.byRecipe.get(text);
    if (hit) return hit;
    const p = (async () => {
      throwIfAborted(this.setup.signal);
      const m = await this.setup.measure(recipe, this.setup.signal);
      const point: ExplorePoint = {
        id: this.nextId++,
        kind,
        label,
        recipe,
        ...extra,
        size: this.setup.sizes.total(recipe),
        fileBytes: m.fileBytes,
        latencyMs: m.latencyMs,
        score: m.score,
        metric: metricOf(m.score, this.setup.metric),
      };
      this.points.push(point);
      this.setup.onPoint?.(point);
      return point;
    })();
    this.byRecipe.set(text, p);
    p.catch(() => this.byRecipe.delete(text));
    return p;
  }

  /** The uniform configurations (every layer the same). */
  uniform(): Promise<ExplorePoint[]> {
    const list = this.setup.allowPrune ? UNIFORM : UNIFORM.filter((u) => u.settings.prune === undefined);
    // with recovery: the same settings without it too (what recovery buys, on the chart); fp16 has nothing to recover
    if (this.setup.decorate) {
      for (const u of list.filter((x) => x.settings.weights !== 'fp16')) {
        void this.point(makeRecipe(this.target, { ...u.settings, recovery: 'none' }), 'uniform-rtn', `${u.label}, no recovery`).catch(() => undefined);
      }
    }
    return Promise.all(list.map((u) => this.point(makeRecipe(this.target, u.settings), 'uniform', u.label)));
  }

  private uniformAssignment(id: string): Assignment {
    return Object.fromEntries(this.setup.layers.map((l) => [l.key, id]));
  }

  private greedy(mode: CostMode, start: Assignment, budget?: number, pinned?: ReadonlySet<string>): PathStep[] {
    return greedyPath({ layers: this.setup.layers, options: this.options, sizes: this.setup.sizes, costs: this.costs, mode }, start, { budget, pinned });
  }

  private measureAssignment(a: Assignment, label: string, budget?: number): Promise<ExplorePoint> {
    return this.point(assignmentRecipe(this.target, a, this.options), 'search', label, { assignment: a, budget });
  }

  /**
   * The best measured configuration within `budget` projected bytes (undefined when nothing fits).
   */
  async searchBudget(budget: number): Promise<ExplorePoint | undefined> {
    const label = `mixed ≤ ${Math.round(budget).toLocaleString('en-US')} B`;
    const fp32 = this.uniformAssignment('fp32');
    const starts: Assignment[] = [];
    for (const mode of ['blend', 'metric', 'cosine'] as const) {
      const path = this.greedy(mode, fp32, budget);
      const last = path[path.length - 1];
      if (this.setup.sizes.total(assignmentRecipe(this.target, last.assignment, this.options)) <= budget) starts.push(last.assignment);
    }
    // uniform settings that fit are starting points too
    for (const id of ['fp16', 'int8', 'int4']) {
      const a = this.uniformAssignment(id);
      if (this.setup.sizes.total(assignmentRecipe(this.target, a, this.options)) <= budget) starts.push(a);
    }
    if (starts.length === 0) return undefined;
    // (a start equal to a uniform setting is the uniform point, already measured: its assignment is kept here)
    const measured = await Promise.all(starts.map(async (a) => ({ a, p: await this.measureAssignment(a, label, budget) })));
    const first = measured.reduce((b, x) => (better(x.p, b.p) ? x : b));
    let best = first.p;
    let bestA = first.a;
    const rounds = this.setup.refineRounds ?? 4;
    const tried = new Set<string>();
    for (let r = 0; r < rounds; r++) {
      throwIfAborted(this.setup.signal);
      // the layers the best configuration hurts most (estimated), raised to their next better option
      const ranked = this.setup.layers
        .map((l) => ({ key: l.key, opt: this.options.find((o) => o.id === bestA[l.key]) as SearchOption }))
        .filter((x) => x.opt && x.opt.id !== 'fp32' && x.opt.id !== 'fp16')
        .map((x) => ({ ...x, cost: this.costs.cost(x.key, x.opt, 'blend') }))
        .sort((a, b) => b.cost - a.cost);
      let improved = false;
      for (const cand of ranked.slice(0, 2)) {
        const up = this.raise(cand.key, cand.opt);
        if (!up) continue;
        const start = { ...bestA, [cand.key]: up.id };
        const sig = JSON.stringify(start);
        if (tried.has(sig)) continue;
        tried.add(sig);
        const path = this.greedy('blend', start, budget, new Set([cand.key]));
        const a = path[path.length - 1].assignment;
        if (this.setup.sizes.total(assignmentRecipe(this.target, a, this.options)) > budget) continue;
        const p = await this.measureAssignment(a, label, budget);
        if (better(p, best)) {
          best = p;
          bestA = a;
          improved = true;
          break;
        }
      }
      if (!improved) break;
    }
    return best;
  }

  /**
   * The best measured configuration whose compressed file is at most `maxFileBytes`: the
   * projection counts tensor bytes only (not the graph, nor the decode nodes a layer gains), so
   * the projected budget starts at the file budget less the original's non-tensor bytes and is
   * lowered by what the measured file overshoots, at most `tries` times. Undefined when nothing fits.
   */
  async searchFileBudget(maxFileBytes: number, tries = 5): Promise<ExplorePoint | undefined> {
    let budget = maxFileBytes - Math.max(0, this.original.fileBytes - this.original.size);
    for (let k = 0; k < tries && budget > 0; k++) {
      const p = await this.searchBudget(budget);
      if (!p) return undefined;
      if (p.fileBytes <= maxFileBytes) return p;
      budget -= p.fileBytes - maxFileBytes;
    }
    return undefined;
  }

  /** The cheapest option (in estimated cost) that is better than `o` for the layer: the next step up. */
  private raise(key: string, o: SearchOption): SearchOption | undefined {
    const c = this.costs.cost(key, o, 'blend');
    const size = (x: SearchOption) => this.setup.sizes.layerBytes(key, optionSettings(x));
    const better = this.options.filter((x) => this.costs.cost(key, x, 'blend') < c && size(x) > size(o));
    better.sort((a, b) => size(a) - size(b));
    return better[0];
  }

  /**
   * The fastest measured configuration (median latency on the explorer's runtime: wasm, one
   * thread in the page) whose metric is at least `floor`, among int8 weights with int8
   * activations (target wasm; the compressor's cost guard keeps them only where its time model
   * says they pay), with int8 activations left off the k most sensitive layers (by the
   * sensitivity scan's int8 probe, k = 1, 2, 4, …), and int8 weights alone. Latency is measured
   * with each candidate while other candidates run in parallel workers: compare the points with
   * each other. The original when nothing meets the floor faster.
   */
  async searchLatency(floor: number): Promise<ExplorePoint> {
    if (this.target !== 'wasm') throw new AppError('invalid-argument', 'the fastest-configuration search is for target wasm (int8 activations): choose the wasm target');
    if (!(this.original.metric >= floor)) {
      throw new AppError('invalid-argument', `the original model itself scores ${this.original.metric.toFixed(4)}, below the floor ${floor}`);
    }
    const drop = new Map<string, number>();
    for (const e of this.setup.entries) if (e.probe === 'int8') drop.set(e.key, e.cosineDrop + Math.max(0, e.drop));
    const order = [...this.setup.layers].sort((a, b) => (drop.get(b.key) ?? 0) - (drop.get(a.key) ?? 0)).map((l) => l.key);
    const tries: Promise<ExplorePoint>[] = [
      this.point(makeRecipe(this.target, { weights: 'int8' }), 'search', 'int8 weights'),
      this.point(makeRecipe(this.target, { weights: 'int8', activations: 'int8' }), 'search', 'int8 weights + activations'),
    ];
    for (let k = 1; k < order.length; k *= 2) {
      const off = Object.fromEntries(order.slice(0, k).map((key) => [key, { activations: 'fp32' as const }]));
      tries.push(this.point(makeRecipe(this.target, { weights: 'int8', activations: 'int8' }, off), 'search', `int8 + activations, not on the ${k} most sensitive layer${k === 1 ? '' : 's'}`));
    }
    const measured = await Promise.all(tries);
    // the finalists (meeting the floor, and the original, last) timed again side by side: the
    // parallel per-candidate timings are noisy
    const finalists = [...measured.filter((p, i) => p.metric >= floor && measured.findIndex((q) => q.id === p.id) === i), this.original];
    if (this.setup.timeSideBySide) {
      const ms = await this.setup.timeSideBySide(
        finalists.map((p) => p.recipe),
        this.setup.signal,
      );
      let at = 0;
      ms.forEach((v, i) => {
        if (v < ms[at]) at = i;
      });
      const best = finalists[at];
      best.sideBySide = { ms: ms[at], originalMs: ms[ms.length - 1], finalists: finalists.length };
      return best;
    }
    let best: ExplorePoint = this.original;
    for (const p of finalists) if (p.latencyMs < best.latencyMs) best = p;
    return best;
  }

  /** The smallest measured configuration whose metric is at least `floor`. */
  async searchFloor(floor: number): Promise<ExplorePoint> {
    if (!(this.original.metric >= floor)) {
      throw new AppError('invalid-argument', `the original model itself scores ${this.original.metric.toFixed(4)}, below the floor ${floor}`);
    }
    const path = this.greedy('blend', this.uniformAssignment('fp32'));
    let lo = 0;
    let hi = path.length - 1;
    let best: ExplorePoint = this.original;
    const label = `mixed ≥ ${floor}`;
    // bisection for the last step that keeps the floor (the metric falls, roughly, along the path)
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = await this.measureAssignment(path[mid].assignment, label);
      if (p.metric >= floor) {
        if (p.size < best.size || (p.size === best.size && better(p, best))) best = p;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (const u of await this.uniform()) if (u.metric >= floor && u.size < best.size) best = u;
    return best;
  }

  /**
   * Uniform points, then budget searches at the uniform fp16, int8 and int4 sizes, between them,
   * and below int4 when pruning is allowed. Returns the configuration chosen for each budget (a
   * uniform one where nothing mixed measured better).
   */
  async sweep(onBudget?: (budget: number) => void): Promise<ExplorePoint[]> {
    const uni = await this.uniform();
    const size = (label: string) => uni.find((u) => u.label === label)?.size;
    const s8 = size('uniform int8') ?? this.original.size / 4;
    const s4 = size('uniform int4') ?? this.original.size / 8;
    const s16 = size('uniform fp16') ?? this.original.size / 2;
    const budgets = [s16, (s16 + s8) / 2, s8, (s8 + s4) / 2, s4];
    if (this.setup.allowPrune) budgets.push(s4 * 0.8, s4 * 0.6);
    const found = await Promise.all(
      budgets.map(async (b) => {
        onBudget?.(b);
        return this.searchBudget(b);
      }),
    );
    return found.filter((p): p is ExplorePoint => p !== undefined);
  }
}
