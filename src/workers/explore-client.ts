/**
 * The page's side of the trade-off explorer: a pool of explore workers (one per core, up to 4,
 * each with its own onnxruntime-web wasm session of one thread), and the orchestration from
 * src/bench/explore (sensitivity, search, sweep) on top of it. The orchestration is light
 * bookkeeping (the greedy over projected sizes); compression and inference run in the workers.
 * Cancel terminates the workers (a candidate in the middle of compressing cannot be interrupted
 * otherwise); the next run starts fresh ones.
 *
 * Sensitivity results are cached per model (SHA-256 of its files), target, metric and inputs: in
 * memory, and in IndexedDB (idb-keyval) so a reload does not measure again.
 */
import { get as idbGet, set as idbSet } from 'idb-keyval';
import { AppError } from '../core/errors';
import { runSensitivity, type SensitivityEntry } from '../bench/explore/sensitivity';
import { Explorer, withRecovery, type ExplorePoint } from '../bench/explore/search';
import type { MetricKind } from '../bench/explore/score';
import { SizeModel, type SizeBasis } from '../bench/explore/size';
import type { Recipe } from '../compress/recipe';
import type { ExploreInit, ExploreInitRequest, ExploreReady, ExploreWorkerApi, Measured, MeasureOptions, PortLike } from './explore-api';
import { WorkerClient } from './kit/client';

export type { SensitivityEntry, ExplorePoint, MetricKind };

/** Workers to run side by side: the machine's cores, 1 to 4. */
export function poolSize(): number {
  const n = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, n));
}

interface Member {
  client: WorkerClient<ExploreWorkerApi>;
  ready: Promise<ExploreReady>;
}

const memoryCache = new Map<string, SensitivityEntry[]>();

export interface ExploreSession {
  ready: ExploreReady;
  metric: MetricKind;
  workers: number;
  sizes: SizeModel;
}

export class ExploreClient {
  private members: Member[] = [];
  private idle: Member[] = [];
  private waiting: ((m: Member) => void)[] = [];
  private failAll: ((e: Error) => void)[] = [];
  private disposed = false;

  private constructor(
    private readonly init: ExploreInitRequest,
    private readonly connectData?: () => Promise<PortLike>,
  ) {}

  /**
   * Starts the workers and prepares the model in each (the first one's answer is returned). With
   * recovery or int8 activations, the first worker computes their statistics from the calibration
   * part and the others start after it with them (not computing them again). Where `init` names
   * samples, each worker gets a port of its own from `connectData` (DataClient.connect) and asks
   * the data worker for them: they never pass through the page.
   */
  static async start(
    init: ExploreInitRequest,
    metric?: MetricKind,
    basis: SizeBasis = 'stored',
    connectData?: () => Promise<PortLike>,
  ): Promise<{ client: ExploreClient; session: ExploreSession }> {
    const c = new ExploreClient(init, connectData);
    const n = poolSize();
    const first = init.recovery !== undefined || init.activations !== undefined;
    for (let i = 0; i < (first ? 1 : n); i++) c.members.push(c.spawn(i, init));
    const ready = await c.members[0].ready;
    if (first) {
      const shared = ready.shared;
      delete ready.shared;
      for (let i = 1; i < n; i++) c.members.push(c.spawn(i, { ...init, ...(shared ? { shared } : {}) }));
    }
    // the others get ready in the background; a member that fails to start is dropped
    c.idle.push(c.members[0]);
    for (const m of c.members.slice(1)) {
      m.ready.then(
        () => c.release(m),
        () => {
          c.members = c.members.filter((x) => x !== m);
          m.client.dispose();
        },
      );
    }
    const chosen: MetricKind = metric && (metric !== 'accuracy' || ready.labeled) ? metric : ready.labeled ? 'accuracy' : 'cosine';
    return { client: c, session: { ready, metric: chosen, workers: n, sizes: new SizeModel(ready.projection, init.target, basis) } };
  }

  /** `init` with a fresh port to the data worker where it names samples (one port carries one request). */
  private async connected(init: ExploreInitRequest): Promise<{ init: ExploreInit; transfer: PortLike[] }> {
    const { samples, ...rest } = init;
    if (!samples) return { init: rest, transfer: [] };
    if (!this.connectData) throw new AppError('invalid-argument', 'the samples are named but there is no data worker to connect to');
    const port = await this.connectData();
    return { init: { ...rest, samples: { ...samples, port } }, transfer: [port] };
  }

  private spawn(i: number, request: ExploreInitRequest): Member {
    const client: WorkerClient<ExploreWorkerApi> = new WorkerClient<ExploreWorkerApi>({
      name: `explore-${i}`,
      spawn: () => new Worker(new URL('./explore.worker.ts', import.meta.url), { type: 'module', name: `explore-${i}` }),
      crashHint: 'The model and the recipe are kept: run the explorer again; if it stops again, close other tabs to free memory.',
      onRestart: (reason) => {
        // a restarted worker has no model: fail the run (the store starts a fresh pool next time)
        if (reason.code !== 'aborted') this.fail(reason);
      },
    });
    const ready = this.connected(request).then(({ init, transfer }) => client.call('init', [init], { transfer }));
    return { client, ready };
  }

