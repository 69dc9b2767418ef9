/**
 * A count of model decodes, for the promise that a model is parsed once per open: decodeModel
 * records every call here (with the file name when its caller gives one), and listeners (the
 * workers' debug report, tests) hear of each. Plain module state: one log per thread.
 */
export interface DecodeEvent {
  /** the file decoded ('' when the caller gave no name) */
  name: string;
  bytes: number;
}

const listeners = new Set<(e: DecodeEvent) => void>();
let count = 0;

export function recordDecode(name: string | undefined, bytes: number): void {
  count++;
  const event = { name: name ?? '', bytes };
  for (const l of listeners) l(event);
}

/** Calls `listener` after every decode on this thread; returns the unsubscribe. */
export function onDecode(listener: (e: DecodeEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Decodes on this thread so far. */
export function decodeCount(): number {
  return count;
}
