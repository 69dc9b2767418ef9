/**
 * What the user is looking at: the selected node (by its unique key = node name) and which
 * graph groups are expanded. The graph view and the inspector both read it.
 */
import { create } from 'zustand';

export interface SelectionState {
  /** Unique node key (the node's name after load-time naming), or undefined. */
  selectedKey: string | undefined;
  /** Keys of several selected layers (shift/ctrl-click, bulk edits). */
  multiKeys: string[];
  select(key: string | undefined): void;
  setMulti(keys: string[]): void;
  reset(): void;
}

export const useSelectionStore = create<SelectionState>()((set) => ({
  selectedKey: undefined,
  multiKeys: [],
  select: (key) => set({ selectedKey: key }),
  setMulti: (keys) => set({ multiKeys: keys }),
  reset: () => set({ selectedKey: undefined, multiKeys: [] }),
}));
