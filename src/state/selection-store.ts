/**
 * What the user is looking at: the selected node (by its unique key = node name) and which
 * graph groups are expanded. The graph view and the inspector both read it.
 * Opening another model clears the selection.
 */
import { create } from 'zustand';
import { useModelStore } from './model-store';

export interface SelectionState {
  /** Unique node key (the node's name after load-time naming), or undefined. */
  selectedKey: string | undefined;
  /** Keys of several selected layers (shift/ctrl-click, bulk edits). */
  multiKeys: string[];
  select(key: string | undefined): void;
  setMulti(keys: string[]): void;
  /** Adds `key` to the multi-selection, or removes it when it is there. */
  toggleMulti(key: string): void;
  reset(): void;
}

export const useSelectionStore = create<SelectionState>()((set, get) => ({
  selectedKey: undefined,
  multiKeys: [],
  select: (key) => set({ selectedKey: key }),
  setMulti: (keys) => set({ multiKeys: keys }),
  toggleMulti: (key) => {
    const keys = get().multiKeys;
    set({ multiKeys: keys.includes(key) ? keys.filter((k) => k !== key) : [...keys, key] });
  },
  reset: () => set({ selectedKey: undefined, multiKeys: [] }),
}));

useModelStore.subscribe((state, prev) => {
  if (state.model !== prev.model) useSelectionStore.getState().reset();
});
