/**
 * What the export worker does, without the worker plumbing, so Node tests run the page's exact code: hash
 * the files (SHA-256 with crypto.subtle), move the weights to an external data file when asked,
 * write the recipe and the report (JSON, Markdown, CSV), and pack everything in one zip (fflate,
 * streamed: binary parts are fed in slices and stored, text parts deflated; the archive is
 * gathered as Blob parts, so no second copy of a large model is held in memory).
 */
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { AppError } from '../core/errors';
import { Sha256 } from '../core/sha256';
import { buildReport, layersCsv, reportJson, reportMarkdown, type ExportReport, type ReportFile, type ReportInput } from '../compress/report';
import { serializeRecipe, type Recipe } from '../compress/recipe';
import { decodeModel, encodeModel } from '../onnx/codec';
import { checkLocation, externalizeData, externalReferences } from '../onnx/external';

export type PartKind = 'model' | 'data' | 'recipe' | 'report-md' | 'report-json' | 'csv';

export interface ExportPart {
  kind: PartKind;
  /** file name (no folder) */
  name: string;
  blob: Blob;
}

export interface NamedBlob {
  name: string;
  blob: Blob;
}

export interface ExportRequest {
  /** the files the model was opened from (the .onnx first) */
  original: NamedBlob[];
  /** the compressed .onnx as the compressor wrote it, named as it is to be saved */
  model: NamedBlob;
  /** its external data file, when the compressor had to write one */
  data?: NamedBlob;
  /** move the weights to an external data file even though the model fits in one file */
  externalData: boolean;
  recipe: Recipe;
  /** everything else the report holds */
  report: Omit<ReportInput, 'original' | 'result' | 'recipe'>;
}

export interface ExportBundle {
  /** model, data (when any), recipe, report (Markdown, JSON), CSV, in that order */
  parts: ExportPart[];
  report: ExportReport;
  /** file-name stem shared by the parts, e.g. `digits-cnn.int8-per-channel.portable` */
  stem: string;
}

/** A zip entry's size and the archive's offsets are 32-bit (fflate writes no Zip64). */
export const ZIP_LIMIT = 0xffff_ffff - 0x10_0000;
/** Bytes read from a Blob at a time (large files' hashing, zipping). */
const SLICE = 16 * 1024 * 1024;
/** Zip output is gathered into a Blob part whenever this much is pending. */
const FLUSH = 64 * 1024 * 1024;

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** Files up to this size are hashed by crypto.subtle in one buffer; larger ones in slices. */
export const SUBTLE_MAX = 256 * 1024 * 1024;

/**
 * Lowercase hex SHA-256 of a Blob's bytes: crypto.subtle.digest (native) for files up to
 * `subtleMax`; beyond, the incremental hash over 16 MB slices, so memory stays flat (subtle has no
 * streaming interface and would need the whole file in one buffer).
 */
