/**
 * Labeled data sets for accuracy: the sample's JSON format (public/sample/digits-test.json), a
 * JSON list of {input, label}, a CSV of values and labels, or images in one folder per class (the
 * worker decodes those and hands pixels to image.ts; this file only maps class names to labels).
 * Samples are float32 values of one model input, per-sample dims without the batch axis.
 */
import { AppError } from '../core/errors';
import { float32ToFloat16 } from '../core/float16';
import type { IoSummary } from '../onnx/summary';
import { flattenNested } from './parse-inputs';
import { allocate, elementCount, type BenchTensor, type TensorDtype } from './tensor';

export interface LabeledSet {
  /** where it came from, e.g. "digits-test.json" */
  source: string;
  inputName: string;
  /** dims of one sample, without the batch axis */
  sampleDims: number[];
  /** class index -> name (may be empty: classes are indices) */
  classNames: string[];
  labels: Int32Array;
  /** every sample's values, one after another */
  data: Float32Array;
}

const bad = (msg: string) => new AppError('invalid-argument', msg);

/**
 * The model input a labeled set feeds (the only input, or the one named) and the dims of one sample:
 * the input's dims without the batch axis (symbolic dims sized by `dimValues`, else inferred from
 * the sample length when there is one).
 */
export function labeledTarget(
  where: string,
  inputs: readonly IoSummary[],
  inputName: string | undefined,
  sampleLength: number,
  declaredDims?: number[],
): { io: IoSummary; sampleDims: number[] } {
  const io = inputName !== undefined ? inputs.find((i) => i.name === inputName) : inputs.length === 1 ? inputs[0] : undefined;
  if (!io) {
    throw bad(
      inputName !== undefined
        ? `${where}: "${inputName}" names no input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`
        : `${where}: the model has ${inputs.length} inputs; say which one with "inputName"`,
    );
  }
  if (io.dtype !== 'float32' && io.dtype !== 'float16' && io.dtype !== 'float64' && io.dtype !== 'uint8') {
    throw bad(`${where}: the model's input "${io.name}" is ${io.dtype}; labeled sets feed float or uint8 inputs`);
  }
  const shape = io.shape ?? [];
  const rest = shape.slice(1);
  if (declaredDims) {
    const dims = declaredDims.length === shape.length && declaredDims[0] === 1 ? declaredDims.slice(1) : declaredDims;
    const fits = dims.length === rest.length && rest.every((d, i) => typeof d !== 'number' || d < 0 || d === dims[i]);
    if (!fits) throw bad(`${where}: samples of shape [${declaredDims.join(', ')}] do not fit the model's input "${io.name}" [${shape.join(', ')}]`);
    if (elementCount(dims) !== sampleLength) throw bad(`${where}: a sample has ${sampleLength} values, shape [${dims.join(', ')}] needs ${elementCount(dims)}`);
    return { io, sampleDims: dims };
  }
  const known = rest.reduce<number>((p, d) => (typeof d === 'number' && d >= 0 ? p * d : p), 1);
  const unknown = rest.filter((d) => typeof d !== 'number' || d < 0).length;
  if (unknown === 0 && known === sampleLength) return { io, sampleDims: rest as number[] };
  if (unknown === 1 && sampleLength % known === 0) {
    return { io, sampleDims: rest.map((d) => (typeof d === 'number' && d >= 0 ? d : sampleLength / known)) };
  }
  throw bad(`${where}: a sample has ${sampleLength} values; the model's input "${io.name}" [${shape.join(', ')}] needs ${unknown ? 'a "shape"' : known}`);
}

function labelIndex(where: string, v: unknown, classNames: string[]): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const k = classNames.indexOf(v);
    if (k >= 0) return k;
    if (/^\d+$/.test(v.trim())) return Number(v.trim());
    throw bad(`${where}: label "${v}" is not a class index${classNames.length ? ` or one of the class names (${classNames.slice(0, 5).join(', ')}${classNames.length > 5 ? ', …' : ''})` : ''}`);
  }
  throw bad(`${where}: label ${JSON.stringify(v)} is not a class index`);
}