  private fail(e: Error): void {
    const list = this.failAll;
    this.failAll = [];
    for (const f of list) f(e);
  }

  private release(m: Member): void {
    if (this.disposed) return;
    const next = this.waiting.shift();
    if (next) next(m);
    else this.idle.push(m);
  }

  private acquire(): Promise<Member> {
    const m = this.idle.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Workers currently able to measure. */
  get concurrency(): number {
    return Math.max(1, this.members.length);
  }

  /** With recovery on, every recipe measured and every point made asks for it (withRecovery). */
  readonly decorate = (recipe: Recipe): Recipe => (this.init.recovery ? withRecovery(recipe) : recipe);

  /** Median ms per recipe, timed side by side in one worker (alternating runs). */
  async timeSideBySide(recipes: Recipe[], signal?: AbortSignal): Promise<number[]> {
    if (signal?.aborted || this.disposed) throw new AppError('aborted', 'Cancelled.');
    const m = await this.acquire();
    try {
      return await m.client.call('timeSideBySide', [recipes.map((r) => this.decorate(r))]);
    } finally {
      this.release(m);
    }
  }

  /** Measures one recipe on the next free worker. */
  async measure(plain: Recipe, signal?: AbortSignal, options?: MeasureOptions): Promise<Measured> {
    const recipe = this.decorate(plain);
    if (signal?.aborted || this.disposed) throw new AppError('aborted', 'Cancelled.');
    const m = await this.acquire();
    try {
      return await new Promise<Measured>((resolve, reject) => {
        const fail = (e: Error) => reject(e);
        this.failAll.push(fail);
        const onAbort = () => reject(new AppError('aborted', 'Cancelled.'));
        signal?.addEventListener('abort', onAbort, { once: true });
        m.client
          .call('measure', options ? [recipe, options] : [recipe])
          .then(resolve, reject)
          .finally(() => {
            signal?.removeEventListener('abort', onAbort);
            this.failAll = this.failAll.filter((f) => f !== fail);
          });
      });
    } finally {
      this.release(m);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.fail(new AppError('aborted', 'Cancelled.'));
    for (const m of this.members) m.client.dispose();
    this.members = [];
    this.idle = [];
    this.waiting = [];
  }
}

export function sensitivityCacheKey(session: ExploreSession, target: string): string {
  return `explore-sensitivity:v1:${session.ready.hash}:${target}:${session.metric}:${session.ready.inputs}`;
}

/** Cached sensitivity entries of this model and settings (memory, then IndexedDB). */
export async function cachedSensitivity(key: string): Promise<SensitivityEntry[] | undefined> {
  const hit = memoryCache.get(key);
  if (hit) return hit;
  try {
    const stored = await idbGet<SensitivityEntry[]>(key);
    if (stored) memoryCache.set(key, stored);
    return stored;
  } catch {
    return undefined;
  }
}

async function storeSensitivity(key: string, entries: SensitivityEntry[]): Promise<void> {
  memoryCache.set(key, entries);
  try {
    await idbSet(key, entries);
  } catch {
    /* private mode or quota: the memory cache still holds it */
  }
}

/** Runs the sensitivity scan on the pool (or answers from the cache), reporting each entry as it comes. */
export async function sensitivityScan(
  client: ExploreClient,
  session: ExploreSession,
  target: ExploreInit['target'],
  signal: AbortSignal,
  onEntry: (e: SensitivityEntry, done: number, total: number) => void,
): Promise<{ entries: SensitivityEntry[]; cached: boolean }> {
  const key = sensitivityCacheKey(session, target);
  const hit = await cachedSensitivity(key);
  if (hit) return { entries: hit, cached: true };
  // the scan needs scores only: no timed runs (most of a candidate's time on a large image model)
  const entries = await runSensitivity(session.ready.layers, session.ready.baseline, (r, s) => client.measure(r, s, { latency: false }), {
    target,
    metric: session.metric,
    concurrency: client.concurrency,
    signal,
    onEntry,
  });
  await storeSensitivity(key, entries);
  return { entries, cached: false };
}

/** An explorer (search and sweep) over the pool. */
export function makeExplorer(
  client: ExploreClient,
  session: ExploreSession,
  entries: SensitivityEntry[],
  allowPrune: boolean,
  signal: AbortSignal,
  onPoint: (p: ExplorePoint) => void,
): Explorer {
  return new Explorer({
    layers: session.ready.layers,
    sizes: session.sizes,
    entries,
    metric: session.metric,
    baseline: session.ready.baseline,
    originalFileBytes: session.ready.originalFileBytes,
    originalLatencyMs: session.ready.originalLatencyMs,
    allowPrune,
    measure: (r, s) => client.measure(r, s),
    timeSideBySide: (r, s) => client.timeSideBySide(r, s),
    decorate: client.decorate,
    signal,
    onPoint,
  });
}
