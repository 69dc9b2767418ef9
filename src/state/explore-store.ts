/**
 * The trade-off explorer: per-layer sensitivity, the mixed-precision search and the accuracy /
 * size sweep for the open model, run on a pool of explore workers (src/workers/explore-client.ts).
 *
 * - Results stream in: sensitivity entries and chart points are added as each is measured.
 * - One run at a time; cancel ends it (the workers are terminated) and keeps what was measured.
 * - A new model, target or labeled set starts over; sensitivity is cached per model and settings.
 * - Clicking a point replaces the recipe (one undo step in the recipe store).
 */
import { create, type StateCreator } from 'zustand';
import { errorMessage, isAppError } from '../core/errors';
import { layerSensitivity } from '../bench/explore/sensitivity';
import {
  ExploreClient,
  makeExplorer,
  sensitivityScan,
  type ExplorePoint,
  type ExploreSession,
  type MetricKind,
  type SensitivityEntry,
} from '../workers/explore-client';
import type { Recipe, Score } from '../workers/explore-api';
import { connectData, requireFeed, useDataStore } from './data-store';
import type { OpenedModel } from '../workers/model-api';
import { serializeRecipe } from '../compress/recipe';
import type { SizeBasis } from '../bench/explore/size';
import { modelFiles, modelHandle, useModelStore } from './model-store';
import { useRecipeStore } from './recipe-store';

export type { ExplorePoint, MetricKind, SensitivityEntry };
// algorithm code shared with the page (lint's SHARED_WITH_PAGE): labels, probes and the Pareto front

export type ExplorePhase = 'idle' | 'preparing' | 'sensitivity' | 'sweep' | 'search' | 'done' | 'cancelled' | 'error';

/** 'latency': the fastest configuration (int8 activations, target wasm) whose metric is at least `value` */
export type SearchGoal = { kind: 'size'; ratio: number } | { kind: 'floor'; value: number } | { kind: 'latency'; value: number };

export interface ExploreState {
  model: OpenedModel | undefined;
  phase: ExplorePhase;
  /** what is being done, with counts where known */
  progress: { done: number; total: number; label: string } | undefined;
  error: string | undefined;
  /** what the results were measured on: the data line, random or not, the data version */
  data: { line: string; random: boolean; version: number } | undefined;
  allowPrune: boolean;
  /** recovery "gptq" in every candidate (H on the Data tab's calibration part) */
  recovery: boolean;
  /** what a size means: the stored file (as the file name and cli autotune --max-size) or the projected download (zip estimate) */
  sizeBasis: SizeBasis;
  /** the metric of the current results */
  metric: MetricKind | undefined;
  baseline: Score | undefined;
  /** what the candidates are fed */
  inputs: string | undefined;
  labeledName: string | undefined;
  workers: number;
  entries: SensitivityEntry[];
  sensitivityMs: number | undefined;
  sensitivityCached: boolean;
  points: ExplorePoint[];
  /**
   * The points of the last results with recovery the other way (kept when recovery is toggled, on
   * the same model, data and size basis): the chart draws their front beside the current one.
   */
  otherFront: { recovery: boolean; metric: MetricKind | undefined; points: ExplorePoint[] } | undefined;
  /** serialized recipe per point id (for highlighting the current recipe) */
  pointText: Record<number, string>;
  searchMs: number | undefined;
  /** the point the last search chose */
  found: number | undefined;
  /** heat overlay on the graph */
  heatOn: boolean;
  /** per layer, 0 (robust) to 1 (most sensitive) */
  heat: Record<string, number>;

  /** Recovery on or off for every candidate (results start over). */
  setRecovery(on: boolean): void;
  runSensitivity(): Promise<void>;
  runSweep(): Promise<void>;
  search(goal: SearchGoal): Promise<void>;
  cancel(): void;
  applyPoint(id: number): void;
  setHeatOn(on: boolean): void;
  setAllowPrune(on: boolean): void;
  setSizeBasis(b: SizeBasis): void;
}

