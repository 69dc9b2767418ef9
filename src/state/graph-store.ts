/**
 * The graph view's state: the laid-out scene of the open model, which groups are expanded, and
 * the node to bring into view next. Layout, search and grouping run in the model worker
 * (src/workers/graph-service.ts); this store only sends the expanded set and keeps the answer.
 * Only the answer to the latest request is kept, so fast clicks never show a stale scene.
 */
import { create } from 'zustand';
import { errorMessage } from '../core/errors';
import type { GraphInfo, GraphScene, LayoutEngine, SearchHit } from '../workers/model-api';
import type { ModelHandle } from '../workers/model-client';
import { modelHandle } from './model-store';

export type GraphPhase = 'idle' | 'building' | 'ready' | 'error';

export interface GraphFocus {
  /** scene id to bring into view */
  id: string;
  /** bumped on every request, so asking for the same node twice moves the view again */
  seq: number;
  /** zoom in on it (search), or keep the zoom and keep it where it was on screen (expand/collapse) */
  mode: 'zoom' | 'anchor';
}

export interface GraphState {
  phase: GraphPhase;
  info: GraphInfo | undefined;
  scene: GraphScene | undefined;
  /** expanded group ids as the user left them (inner groups of a closed group are remembered) */
  expanded: string[];
  /** requests in flight */
  busy: number;
  error: string | undefined;
  focus: GraphFocus | undefined;
  /** the group whose layers were selected by clicking it */
  selectedGroup: string | undefined;
  engine: LayoutEngine;

  /** Builds the graph of the open model and lays out its first view. */
  start(): Promise<void>;
  /** Opens a collapsed group (and its small sub-groups), or closes an open one. */
  toggle(id: string): Promise<void>;
  /** Opens the groups around `id` and brings it into view. */
  reveal(id: string): Promise<void>;
  /** Back to the groups that were open at start. */
  resetView(): Promise<void>;
  search(query: string): Promise<SearchHit[]>;
  selectGroup(id: string | undefined): void;
  reset(): void;
}

/** `?layout=elk` lays out with elkjs instead of the built-in layered layout (for comparison). */
const ENGINE: LayoutEngine =
  typeof window !== 'undefined' && new URLSearchParams(window.location.search).get('layout') === 'elk' ? 'elk' : 'layered';

let requestSeq = 0;
let focusSeq = 0;

/** Timeline marks for `npm run bench:graph` (graph:start, graph:info, graph:scene; GraphView adds graph:ready). */
function mark(name: string): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(name);
}

function client(): ModelHandle {
  const h = modelHandle();
  if (!h) throw new Error('No model is open.');
  return h;
}

export const useGraphStore = create<GraphState>()((set, get) => {
  /** Lays out `expanded`; applies the answer only if no newer request was made meanwhile. */
  async function layout(expanded: string[], focus?: Omit<GraphFocus, 'seq'>): Promise<void> {
    const seq = ++requestSeq;
    set((s) => ({ busy: s.busy + 1, expanded }));
    try {
      const scene = await client().graphScene(expanded, get().engine);
      if (seq !== requestSeq) return;
      mark('graph:scene');
      set({ scene, phase: 'ready', error: undefined, ...(focus ? { focus: { ...focus, seq: ++focusSeq } } : {}) });
    } catch (e) {
      if (seq === requestSeq) set({ error: errorMessage(e), phase: get().scene ? 'ready' : 'error' });
    } finally {
      set((s) => ({ busy: s.busy - 1 }));
    }
  }

  return {
    phase: 'idle',
    info: undefined,
    scene: undefined,
    expanded: [],
    busy: 0,
    error: undefined,
    focus: undefined,
    selectedGroup: undefined,
    engine: ENGINE,

    async start() {
      const seq = ++requestSeq;
      set({ phase: 'building', info: undefined, scene: undefined, expanded: [], error: undefined, focus: undefined, selectedGroup: undefined });
      set((s) => ({ busy: s.busy + 1 }));
      mark('graph:start');
      try {
        const info = await client().graphInfo();
        if (seq !== requestSeq) return;
        mark('graph:info');
        set({ info });
        await layout(info.initialExpanded);
      } catch (e) {
        if (seq === requestSeq) set({ phase: 'error', error: errorMessage(e) });
      } finally {
        set((s) => ({ busy: s.busy - 1 }));
      }
    },

    async toggle(id) {
      const { expanded } = get();
      if (expanded.includes(id)) {
        await layout(
          expanded.filter((x) => x !== id),
          { id, mode: 'anchor' },
        );
        return;
      }
      set((s) => ({ busy: s.busy + 1 }));
      try {
        const add = await client().graphExpand(id);
        const next = [...new Set([...get().expanded, ...add])];
        await layout(next, { id, mode: 'anchor' });
      } catch (e) {
        set({ error: errorMessage(e) });
      } finally {
        set((s) => ({ busy: s.busy - 1 }));
      }
    },

    async reveal(id) {
      set((s) => ({ busy: s.busy + 1 }));
      try {
        const add = await client().graphReveal(id);
        const current = get().expanded;
        if (add.every((x) => current.includes(x)) && get().scene?.nodes.some((n) => n.id === id)) {
          set({ focus: { id, mode: 'zoom', seq: ++focusSeq } });
          return;
        }
        await layout([...new Set([...current, ...add])], { id, mode: 'zoom' });
      } catch (e) {
        set({ error: errorMessage(e) });
      } finally {
        set((s) => ({ busy: s.busy - 1 }));
      }
    },

    async resetView() {
      const info = get().info;
      if (info) await layout(info.initialExpanded, { id: '', mode: 'zoom' });
    },

    async search(query) {
      if (!query.trim()) return [];
      try {
        return await client().graphSearch(query, 40);
      } catch {
        return [];
      }
    },

    selectGroup(id) {
      set({ selectedGroup: id });
    },

    reset() {
      requestSeq++;
      set({ phase: 'idle', info: undefined, scene: undefined, expanded: [], error: undefined, focus: undefined, selectedGroup: undefined });
    },
  };
});
