/**
 * Export of the last compression: the model (with an external data file when it is too large for
 * one file, or when the user asks), its recipe, the report (Markdown, JSON) and the per-layer CSV,
 * each on its own or all in one zip. The work (SHA-256, the data split, zipping) runs in the
 * export worker; the parts come back as Blobs (handles), ready for download.
 *
 * - A prepared bundle belongs to one result and the measurements it was made with (the runtime
 *   check, and the sections other features register); it is made again when any of them changes.
 * - Other features add report sections (accuracy, benchmark) with `registerReportSections`.
 */
import { create } from 'zustand';
import { AppError, errorMessage, isAppError } from '../core/errors';
import type { CompressOutcome, VerifyState } from './compress-store';
import { useCompressStore } from './compress-store';
import type { AccuracySection, BenchmarkSection, ExportBundle, ExportPart, FidelitySection } from '../workers/export-api';
import { ExportClient } from '../workers/export-client';
import { serializeRecipe } from '../compress/recipe';
import { benchSections } from './bench-sections';
import { useBenchStore } from './bench-store';
import { modelFiles } from './model-store';

export type { ExportPart, PartKind } from '../workers/export-api';

export const TOOL = `ONNX Compression Studio ${__APP_VERSION__}`;

export type ExportStatus =
  | { kind: 'idle' }
  | { kind: 'working'; what: 'prepare' | 'zip'; done: number; total: number }
  | { kind: 'failed'; message: string };

export interface PreparedExport {
  /** what it was made from (result, options, measurements) */
  key: string;
  bundle: ExportBundle;
}

export interface ExportState {
  /** the user asked for the weights in a separate data file */
  externalData: boolean;
  status: ExportStatus;
  prepared: PreparedExport | undefined;
  /** the last zip, for the same key */
  zip: { key: string; blob: Blob; name: string } | undefined;

  setExternalData(on: boolean): void;
  /** The bundle for the current result (made when missing or stale). `modelName`: the .onnx file's name. */
  prepare(modelName: string): Promise<ExportBundle | undefined>;
  /** The zip of every part. */
  zipAll(modelName: string): Promise<{ blob: Blob; name: string } | undefined>;
  cancel(): void;
  dismissError(): void;
}

/** Extra report sections (accuracy, benchmark) that other features measure. */
export type ReportSections = { accuracy?: AccuracySection; benchmark?: BenchmarkSection };
type SectionSource = { sections: () => ReportSections | undefined; version: () => unknown };
const sources: SectionSource[] = [];

/**
 * Lets a feature add sections to the report. `version` changes whenever `sections` would give
 * something new (a prepared export is made again then).
 */
export function registerReportSections(source: SectionSource): () => void {
  sources.push(source);
  return () => {
    const i = sources.indexOf(source);
    if (i >= 0) sources.splice(i, 1);
  };
}

/** The runtime check, as the report's fidelity section (when it ran on this result). */
export function fidelityOf(verify: VerifyState, result: CompressOutcome): FidelitySection | undefined {
  if (verify.kind !== 'done' || verify.resultId !== result.id) return undefined;
  return {
    inputs: verify.report.inputs,
    rows: verify.report.backends.map((b) => {
      const ok = b.available && b.original.ok && b.compressed.ok;
      const detail = !b.available ? b.detail : !b.original.ok ? `original: ${b.original.error}` : !b.compressed.ok ? `compressed: ${b.compressed.error}` : b.detail;
      return {
        backend: b.backend,
        ok,
        ...(b.cosineVsReference !== undefined ? { cosine: b.cosineVsReference } : {}),
        ...(b.maxAbsDiff !== undefined ? { maxAbsDiff: b.maxAbsDiff } : {}),
        detail,
      };
    }),
  };
}

let client: ExportClient | undefined;
const getClient = () => (client ??= new ExportClient());
let inFlight: AbortController | undefined;

const versions = new WeakMap<object, number>();
let nextVersion = 1;
/** A number per object identity (for keys). */
function idOf(o: unknown): number {
  if (o === null || typeof o !== 'object') return 0;
  let v = versions.get(o);
  if (v === undefined) versions.set(o, (v = nextVersion++));
  return v;
}

function keyOf(result: CompressOutcome, modelName: string, externalData: boolean, verify: VerifyState): string {
  const measured = sources.map((s) => idOf(s.version()) || String(s.version())).join(',');
  return `${result.id}|${idOf(result)}|${modelName}|${externalData}|${verify.kind === 'done' ? idOf(verify.report) : 0}|${measured}`;
}

function collectSections(): ReportSections {
  const out: ReportSections = {};
  for (const s of sources) Object.assign(out, s.sections() ?? {});
  return out;
}

