/**
 * Keeps the session: the open model's files, its recipe with the undo/redo history, the last
 * compression result (and its runtime check), and what other features register
 * (`registerSessionPart`), in IndexedDB (idb-keyval), so that a reload, a crash or a closed tab
 * brings it all back. A list of recent models can be reopened or deleted.
 *
 * - Files and result Blobs are stored as Blob/File objects: the browser keeps their bytes in its
 *   own storage, never as a copy in JS memory.
 * - Every save can fail (quota, private mode, no IndexedDB): the studio then says so once and keeps
 *   working in memory.
 * - Layout in the store "onnx-studio"/"sessions": `index` (recent models, newest first),
 *   `current` (the id to restore), and per session `files:<id>`, `state:<id>`, `result:<id>`.
 */
import { createStore, del, delMany, get, set, type UseStore } from 'idb-keyval';
import { create } from 'zustand';
import { errorMessage } from '../core/errors';
import type { Recipe } from '../compress/recipe';
import type { VerifyReport } from '../workers/compress-api';
import { useCompressStore, type SavedResult } from './compress-store';
import { modelFiles, useModelStore } from './model-store';
import { useRecipeStore } from './recipe-store';

export interface RecentModel {
  id: string;
  /** the model file's name */
  name: string;
  /** every file's name (model first) */
  files: string[];
  /** bytes of all its files */
  bytes: number;
  /** when the session was last saved (ms since 1970) */
  savedAt: number;
  /** identity of the files (names, sizes, modification times): the same files reuse the entry */
  signature: string;
}

interface SavedState {
  recipe: Recipe;
  past: Recipe[];
  future: Recipe[];
  /** what registered parts saved, by part key */
  parts: Record<string, unknown>;
}

interface SavedResultRecord {
  result: SavedResult;
  verify?: VerifyReport;
}

/** A piece of state another feature wants kept with the session (e.g. benchmark results). */
export interface SessionPart {
  key: string;
  /** plain, structured-cloneable data (Blobs allowed) for the open model; undefined: nothing */
  snapshot(): unknown;
  /** puts a snapshot back, after the model, recipe and result were restored */
  restore(saved: unknown): void;
  /** calls `changed` whenever the snapshot would differ; returns an unsubscribe */
  subscribe(changed: () => void): () => void;
}

export interface SessionState {
  /** the session of the open model (undefined before a model is open) */
  currentId: string | undefined;
  recent: RecentModel[];
  /** why sessions are not being saved (quota, no storage); cleared by the next successful save */
  storageError: string | undefined;
  /** true while a saved session is being opened */
  restoring: boolean;

  /** Reads the list of recent models. */
  loadRecent(): Promise<void>;
  /**
   * Opens the last session if there is one (true), else nothing (false). Used at start, where
   * the built-in sample opens otherwise.
   */
  restoreLast(): Promise<boolean>;
  /** Opens a recent model with its recipe, history and result. */
  reopen(id: string): Promise<void>;
  /** Deletes a recent model's saved session (the open model stays open, unsaved until it changes). */
  remove(id: string): Promise<void>;
  dismissStorageError(): void;
}

const MAX_RECENT = 8;
const SAVE_DELAY_MS = 250;

let db: UseStore | undefined;
function store(): UseStore {
  if (typeof indexedDB === 'undefined') throw new Error('this browser gives the page no IndexedDB');
  db ??= createStore('onnx-studio', 'sessions');
  return db;
}

const parts: SessionPart[] = [];

function newId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function signatureOf(files: readonly File[]): string {
  return files.map((f) => `${f.name}:${f.size}:${f.lastModified}`).join('|');
}

function isQuota(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name ?? '';
  const inner = (e as { inner?: { name?: string } } | null)?.inner?.name ?? '';
  return name === 'QuotaExceededError' || inner === 'QuotaExceededError' || /quota/i.test(errorMessage(e));
}

function storageMessage(e: unknown): string {
  if (isQuota(e)) {
    return 'Browser storage is full, so this session is not saved: your work stays in this tab only. Delete recent models to make room.';
  }
  const why = e instanceof Error ? e.message : String(e);
  return `This session could not be saved (${why}): your work stays in this tab only.`;
}

/** What is being restored: the model that opens next with these files takes this session's state. */
let pending: { id: string; files: string[]; state?: SavedState; result?: SavedResultRecord } | undefined;
/** Saves are chained so that they land in order. */
let queue: Promise<unknown> = Promise.resolve();

