/**
 * Writing a compressed model to disk: one self-contained file when it fits protobuf's 2 GB (the
 * same bytes as the page's download), else, or when asked (--external-data NAME), the model plus
 * one data file beside it. The data file is written a tensor at a time at its planned offset
 * (planExternalData), reading tensors still in the input's external data lazily, so memory holds
 * the compressed weights and one tensor being copied, never the whole data file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError } from '../core/errors';
import { MAX_MESSAGE_BYTES, encodedModelSize, encodeModel } from '../onnx/codec';
import { checkLocation, externalReferences, inlineExternalData, planExternalData, type ExternalPlan } from '../onnx/external';
import type { ExternalDataResolver, Model } from '../onnx/types';
import type { DirResolver } from './fs-model';

/** A result larger than this as one file goes to a data file beside the model (protobuf's limit). */
export const MAX_INLINE_BYTES = MAX_MESSAGE_BYTES;

export interface OutputOptions {
  out: string;
  /** the input model (never overwritten) */
  model: string;
  /** --external-data NAME: weights of 1 KB or more go to NAME beside OUT */
  externalData?: string;
  /** the largest self-contained file to write (default MAX_INLINE_BYTES); larger goes to `<OUT>.data` */
  maxInlineBytes?: number;
}

export interface WrittenData {
  /** where it was written */
  path: string;
  /** the name the model's tensors refer to */
  location: string;
  bytes: number;
  /** true when no --external-data was given and the one file would have passed the limit */
  automatic: boolean;
  /** (automatic) the largest self-contained file allowed, which the result would have passed */
  limit?: number;
}

export interface WrittenOutput {
  /** the model file's bytes */
  modelBytes: number;
  data?: WrittenData;
}

function ioError(file: string, e: unknown): AppError {
  return new AppError('io', `Cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))}.`);
}

function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** One file: tensors left in external data (untouched layers) are pulled inline. */
export function encodeSelfContained(model: Model, external: ExternalDataResolver | undefined): Uint8Array {
  if (externalReferences(model).length > 0 && external) return encodeModel(inlineExternalData(model, external));
  return encodeModel(model);
}

/** The path of a data file named `location` beside OUT, refused where writing it would destroy an input. */
export function dataPathFor(location: string, opts: OutputOptions, input: Model, external: DirResolver): string {
  const loc = checkLocation(location);
  const dataPath = path.join(path.dirname(path.resolve(opts.out)), ...loc.split('/'));
  if (sameFile(dataPath, opts.out)) throw new AppError('invalid-argument', `The external data file ${loc} cannot be the output model itself.`);
  if (sameFile(dataPath, opts.model)) throw new AppError('invalid-argument', `The external data file ${loc} cannot be the input model.`);
  for (const l of new Set(externalReferences(input).map((r) => r.location))) {
    if (sameFile(dataPath, external.pathOf(l))) {
      throw new AppError('invalid-argument', `The external data file ${dataPath} is the input's own data file; write the result elsewhere or name another file with --external-data NAME.`);
    }
  }
  try {
    if (fs.statSync(dataPath).isDirectory()) throw new AppError('invalid-argument', `The external data file ${dataPath} is a folder.`);
  } catch (e) {
    if (e instanceof AppError) throw e;
  }
  return dataPath;
}

/**
 * The exact size of the result as one file, without reading any external data: the external
 * tensors are sized inline as views of one zero-filled buffer that is never written or read (its
 * pages are never touched, so it takes no memory). Infinity past protobuf's 2 GB.
 */
export function selfContainedSize(model: Model, external: DirResolver): number {
  const refs = externalReferences(model);
  if (refs.length === 0) return encodedModelSize(model);
  const lengthOf = (location: string, offset: number, length: number | undefined) => length ?? Math.max(0, (external.size(location) ?? 0) - offset);
  const lengths = refs.map((r) => lengthOf(r.location, r.offset, r.length));
  if (lengths.reduce((a, b) => a + b, 0) > MAX_MESSAGE_BYTES) return Infinity;
  // reduce, not Math.max(...lengths): a model with a few hundred thousand external tensors would overflow the call's arguments
  const zeros = new Uint8Array(lengths.reduce((a, b) => Math.max(a, b), 0));
  const sizing = { size: (location: string) => external.size(location), read: (location: string, offset: number, length?: number) => zeros.subarray(0, lengthOf(location, offset, length)) };
  return encodedModelSize(inlineExternalData(model, sizing));
}

/** Writes the plan's data file part by part at its offsets (positional writes; gaps stay zero). */
export function writeDataFile(file: string, plan: ExternalPlan): void {
  let fd: number;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(file, 'w');
  } catch (e) {
    throw ioError(file, e);
  }
  try {
    for (const part of plan.parts) {
      const bytes = part.read();
      if (bytes.length !== part.length) throw new AppError('external-data', `A tensor's data changed size while ${file} was written.`);
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, part.offset + done);
    }
    fs.ftruncateSync(fd, plan.size);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw ioError(file, e);
  } finally {
    fs.closeSync(fd);
  }
}

function writeFile(file: string, bytes: Uint8Array): void {
  try {
    fs.writeFileSync(file, bytes);
  } catch (e) {
    throw ioError(file, e);
  }
}

function writeSplit(model: Model, location: string, dataPath: string, external: DirResolver, out: string, limit?: number): WrittenOutput {
  const plan = planExternalData(model, location, { resolver: external });
  const bytes = encodeModel(plan.model);
  writeDataFile(dataPath, plan);
  writeFile(out, bytes);
  return {
    modelBytes: bytes.length,
    data: { path: dataPath, location: plan.location, bytes: plan.size, automatic: limit !== undefined, ...(limit !== undefined ? { limit } : {}) },
  };
}

/**
 * Writes the compressed model: split into OUT and the --external-data file when asked; else one
 * self-contained file (byte for byte what the page downloads) unless that would pass
 * `maxInlineBytes`, in which case the weights go to `<OUT basename>.data` beside it.
 */
export function writeCompressed(model: Model, input: Model, external: DirResolver, opts: OutputOptions): WrittenOutput {
  if (opts.externalData !== undefined) {
    const dataPath = dataPathFor(opts.externalData, opts, input, external);
    return writeSplit(model, opts.externalData, dataPath, external, opts.out);
  }
  const limit = opts.maxInlineBytes ?? MAX_INLINE_BYTES;
  if (selfContainedSize(model, external) <= limit) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = encodeSelfContained(model, external);
    } catch (e) {
      // the estimate was a few bytes short of protobuf's limit: split instead of failing
      if (!(e instanceof AppError && e.code === 'too-large')) throw e;
    }
    if (bytes && bytes.length <= limit) {
      writeFile(opts.out, bytes);
      return { modelBytes: bytes.length };
    }
  }
  const location = `${path.basename(opts.out)}.data`;
  return writeSplit(model, location, dataPathFor(location, opts, input, external), external, opts.out, limit);
}