export async function sha256Hex(blob: Blob, subtleMax = SUBTLE_MAX): Promise<string> {
  if (blob.size <= subtleMax) return hex(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  const h = new Sha256();
  for (let at = 0; at < blob.size; at += SLICE) h.update(new Uint8Array(await blob.slice(at, Math.min(blob.size, at + SLICE)).arrayBuffer()));
  return h.hex();
}

/** `name.onnx` -> `name` (the stem the other parts share). */
export function stemOf(modelName: string): string {
  return modelName.replace(/\.onnx$/i, '') || 'model';
}

/** The compressed model with its weights moved to `<model>.data` beside it. */
export async function splitModel(model: NamedBlob): Promise<{ model: NamedBlob; data: NamedBlob }> {
  const bytes = new Uint8Array(await model.blob.arrayBuffer());
  const decoded = decodeModel(bytes);
  if (externalReferences(decoded).length > 0) {
    throw new AppError('external-data', 'The compressed model already keeps weights in an external data file.');
  }
  const dataName = checkLocation(`${model.name}.data`);
  const split = externalizeData(decoded, dataName);
  return {
    model: { name: model.name, blob: new Blob([encodeModel(split.model) as Uint8Array<ArrayBuffer>]) },
    data: { name: dataName, blob: new Blob([split.data as Uint8Array<ArrayBuffer>]) },
  };
}

async function hashAll(files: readonly NamedBlob[]): Promise<ReportFile[]> {
  const out: ReportFile[] = [];
  for (const f of files) out.push({ name: f.name, bytes: f.blob.size, sha256: await sha256Hex(f.blob) });
  return out;
}

const text = (s: string, type: string) => new Blob([s], { type });

/** Builds every part of an export: the model (and data file), the recipe and the report. */
export async function prepareExport(req: ExportRequest, signal?: AbortSignal): Promise<ExportBundle> {
  let model = req.model;
  let data = req.data;
  if (req.externalData && !data) ({ model, data } = await splitModel(model));
  if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
  const original = await hashAll(req.original);
  if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
  const result = await hashAll(data ? [model, data] : [model]);
  const report = buildReport({ ...req.report, original, result, recipe: req.recipe });
  const stem = stemOf(model.name);
  const parts: ExportPart[] = [
    { kind: 'model', name: model.name, blob: model.blob },
    ...(data ? [{ kind: 'data' as const, name: data.name, blob: data.blob }] : []),
    { kind: 'recipe', name: `${stem}.recipe.json`, blob: text(serializeRecipe(req.recipe), 'application/json') },
    { kind: 'report-md', name: `${stem}.report.md`, blob: text(reportMarkdown(report), 'text/markdown') },
    { kind: 'report-json', name: `${stem}.report.json`, blob: text(reportJson(report), 'application/json') },
    { kind: 'csv', name: `${stem}.layers.csv`, blob: text(layersCsv(report), 'text/csv') },
  ];
  return { parts, report, stem };
}

/**
 * One zip of the parts, all inside the folder `folder/`. Binary parts (model, data) are stored
 * as they are (quantized weights hardly deflate, and storing streams at disk speed), text parts
 * are deflated. Refuses, naming the limit, what a zip without Zip64 cannot hold.
 */
export async function zipParts(
  parts: readonly ExportPart[],
  folder: string,
  options: { mtime?: Date; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<Blob> {
  const total = parts.reduce((n, p) => n + p.blob.size, 0);
  const big = parts.find((p) => p.blob.size > ZIP_LIMIT);
  if (big || total > ZIP_LIMIT) {
    throw new AppError(
      'too-large',
      `${big ? `"${big.name}" is` : 'The files are'} over 4 GB, more than a zip without Zip64 can hold: download the files one by one.`,
    );
  }
  const blobParts: Blob[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let failure: Error | undefined;
  let finished = false;
  const flush = () => {
    if (pending.length === 0) return;
    blobParts.push(new Blob(pending as Uint8Array<ArrayBuffer>[]));
    pending = [];
    pendingBytes = 0;
  };
  const zip = new Zip((err, chunk, final) => {
    if (err) {
      failure = err;
      return;
    }
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= FLUSH) flush();
    if (final) finished = true;
  });
  const mtime = options.mtime ?? new Date();
  let done = 0;
  for (const p of parts) {
    const binary = p.kind === 'model' || p.kind === 'data';
    const entry = binary ? new ZipPassThrough(`${folder}/${p.name}`) : new ZipDeflate(`${folder}/${p.name}`, { level: 6 });
    entry.mtime = mtime;
    zip.add(entry);
    if (p.blob.size === 0) entry.push(new Uint8Array(0), true);
    for (let at = 0; at < p.blob.size; at += SLICE) {
      if (options.signal?.aborted) {
        zip.terminate();
        throw new AppError('aborted', 'Cancelled.');
      }
      const end = Math.min(p.blob.size, at + SLICE);
      entry.push(new Uint8Array(await p.blob.slice(at, end).arrayBuffer()), end === p.blob.size);
      done += end - at;
      options.onProgress?.(done, total);
      if (failure) throw failure;
    }
  }
  zip.end();
  if (failure) throw failure;
  if (!finished) throw new Error('the zip did not finish');
  flush();
  return new Blob(blobParts, { type: 'application/zip' });
}
