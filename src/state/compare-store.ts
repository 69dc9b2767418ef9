/**
 * The compare view's state: the comparison of the open model with the last compression result
 * (the diff, a laid-out scene per side, which groups are open on each side) and the selected
 * layer's weight comparison. Parsing, diffing, layout and histograms run in the model worker
 * (src/workers/compare-service.ts); this store sends requests and keeps the latest answers.
 *
 * The selected layer is the studio's selection (selection-store), so a row, a node on either
 * side or the graph tab all select the same layer.
 */
import { create } from 'zustand';
import { errorMessage } from '../core/errors';
import type { CompareInfo, CompareSide, GraphScene, WeightComparison } from '../workers/model-api';
import type { ModelHandle } from '../workers/model-client';
import { useCompressStore } from './compress-store';
import { modelHandle, useModelStore } from './model-store';

export interface CompareViewport {
  x: number;
  y: number;
  zoom: number;
}

export type ComparePhase = 'idle' | 'loading' | 'ready' | 'error';

export type WeightsState =
  | { kind: 'none' }
  | { kind: 'loading'; key: string; group?: number }
  | { kind: 'ready'; key: string; data: WeightComparison }
  | { kind: 'error'; key: string; message: string };

export interface CompareState {
  phase: ComparePhase;
  /** the compression result (its id) the comparison was made for */
  resultId: number | undefined;
  info: CompareInfo | undefined;
  scenes: Partial<Record<CompareSide, GraphScene>>;
  expanded: Record<CompareSide, string[]>;
  /** requests in flight */
  busy: number;
  error: string | undefined;
  weights: WeightsState;
  /** bumped when a side's scene should be brought into view around `focusKey` */
  focus: { key: string; seq: number } | undefined;
  /** the one viewport both sides are drawn with (pan or zoom either and the other follows) */
  viewport: CompareViewport;
  setViewport(vp: CompareViewport | ((vp: CompareViewport) => CompareViewport)): void;

  /** Compares the open model with the current compression result (again only if the result changed). */
  open(): Promise<void>;
  /** Opens or closes group `id` on one side, and the group of the same id on the other side. */
  toggle(side: CompareSide, id: string): Promise<void>;
  /** Shows layer `key` on both sides (opening the groups around it) and loads its weights. */
  showLayer(key: string): Promise<void>;
  /** The weight comparison of `key` for a chosen group (undefined: the widest). */
  loadWeights(key: string, group?: number): Promise<void>;
  /** No layer selected (or a node without weights): the weights panel says so. */
  clearWeights(): void;
  reset(): void;
}

const SIDES: readonly CompareSide[] = ['original', 'compressed'];
let requestSeq = 0;
let weightSeq = 0;
let focusSeq = 0;

function client(): ModelHandle {
  const h = modelHandle();
  if (!h) throw new Error('No model is open.');
  return h;
}

const empty = () => ({ original: [] as string[], compressed: [] as string[] });