function enqueue(what: () => Promise<unknown>): Promise<void> {
  const s = useSessionStore;
  const run = queue.then(what).then(
    () => {
      if (s.getState().storageError !== undefined) s.setState({ storageError: undefined });
    },
    (e: unknown) => {
      s.setState({ storageError: storageMessage(e) });
    },
  );
  queue = run;
  return run;
}

export const useSessionStore = create<SessionState>()((setState, getState) => {
  const readIndex = async (): Promise<RecentModel[]> => (await get<RecentModel[]>('index', store())) ?? [];

  return {
    currentId: undefined,
    recent: [],
    storageError: undefined,
    restoring: false,

    async loadRecent() {
      try {
        setState({ recent: await readIndex() });
      } catch (e) {
        setState({ storageError: storageMessage(e) });
      }
    },

    async restoreLast() {
      try {
        const id = await get<string>('current', store());
        if (!id) return false;
        const files = await get<File[]>(`files:${id}`, store());
        if (!files || files.length === 0) return false;
        await getState().reopen(id);
        return useModelStore.getState().model !== undefined;
      } catch (e) {
        setState({ storageError: storageMessage(e) });
        return false;
      }
    },

    async reopen(id) {
      let files: File[] | undefined;
      try {
        const s = store();
        const [f, state, result] = await Promise.all([
          get<File[]>(`files:${id}`, s),
          get<SavedState>(`state:${id}`, s),
          get<SavedResultRecord>(`result:${id}`, s),
        ]);
        files = f;
        if (!files || files.length === 0) {
          useModelStore.setState({ error: 'That model is no longer in the browser storage.' });
          await getState().remove(id);
          return;
        }
        pending = { id, files: files.map((x) => x.name), state, result };
      } catch (e) {
        setState({ storageError: storageMessage(e) });
        return;
      }
      setState({ restoring: true });
      try {
        await useModelStore.getState().openFiles(files);
      } finally {
        pending = undefined;
        setState({ restoring: false });
      }
    },

    async remove(id) {
      await enqueue(async () => {
        const s = store();
        const index = (await readIndex()).filter((e) => e.id !== id);
        await set('index', index, s);
        await delMany([`files:${id}`, `state:${id}`, `result:${id}`], s);
        if ((await get<string>('current', s)) === id) await del('current', s);
        setState({ recent: index });
      });
      if (getState().currentId === id) setState({ currentId: undefined });
    },

    dismissStorageError() {
      setState({ storageError: undefined });
    },
  };
});

/** Lets a feature keep a piece of state with the session. Returns an unregister function. */
export function registerSessionPart(part: SessionPart): () => void {
  parts.push(part);
  const unsubscribe = part.subscribe(() => scheduleStateSave());
  return () => {
    unsubscribe();
    const i = parts.indexOf(part);
    if (i >= 0) parts.splice(i, 1);
  };
}

// ---------------------------------------------------------------------------------------------
// Saving

let saveTimer: ReturnType<typeof setTimeout> | undefined;
/** The model the current session belongs to (the recipe store's model must be this one to save). */
let sessionModel: object | undefined;
/** The state to write when the timer fires, taken when it changed (so it belongs to its session). */
let latest: { id: string; state: SavedState } | undefined;

function snapshotState(): SavedState {
  const r = useRecipeStore.getState();
  const saved: Record<string, unknown> = {};
  for (const p of parts) {
    const v = p.snapshot();
    if (v !== undefined) saved[p.key] = v;
  }
  return { recipe: r.recipe, past: r.past, future: r.future, parts: saved };
}

/** Saves the recipe, history and parts of the current session (soon: rapid edits are one write). */
function scheduleStateSave(): void {
  const id = useSessionStore.getState().currentId;
  if (!id || pending || sessionModel === undefined || useRecipeStore.getState().model !== sessionModel) return;
  latest = { id, state: snapshotState() };
  if (saveTimer !== undefined) clearTimeout(saveTimer);
  saveTimer = setTimeout(() => void flushState(), SAVE_DELAY_MS);
}

/** Writes the state taken last, now. */
function flushState(): Promise<void> {
  if (saveTimer !== undefined) clearTimeout(saveTimer);
  saveTimer = undefined;
  const l = latest;
  latest = undefined;
  if (!l) return Promise.resolve();
  return enqueue(() => set(`state:${l.id}`, l.state, store()));
}