/** The status after an export step threw: idle when it was cancelled, else the message. */
function failureStatus(e: unknown): ExportState['status'] {
  return isAppError(e) && e.code === 'aborted' ? { kind: 'idle' } : { kind: 'failed', message: errorMessage(e) };
}

export const useExportStore = create<ExportState>()((set, get) => ({
  externalData: false,
  status: { kind: 'idle' },
  prepared: undefined,
  zip: undefined,

  setExternalData(on) {
    set({ externalData: on });
  },

  async prepare(modelName) {
    const { result, verify } = useCompressStore.getState();
    const files = result && modelFiles(result.model);
    if (!result || !files) {
      set({ status: { kind: 'failed', message: 'Compress a model first.' } });
      return undefined;
    }
    const externalData = get().externalData || result.data !== undefined;
    const key = keyOf(result, modelName, externalData, verify);
    const cached = get().prepared;
    if (cached?.key === key) return cached.bundle;
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    set({ status: { kind: 'working', what: 'prepare', done: 0, total: 0 } });
    try {
      const fidelity = fidelityOf(verify, result);
      const bundle = await getClient().prepare(
        {
          original: files.map((f) => ({ name: f.name, blob: f })),
          model: { name: modelName, blob: result.blob },
          ...(result.data ? { data: result.data } : {}),
          externalData,
          recipe: result.recipe,
          report: {
            generatedAt: new Date().toISOString(),
            tool: TOOL,
            modelName: result.fileName,
            compress: result.report,
            ...(fidelity ? { fidelity } : {}),
            ...collectSections(),
          },
        },
        controller.signal,
      );
      if (inFlight !== controller) return undefined;
      set({ prepared: { key, bundle }, status: { kind: 'idle' } });
      return bundle;
    } catch (e) {
      if (inFlight !== controller) return undefined;
      set({ status: failureStatus(e) });
      return undefined;
    } finally {
      if (inFlight === controller) inFlight = undefined;
    }
  },

  async zipAll(modelName) {
    const bundle = await get().prepare(modelName);
    const prepared = get().prepared;
    if (!bundle || !prepared) return undefined;
    const name = `${bundle.stem}.zip`;
    const cached = get().zip;
    if (cached?.key === prepared.key) return cached;
    const controller = new AbortController();
    inFlight = controller;
    const total = bundle.parts.reduce((n, p) => n + p.blob.size, 0);
    set({ status: { kind: 'working', what: 'zip', done: 0, total } });
    try {
      const blob = await getClient().zip(
        bundle.parts,
        bundle.stem,
        (done, all) => {
          if (inFlight === controller) set({ status: { kind: 'working', what: 'zip', done, total: all } });
        },
        controller.signal,
      );
      if (inFlight !== controller) return undefined;
      const zip = { key: prepared.key, blob, name };
      set({ zip, status: { kind: 'idle' } });
      return zip;
    } catch (e) {
      if (inFlight !== controller) return undefined;
      set({ status: failureStatus(e) });
      return undefined;
    } finally {
      if (inFlight === controller) inFlight = undefined;
    }
  },

  cancel() {
    inFlight?.abort(new AppError('aborted', 'Cancelled.'));
    inFlight = undefined;
    set({ status: { kind: 'idle' } });
  },

  dismissError() {
    if (get().status.kind === 'failed') set({ status: { kind: 'idle' } });
  },
}));

/** The result's recipe as the bundle names it (`<model>.recipe.json`), without waiting for hashes. */
export function recipeFile(result: CompressOutcome, modelName: string): { blob: Blob; name: string } {
  const stem = modelName.replace(/\.onnx$/i, '') || 'model';
  return { blob: new Blob([serializeRecipe(result.recipe)], { type: 'application/json' }), name: `${stem}.recipe.json` };
}

/** The parts of a bundle of one kind set (the model and its data file, or one document). */
export function partsOf(bundle: ExportBundle, kinds: readonly ExportPart['kind'][]): ExportPart[] {
  return bundle.parts.filter((p) => kinds.includes(p.kind));
}

// A new result (or none) drops what was prepared for the previous one.
useCompressStore.subscribe((state, prev) => {
  if (state.result === prev.result) return;
  inFlight?.abort();
  inFlight = undefined;
  useExportStore.setState({ prepared: undefined, zip: undefined, status: { kind: 'idle' } });
});

// The Benchmark tab's results for this result go into the report (accuracy, benchmark table).
registerReportSections({
  sections: () => {
    const b = useBenchStore.getState();
    const result = useCompressStore.getState().result;
    if (!result || b.resultId !== result.id || b.results.length === 0) return undefined;
    return benchSections(b.results, b.data?.line ?? 'random inputs');
  },
  version: () => useBenchStore.getState().results,
});