let client: ExploreClient | undefined;
let session: ExploreSession | undefined;
let clientKey = '';
let controller: AbortController | undefined;
/** one explorer per session and settings: its measured points are reused by later searches */
let explorer: { ex: ReturnType<typeof makeExplorer>; key: string } | undefined;

function dropClient(): void {
  client?.dispose();
  client = undefined;
  session = undefined;
  clientKey = '';
  explorer = undefined;
}

/** The text a recipe is compared by (defaults and layers; the target and clean-up are the user's). */
function pointKey(r: Recipe): string {
  return serializeRecipe({ ...r, target: 'portable', cleanup: undefined });
}

function heatOf(entries: readonly SensitivityEntry[]): Record<string, number> {
  const raw = layerSensitivity(entries);
  const max = Math.max(0, ...raw.values());
  const out: Record<string, number> = {};
  for (const [k, v] of raw) out[k] = max > 0 ? Math.min(1, v / max) : 0;
  return out;
}

const cleared = {
  phase: 'idle' as ExplorePhase,
  progress: undefined,
  error: undefined,
  metric: undefined,
  baseline: undefined,
  inputs: undefined,
  labeledName: undefined,
  data: undefined,
  entries: [],
  sensitivityMs: undefined,
  sensitivityCached: false,
  points: [],
  otherFront: undefined,
  pointText: {},
  searchMs: undefined,
  found: undefined,
  heat: {},
};

type SetState = Parameters<StateCreator<ExploreState>>[0];
type GetState = Parameters<StateCreator<ExploreState>>[1];