function saveResult(): Promise<void> {
  const id = useSessionStore.getState().currentId;
  // only for the session's own model (a result cleared because another model opened stays saved)
  if (!id || pending || sessionModel === undefined || useModelStore.getState().model !== sessionModel) return Promise.resolve();
  const { result, verify } = useCompressStore.getState();
  if (!result) return enqueue(() => del(`result:${id}`, store()));
  if (result.model !== sessionModel) return Promise.resolve();
  const { id: _id, model: _model, ...saved } = result;
  const record: SavedResultRecord = {
    result: saved,
    ...(verify.kind === 'done' && verify.resultId === result.id ? { verify: verify.report } : {}),
  };
  return enqueue(() => set(`result:${id}`, record, store()));
}

/** A model was opened from files: start its session (or reuse the entry of the same files). */
function startSession(model: object, files: readonly File[]): Promise<void> {
  const signature = signatureOf(files);
  return enqueue(async () => {
    // another model opened meanwhile: that one's session is started instead
    if (useModelStore.getState().model !== model) return;
    const s = store();
    const index = (await get<RecentModel[]>('index', s)) ?? [];
    const same = index.find((e) => e.signature === signature);
    const id = same?.id ?? newId();
    if (useModelStore.getState().model !== model) return;
    sessionModel = model;
    useSessionStore.setState({ currentId: id });
    const entry: RecentModel = {
      id,
      name: files[0].name,
      files: files.map((f) => f.name),
      bytes: files.reduce((n, f) => n + f.size, 0),
      savedAt: Date.now(),
      signature,
    };
    const next = [entry, ...index.filter((e) => e.id !== id)];
    const dropped = next.slice(MAX_RECENT);
    const kept = next.slice(0, MAX_RECENT);
    if (!same) await set(`files:${id}`, [...files], s);
    await set(`state:${id}`, snapshotState(), s);
    await del(`result:${id}`, s);
    await set('index', kept, s);
    await set('current', id, s);
    for (const d of dropped) await delMany([`files:${d.id}`, `state:${d.id}`, `result:${d.id}`], s);
    useSessionStore.setState({ recent: kept });
  });
}

// A model opened: restore the session it was reopened from, or start a new one.
useModelStore.subscribe((state, prev) => {
  if (state.model === prev.model) return;
  const model = state.model;
  // the previous model's last edits are written now; nothing is saved for the new model until
  // its session is known
  void flushState();
  sessionModel = undefined;
  useSessionStore.setState({ currentId: undefined });
  if (!model) return;
  const files = modelFiles(model) ?? [];
  const p = pending;
  if (p && p.files.length === files.length && p.files.every((n, i) => n === files[i]?.name)) {
    pending = undefined;
    sessionModel = model;
    useSessionStore.setState({ currentId: p.id });
    if (p.state) useRecipeStore.getState().restore(p.state);
    if (p.result) {
      useCompressStore.getState().restoreResult(p.result.result);
      const restored = useCompressStore.getState().result;
      if (restored && p.result.verify) useCompressStore.setState({ verify: { kind: 'done', report: p.result.verify, resultId: restored.id } });
      // shown as it was left: the panel with the result
      useCompressStore.getState().setPanelOpen(true);
    }
    for (const part of parts) if (p.state && Object.hasOwn(p.state.parts, part.key)) part.restore(p.state.parts[part.key]);
    // the reopened model moves to the top of the recent list
    void enqueue(async () => {
      const s = store();
      const index = (await get<RecentModel[]>('index', s)) ?? [];
      const entry = index.find((e) => e.id === p.id);
      const next = entry ? [{ ...entry, savedAt: Date.now() }, ...index.filter((e) => e.id !== p.id)] : index;
      await set('index', next, s);
      await set('current', p.id, s);
      useSessionStore.setState({ recent: next });
    });
    return;
  }
  if (files.length > 0) void startSession(model, files);
});

useRecipeStore.subscribe((state, prev) => {
  if (state.recipe !== prev.recipe || state.past !== prev.past || state.future !== prev.future) scheduleStateSave();
});

useCompressStore.subscribe((state, prev) => {
  const verifyDone = state.verify !== prev.verify && state.verify.kind === 'done';
  if (state.result !== prev.result || verifyDone) void saveResult();
});

// Leaving the page: write what is pending now.
if (typeof window !== 'undefined') {
  window.addEventListener('pagehide', () => {
    void flushState();
  });
}
