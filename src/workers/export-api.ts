/**
 * The contract between the page and the export worker. Blobs cross it as handles (no bytes are
 * copied on the main thread); the recipe and the compression report are plain data.
 */
import type { ExportReport } from '../compress/report';
import type { ExportBundle, ExportPart, ExportRequest, NamedBlob, PartKind } from './export-run';
import type { Method, WorkerResult } from './kit/protocol';

export type { AccuracySection, BenchmarkRow, BenchmarkSection, FidelityRow, FidelitySection, ReportFile } from '../compress/report';
export type { ExportBundle, ExportPart, ExportReport, ExportRequest, NamedBlob, PartKind, WorkerResult };

export type ExportProgressCallback = (done: number, total: number) => void;

export interface ExportWorkerApi {
  /** Hashes the files, splits off external data when asked, and writes the recipe and report. */
  prepare: Method<[request: ExportRequest], ExportBundle>;
  /** Packs the parts into one zip (inside the folder `folder/`); progress: [done, total]. */
  zip: Method<[parts: ExportPart[], folder: string], Blob, [done: number, total: number]>;
}