/** The store's run steps: the worker pool, one run's controller, sensitivity, the explorer. */
function exploreRunner(set: SetState, get: GetState) {
  /** Starts (or reuses) the worker pool for the current model and settings. */
  async function ensureSession(signal: AbortSignal): Promise<{ c: ExploreClient; s: ExploreSession }> {
    const st = get();
    const model = st.model;
    if (!model) throw new Error('Open a model first.');
    const files = modelFiles(model);
    const handle = modelHandle(model);
    if (!files || !handle) throw new Error('The model\u2019s files are no longer available; open it again.');
    const target = useRecipeStore.getState().recipe.target;
    const feed = requireFeed();
    const recovery = st.recovery && feed.calibration ? true : undefined;
    const activations = target === 'wasm' && feed.calibration ? true : undefined;
    // the samples by name: each explore worker asks the data worker for them (the page never clones them)
    const samples = feed.evaluation && feed.key !== undefined ? { key: feed.key, use: 'evaluation' as const, ...(recovery || activations ? { calibration: true } : {}) } : undefined;
    if (st.recovery && !recovery) throw new Error('Recovery needs calibration samples: give data in the Data tab (random inputs have none).');
    const key = `${model.fileName}:${model.parseMs}:${target}:${feed.version}:${st.sizeBasis}:${st.recovery}`;
    if (client && session && key === clientKey) return { c: client, s: session };
    dropClient();
    set({ data: { line: feed.line, random: feed.random, version: feed.version } });
    set({ phase: 'preparing', progress: { done: 0, total: 0, label: 'Starting workers and measuring the original' } });
    const started = await ExploreClient.start(
      { files: [...files], snapshot: await handle.snapshot(), target, ...(samples ? { samples } : {}), dimValues: feed.dims, ...(recovery ? { recovery } : {}), ...(activations ? { activations } : {}) },
      undefined,
      st.sizeBasis,
      connectData,
    );
    if (signal.aborted || get().model !== model) {
      started.client.dispose();
      throw new Error('Cancelled.');
    }
    client = started.client;
    session = started.session;
    clientKey = key;
    set({
      metric: session.metric,
      baseline: session.ready.baseline,
      inputs: session.ready.inputs,
      labeledName: session.ready.labeled,
      workers: session.workers,
    });
    return { c: client, s: session };
  }

  function begin(): AbortController {
    controller?.abort();
    const c = new AbortController();
    controller = c;
    // results measured on other data than the Data tab's now: start over
    const d = get().data;
    if (d && d.version !== useDataStore.getState().version) {
      dropClient();
      set({ ...cleared });
    }
    set({ error: undefined });
    return c;
  }

  function fail(e: unknown, c: AbortController): void {
    if (controller !== c) return;
    const cancelled = c.signal.aborted || (isAppError(e) && e.code === 'aborted');
    set({ phase: cancelled ? 'cancelled' : 'error', progress: undefined, error: cancelled ? undefined : errorMessage(e) });
    if (cancelled) dropClient();
  }

  async function sensitivity(c: AbortController): Promise<SensitivityEntry[]> {
    if (get().entries.length > 0 && get().phase !== 'cancelled') return get().entries;
    const { c: cl, s } = await ensureSession(c.signal);
    const target = useRecipeStore.getState().recipe.target;
    set({ phase: 'sensitivity', entries: [], heat: {}, progress: { done: 0, total: s.ready.layers.length * 5, label: 'Sensitivity' } });
    const t0 = performance.now();
    const got: SensitivityEntry[] = [];
    const { entries, cached } = await sensitivityScan(cl, s, target, c.signal, (e, done, total) => {
      if (controller !== c) return;
      got.push(e);
      set({ entries: [...got], heat: heatOf(got), progress: { done, total, label: `Sensitivity: ${e.key} ${e.probe}` } });
    });
    set({ entries, heat: heatOf(entries), sensitivityCached: cached, sensitivityMs: cached ? get().sensitivityMs : performance.now() - t0 });
    return entries;
  }

  function addPoint(p: ExplorePoint, c: AbortController): void {
    if (controller !== c) return;
    const st = get();
    set({ points: [...st.points.filter((x) => x.id !== p.id || x.kind !== p.kind), p], pointText: { ...st.pointText, [p.id]: pointKey(p.recipe) } });
  }

  async function explorerRun(c: AbortController, entries: SensitivityEntry[]) {
    const { c: cl, s } = await ensureSession(c.signal);
    const key = `${clientKey}:${get().allowPrune}`;
    const onPoint = (p: ExplorePoint) => {
      addPoint(p, c);
      const pr = get().progress;
      if (pr) set({ progress: { ...pr, done: pr.done + 1 } });
    };
    if (!explorer || explorer.key !== key) {
      explorer = { ex: makeExplorer(cl, s, entries, get().allowPrune, c.signal, onPoint), key };
      set({ points: [], pointText: {} });
    }
    explorer.ex.setRun(c.signal, onPoint);
    addPoint(explorer.ex.original, c);
    return explorer.ex;
  }

  return { begin, fail, sensitivity, explorerRun };
}

