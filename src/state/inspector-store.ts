/**
 * The inspector's data: details of the selected node and statistics of its tensors, fetched from
 * the model worker (which keeps the model) and kept per model. Statistics are cached by the
 * worker too; here they are kept so that going back to a node shows them at once.
 */
import { create } from 'zustand';
import { errorMessage } from '../core/errors';
import type { NodeDetails, OpenedModel, TensorStatsView } from '../workers/model-api';
import { modelHandle, useModelStore } from './model-store';

export type Loadable<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'error'; message: string };

export interface InspectorState {
  model: OpenedModel | undefined;
  /** node key -> details */
  nodes: Record<string, Loadable<NodeDetails>>;
  /** tensor id -> statistics */
  stats: Record<string, Loadable<TensorStatsView>>;
  /** Fetches a node's details (once per model). */
  loadNode(key: string): void;
  /** Fetches a tensor's statistics (once per model). */
  loadStats(id: string): void;
}

export const useInspectorStore = create<InspectorState>()((set, get) => ({
  model: undefined,
  nodes: {},
  stats: {},

  loadNode(key) {
    const s = get();
    if (s.nodes[key] && s.nodes[key].status !== 'error') return;
    const model = s.model;
    const client = modelHandle(model);
    if (!client || !model) return;
    set({ nodes: { ...s.nodes, [key]: { status: 'loading' } } });
    client.inspectNode(key).then(
      (value) => {
        if (get().model === model) set({ nodes: { ...get().nodes, [key]: { status: 'ready', value } } });
      },
      (e: unknown) => {
        if (get().model === model) set({ nodes: { ...get().nodes, [key]: { status: 'error', message: errorMessage(e) } } });
      },
    );
  },

  loadStats(id) {
    const s = get();
    if (s.stats[id] && s.stats[id].status !== 'error') return;
    const model = s.model;
    const client = modelHandle(model);
    if (!client || !model) return;
    set({ stats: { ...s.stats, [id]: { status: 'loading' } } });
    client.tensorStats(id).then(
      (value) => {
        if (get().model === model) set({ stats: { ...get().stats, [id]: { status: 'ready', value } } });
      },
      (e: unknown) => {
        if (get().model === model) set({ stats: { ...get().stats, [id]: { status: 'error', message: errorMessage(e) } } });
      },
    );
  },
}));

useInspectorStore.setState({ model: useModelStore.getState().model });
useModelStore.subscribe((state, prev) => {
  if (state.model !== prev.model) useInspectorStore.setState({ model: state.model, nodes: {}, stats: {} });
});
