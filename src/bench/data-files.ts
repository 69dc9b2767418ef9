/**
 * The benchmark's input data from files the user chose: one labeled .json / .csv file, or input
 * sets as .npy / .json files (one set each, in name order; a .npy stacking N samples of a
 * batch-1 input gives N). Bytes in, tensors out; reading the
 * files and decoding images is the caller's.
 */
import { AppError } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { parseLabeledCsv, parseLabeledJson, type LabeledSet } from './labeled';
import { inputsFromJsonObject, inputsFromNpzFile, parseJsonText, setsFromNpyFile } from './parse-inputs';
import type { BenchTensor } from './tensor';

export interface DataFile {
  name: string;
  bytes: Uint8Array;
}

export interface BenchData {
  labeled?: LabeledSet;
  sets?: BenchTensor[][];
}

export function dataFromFiles(files: readonly DataFile[], inputs: readonly IoSummary[]): BenchData {
  if (files.length === 0) throw new AppError('invalid-argument', 'no input files chosen');
  if (files.length === 1) {
    const f = files[0];
    const lower = f.name.toLowerCase();
    if (lower.endsWith('.csv')) return { labeled: parseLabeledCsv(f.name, new TextDecoder().decode(f.bytes), inputs) };
    if (lower.endsWith('.json')) {
      const json = parseJsonText(f.name, f.bytes);
      const labeled = Array.isArray(json) || (json !== null && typeof json === 'object' && 'labels' in json);
      if (labeled) return { labeled: parseLabeledJson(f.name, json, inputs) };
      return { sets: [inputsFromJsonObject(f.name, json, inputs)] };
    }
  }
  const sets: BenchTensor[][] = [];
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const lower = f.name.toLowerCase();
    if (lower.endsWith('.npy')) sets.push(...setsFromNpyFile(f.name, f.bytes, inputs));
    else if (lower.endsWith('.npz')) sets.push(inputsFromNpzFile(f.name, f.bytes, inputs));
    else if (lower.endsWith('.json')) sets.push(inputsFromJsonObject(f.name, parseJsonText(f.name, f.bytes), inputs));
    else throw new AppError('invalid-argument', `${f.name}: give input sets as .npy, .npz or .json files (or one labeled .json / .csv)`);
  }
  return { sets };
}