export const useCompareStore = create<CompareState>()((set, get) => {
  async function layoutSide(side: CompareSide, expanded: string[], seq: number): Promise<void> {
    const scene = await client().compareScene(side, expanded);
    if (seq !== requestSeq) return;
    set((s) => ({ scenes: { ...s.scenes, [side]: scene }, expanded: { ...s.expanded, [side]: expanded } }));
  }

  return {
    phase: 'idle',
    resultId: undefined,
    info: undefined,
    scenes: {},
    expanded: empty(),
    busy: 0,
    error: undefined,
    weights: { kind: 'none' },
    focus: undefined,
    viewport: { x: 0, y: 0, zoom: 1 },

    setViewport(vp) {
      const next = typeof vp === 'function' ? vp(get().viewport) : vp;
      if (next !== get().viewport) set({ viewport: next });
    },

    async open() {
      const result = useCompressStore.getState().result;
      if (!result) {
        set({ phase: 'idle', resultId: undefined, info: undefined, scenes: {}, expanded: empty(), weights: { kind: 'none' } });
        return;
      }
      if (get().resultId === result.id && get().phase !== 'error') return;
      const seq = ++requestSeq;
      set((s) => ({ phase: 'loading', resultId: result.id, info: undefined, scenes: {}, expanded: empty(), error: undefined, weights: { kind: 'none' }, busy: s.busy + 1 }));
      try {
        // a result with an external data file: the compressed model reads its weights from it
        const info = await client().compareOpen(result.blob, result.report.layers, result.data);
        if (seq !== requestSeq) return;
        set({ info });
        await Promise.all([
          layoutSide('original', info.original.initialExpanded, seq),
          layoutSide('compressed', info.compressed.initialExpanded, seq),
        ]);
        if (seq === requestSeq) set({ phase: 'ready' });
      } catch (e) {
        if (seq === requestSeq) set({ phase: 'error', error: errorMessage(e) });
      } finally {
        set((s) => ({ busy: s.busy - 1 }));
      }
    },

    async toggle(side, id) {
      const seq = requestSeq;
      set((s) => ({ busy: s.busy + 1 }));
      try {
        const open = get().expanded[side].includes(id);
        const next = { ...get().expanded };
        for (const sd of SIDES) {
          if (open) next[sd] = next[sd].filter((x) => x !== id);
          else {
            const add = await client().compareExpand(sd, id);
            if (add.length > 0 || sd === side) next[sd] = [...new Set([...next[sd], ...add])];
          }
        }
        if (seq !== requestSeq) return;
        await Promise.all(SIDES.map((sd) => (next[sd] === get().expanded[sd] ? undefined : layoutSide(sd, next[sd], seq))));
      } catch (e) {
        set({ error: errorMessage(e) });
      } finally {
        set((s) => ({ busy: s.busy - 1 }));
      }
    },

    async showLayer(key) {
      const seq = requestSeq;
      set((s) => ({ busy: s.busy + 1 }));
      try {
        await Promise.all(
          SIDES.map(async (sd) => {
            if (get().scenes[sd]?.nodes.some((n) => n.key === key)) return;
            const add = await client().compareReveal(sd, `n:${key}`);
            if (add.length === 0 || seq !== requestSeq) return;
            await layoutSide(sd, [...new Set([...get().expanded[sd], ...add])], seq);
          }),
        );
        if (seq === requestSeq) set({ focus: { key, seq: ++focusSeq } });
      } catch (e) {
        set({ error: errorMessage(e) });
      } finally {
        set((s) => ({ busy: s.busy - 1 }));
      }
      void get().loadWeights(key);
    },

    async loadWeights(key, group) {
      const ws = ++weightSeq;
      set({ weights: { kind: 'loading', key, group } });
      try {
        const data = await client().compareWeights(key, group);
        if (ws === weightSeq) set({ weights: { kind: 'ready', key, data } });
      } catch (e) {
        if (ws === weightSeq) set({ weights: { kind: 'error', key, message: errorMessage(e) } });
      }
    },

    clearWeights() {
      weightSeq++;
      if (get().weights.kind !== 'none') set({ weights: { kind: 'none' } });
    },

    reset() {
      requestSeq++;
      weightSeq++;
      set({ phase: 'idle', resultId: undefined, info: undefined, scenes: {}, expanded: empty(), busy: 0, error: undefined, weights: { kind: 'none' }, focus: undefined });
    },
  };
});

// Another model, or a new (or no) compression result, makes the comparison stale.
useModelStore.subscribe((state, prev) => {
  if (state.model !== prev.model) useCompareStore.getState().reset();
});
useCompressStore.subscribe((state, prev) => {
  if (state.result !== prev.result && useCompareStore.getState().resultId !== state.result?.id) {
    useCompareStore.getState().reset();
    void modelHandle()?.compareClose().catch(() => undefined);
  }
});