export const useExploreStore = create<ExploreState>()((set, get) => {
  const { begin, fail, sensitivity, explorerRun } = exploreRunner(set, get);
  return {
    model: undefined,
    ...cleared,
    allowPrune: true,
    recovery: false,
    sizeBasis: 'stored',
    workers: 0,
    heatOn: false,

    async runSensitivity() {
      const c = begin();
      try {
        await sensitivity(c);
        if (controller === c) set({ phase: 'done', progress: undefined });
      } catch (e) {
        fail(e, c);
      }
    },

    async runSweep() {
      const c = begin();
      try {
        const entries = await sensitivity(c);
        const ex = await explorerRun(c, entries);
        set({ phase: 'sweep', progress: { done: 0, total: 0, label: 'Sweep: uniform settings and searches per size budget' } });
        const t0 = performance.now();
        await ex.sweep();
        if (controller === c) set({ phase: 'done', progress: undefined, searchMs: performance.now() - t0 });
      } catch (e) {
        fail(e, c);
      }
    },

    async search(goal) {
      const c = begin();
      try {
        const entries = await sensitivity(c);
        const ex = await explorerRun(c, entries);
        set({
          phase: 'search',
          progress: { done: 0, total: 0, label: goal.kind === 'size' ? `Search: size ≤ ${(goal.ratio * 100).toFixed(0)}% of the original` : goal.kind === 'latency' ? `Search: fastest with metric ≥ ${goal.value}` : `Search: metric ≥ ${goal.value}` },
        });
        const t0 = performance.now();
        let found: ExplorePoint | undefined;
        if (goal.kind === 'size') {
          await ex.uniform();
          const stored = get().sizeBasis === 'stored';
          found = stored ? await ex.searchFileBudget(goal.ratio * ex.original.fileBytes) : await ex.searchBudget(goal.ratio * ex.original.size);
          if (!found) throw new Error(`No configuration fits ${(goal.ratio * 100).toFixed(1)}% of the original ${stored ? 'file' : 'download (zip estimate)'}.`);
        } else if (goal.kind === 'latency') {
          found = await ex.searchLatency(goal.value);
        } else {
          found = await ex.searchFloor(goal.value);
        }
        if (controller !== c) return;
        set({ phase: 'done', progress: undefined, searchMs: performance.now() - t0, found: found.id });
        get().applyPoint(found.id);
      } catch (e) {
        fail(e, c);
      }
    },

    cancel() {
      controller?.abort();
      const c = controller;
      if (c) fail(new Error('Cancelled.'), c);
    },

    applyPoint(id) {
      const p = get().points.find((x) => x.id === id);
      if (!p) return;
      const current = useRecipeStore.getState().recipe;
      // keep the user's target and clean-up choices; the point decides defaults and layers
      useRecipeStore.getState().replace({ ...current, defaults: p.recipe.defaults, layers: p.recipe.layers });
    },

    setHeatOn(on) {
      set({ heatOn: on });
    },

    setAllowPrune(on) {
      set({ allowPrune: on });
    },

    setRecovery(on) {
      const st = get();
      if (on === st.recovery) return;
      // other candidates: measured again (the sensitivity cache keys on it); the results so far
      // stay as the other front (or the older one, if it is the other way from the new setting)
      const measured = st.points.filter((p) => p.kind !== 'original');
      const otherFront = measured.length > 0 ? { recovery: st.recovery, metric: st.metric, points: measured } : st.otherFront?.recovery !== on ? st.otherFront : undefined;
      controller?.abort();
      dropClient();
      set({ ...cleared, recovery: on, otherFront });
    },

    setSizeBasis(b) {
      if (b === get().sizeBasis) return;
      controller?.abort();
      dropClient();
      set({ ...cleared, sizeBasis: b });
    },
  };
});

/** The id of the point whose recipe is the current one (undefined when none is). */
export function useCurrentPointId(): number | undefined {
  const recipe = useRecipeStore((s) => s.recipe);
  const pointText = useExploreStore((s) => s.pointText);
  const text = pointKey(recipe);
  for (const [id, t] of Object.entries(pointText)) if (t === text) return Number(id);
  return undefined;
}

// A new model starts over (its sample labels when it is the sample).
useModelStore.subscribe((state, prev) => {
  if (state.model === prev.model) return;
  controller?.abort();
  dropClient();
  useExploreStore.setState({ ...cleared, model: state.model });
});

// New data: the results were measured on other inputs. Kept and marked stale until the next run,
// which starts over on the new data (the workers are started with the data).
useDataStore.subscribe((state, prev) => {
  if (state.version === prev.version) return;
  const e = useExploreStore.getState();
  if (e.phase === 'preparing' || e.phase === 'sensitivity' || e.phase === 'sweep' || e.phase === 'search') return;
  if (e.data && e.data.version !== state.version) {
    dropClient();
  }
});