function numbers(where: string, v: unknown): { dims: number[]; values: number[] } {
  const { dims, values } = flattenNested(where, v);
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number' || !Number.isFinite(values[i])) throw bad(`${where}: value ${i} is ${JSON.stringify(values[i])}, not a finite number`);
  }
  return { dims, values: values as number[] };
}

/**
 * A labeled set from JSON: either the sample's format
 *   {"inputName"?, "shape"?, "classNames"?, "labels": [...], "inputs": [[...], ...]}
 * or a list [{"input": nested array, "label": index or class name}, ...].
 */
export function parseLabeledJson(file: string, json: unknown, inputs: readonly IoSummary[]): LabeledSet {
  let classNames: string[] = [];
  let rawInputs: unknown[];
  let rawLabels: unknown[];
  let inputName: string | undefined;
  let declared: number[] | undefined;
  if (Array.isArray(json)) {
    rawInputs = [];
    rawLabels = [];
    json.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || !('label' in item) || !('input' in item)) throw bad(`${file}: item ${i} is not {"input": [...], "label": ...}`);
      rawInputs.push((item as { input: unknown }).input);
      rawLabels.push((item as { label: unknown }).label);
    });
  } else if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    if (!Array.isArray(o.inputs) || !Array.isArray(o.labels)) throw bad(`${file}: expected {"inputs": [...], "labels": [...]} or a list of {"input", "label"}`);
    rawInputs = o.inputs;
    rawLabels = o.labels;
    if (o.classNames !== undefined) {
      if (!Array.isArray(o.classNames) || o.classNames.some((c) => typeof c !== 'string')) throw bad(`${file}: "classNames" must be a list of strings`);
      classNames = o.classNames as string[];
    }
    if (o.inputName !== undefined) {
      if (typeof o.inputName !== 'string') throw bad(`${file}: "inputName" must be a string`);
      inputName = o.inputName;
    }
    if (o.shape !== undefined) {
      if (!Array.isArray(o.shape) || o.shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1)) throw bad(`${file}: "shape" must be a list of sizes`);
      declared = o.shape as number[];
    }
  } else throw bad(`${file}: expected {"inputs": [...], "labels": [...]} or a list of {"input", "label"}`);
  if (rawInputs.length !== rawLabels.length) throw bad(`${file}: ${rawInputs.length} inputs but ${rawLabels.length} labels`);
  if (rawInputs.length === 0) throw bad(`${file} holds no labeled samples`);
  const first = numbers(`${file}: input 0`, rawInputs[0]);
  const { io, sampleDims } = labeledTarget(file, inputs, inputName, first.values.length, declared ?? (first.dims.length > 1 ? first.dims : undefined));
  const per = elementCount(sampleDims);
  const data = new Float32Array(per * rawInputs.length);
  const labels = new Int32Array(rawInputs.length);
  rawInputs.forEach((v, i) => {
    const { values } = i === 0 ? first : numbers(`${file}: input ${i}`, v);
    if (values.length !== per) throw bad(`${file}: input ${i} has ${values.length} values, not ${per}`);
    data.set(values, i * per);
    labels[i] = labelIndex(`${file}: label ${i}`, rawLabels[i], classNames);
  });
  return { source: file, inputName: io.name, sampleDims, classNames, labels, data };
}

/** Splits a CSV line (quotes with "" escapes, commas or semicolons or tabs). */
function splitCsv(line: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

const LABEL_COLUMNS = ['label', 'labels', 'class', 'target', 'y', 'digit'];

/**
 * A labeled set from CSV: one sample per row, its values in the model input's order (row-major),
 * and its label in the column named label/class/target/y (with a header), else the first column.
 * A header is a first row with a cell that is not a number.
 */
export function parseLabeledCsv(file: string, text: string, inputs: readonly IoSummary[]): LabeledSet {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw bad(`${file} is empty`);
  const sep = [',', ';', '\t'].map((s) => [s, lines[0].split(s).length] as const).sort((a, b) => b[1] - a[1])[0][0];
  let rows = lines.map((l) => splitCsv(l, sep));
  const isNum = (s: string) => s !== '' && Number.isFinite(Number(s));
  let labelCol = 0;
  const header = rows[0].some((c) => !isNum(c)) ? rows[0] : undefined;
  if (header) {
    rows = rows.slice(1);
    const named = header.findIndex((h) => LABEL_COLUMNS.includes(h.toLowerCase()));
    if (named >= 0) labelCol = named;
  }
  if (rows.length === 0) throw bad(`${file} has a header but no rows`);
  const width = rows[0].length;
  if (width < 2) throw bad(`${file}: a row needs a label and at least one value`);
  const classNames: string[] = [];
  const labelsRaw = rows.map((r) => r[labelCol]);
  const numericLabels = labelsRaw.every((l) => /^\d+$/.test(l));
  if (!numericLabels) {
    // class names sorted, as an image folder per class would be
    classNames.push(...[...new Set(labelsRaw)].sort());
  }
  const { io, sampleDims } = labeledTarget(file, inputs, undefined, width - 1);
  const per = width - 1;
  const data = new Float32Array(per * rows.length);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    if (r.length !== width) throw bad(`${file}: row ${i + 1 + (header ? 1 : 0)} has ${r.length} columns, not ${width}`);
    let k = 0;
    r.forEach((cell, c) => {
      if (c === labelCol) return;
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) throw bad(`${file}: row ${i + 1 + (header ? 1 : 0)}, column ${c + 1}: "${cell}" is not a number`);
      data[i * per + k++] = v;
    });
    labels[i] = numericLabels ? Number(r[labelCol]) : classNames.indexOf(r[labelCol]);
  });
  return { source: file, inputName: io.name, sampleDims, classNames, labels, data };
}

/**
 * Class index per folder name for a folder-per-class image set: when every name is a whole number
 * it is the index; else the names sorted (the order torchvision's ImageFolder uses).
 */
export function classIndexByFolder(folders: readonly string[]): { classNames: string[]; index: Map<string, number> } {
  const unique = [...new Set(folders)];
  if (unique.every((f) => /^\d+$/.test(f))) {
    const max = Math.max(...unique.map(Number));
    return { classNames: Array.from({ length: max + 1 }, (_, i) => String(i)), index: new Map(unique.map((f) => [f, Number(f)])) };
  }
  const sorted = unique.sort();
  return { classNames: sorted, index: new Map(sorted.map((f, i) => [f, i])) };
}

/** float32 values as a typed array of the input's dtype (uint8 values must be whole numbers 0..255). */
export function castValues(where: string, values: Float32Array, dtype: TensorDtype): BenchTensor['data'] {
  switch (dtype) {
    case 'float32':
      return values;
    case 'float64':
      return Float64Array.from(values);
    case 'float16': {
      const out = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16(values[i]);
      return out;
    }
    case 'uint8': {
      const out = allocate('uint8', values.length) as Uint8Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!Number.isInteger(v) || v < 0 || v > 255) throw bad(`${where}: ${v} is not a uint8 value`);
        out[i] = v;
      }
      return out;
    }
    default:
      throw bad(`${where}: labeled sets feed float or uint8 inputs, not ${dtype}`);
  }
}

/** The samples [start, start + count) of a set as one batched input tensor [count, ...sampleDims]. */
export function labeledBatch(set: LabeledSet, dtype: TensorDtype, start: number, count: number): BenchTensor {
  const per = elementCount(set.sampleDims);
  const n = Math.max(0, Math.min(count, set.labels.length - start));
  const values = set.data.subarray(start * per, (start + n) * per);
  return {
    name: set.inputName,
    dtype,
    dims: [n, ...set.sampleDims],
    data: castValues(set.source, dtype === 'float32' ? values.slice() : values, dtype),
  };
}
