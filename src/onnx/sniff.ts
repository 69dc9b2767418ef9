/**
 * Cheap format detection before a full parse. Looks at magic bytes and walks only the top-level
 * protobuf tags of the file (skipping each field's body), so it costs microseconds even on a
 * multi-gigabyte model. A file that is not ONNX gets a one-line message saying what it looks
 * like and, where there is one, what to do instead.
 */

export type SniffResult =
  | { ok: true }
  | { ok: false; code: 'empty-file' | 'not-onnx' | 'truncated'; message: string };

const notOnnx = (message: string): SniffResult => ({ ok: false, code: 'not-onnx', message });

/** ModelProto field number -> wire type (0 varint, 2 length-delimited). */
const MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 0], // ir_version
  [2, 2], // producer_name
  [3, 2], // producer_version
  [4, 2], // domain
  [5, 0], // model_version
  [6, 2], // doc_string
  [7, 2], // graph
  [8, 2], // opset_import
  [14, 2], // metadata_props
  [20, 2], // training_info
  [25, 2], // functions
  [26, 2], // configuration
]);

/** GraphProto fields are all length-delimited. */
const GRAPH_FIELDS: ReadonlySet<number> = new Set([1, 2, 5, 10, 11, 12, 13, 14, 15, 16]);

/** Most top-level fields walked; real models have a handful (metadata can add hundreds). */
const MAX_TOP_FIELDS = 100_000;

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function startsWith(bytes: Uint8Array, text: string, at = 0): boolean {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function indexOfAscii(bytes: Uint8Array, text: string, from: number, to: number): number {
  const end = Math.min(to, bytes.length) - text.length;
  const first = text.charCodeAt(0);
  outer: for (let i = Math.max(0, from); i <= end; i++) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < text.length; j++) if (bytes[i + j] !== text.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}

interface Cursor {
  pos: number;
}

/** Reads a varint as a number (exact up to 2^53); undefined when it runs off the end or is over 10 bytes. */
function readVarint(bytes: Uint8Array, c: Cursor): number | undefined {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= bytes.length) return undefined;
    const b = bytes[c.pos++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  return Number.NaN; // over-long varint
}

interface Field {
  no: number;
  wire: number;
  start: number;
  /** end of the body; may lie past the end of the bytes for the field a truncated walk stopped at */
  end: number;
}

type WalkResult =
  | { kind: 'ok'; fields: Field[] }
  | { kind: 'truncated'; fields: Field[] }
  | { kind: 'invalid' };

/**
 * Walks the tags of one protobuf message body in bytes[start, end). Skips bodies. `accept`
 * decides whether a (field, wire) pair is allowed. `limit` caps the fields walked.
 */
function walkMessage(
  bytes: Uint8Array,
  start: number,
  end: number,
  accept: (no: number, wire: number, index: number) => boolean,
  limit: number,
): WalkResult {
  const c: Cursor = { pos: start };
  const fields: Field[] = [];
  while (c.pos < end && fields.length < limit) {
    const tag = readVarint(bytes, c);
    if (tag === undefined) return { kind: 'truncated', fields };
    if (Number.isNaN(tag) || tag > 0xffffffff) return { kind: 'invalid' };
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (no === 0 || !accept(no, wire, fields.length)) return { kind: 'invalid' };
    let bodyStart = c.pos;
    let bodyEnd: number;
    switch (wire) {
      case 0: {
        const v = readVarint(bytes, c);
        if (v === undefined) return { kind: 'truncated', fields };
        if (Number.isNaN(v)) return { kind: 'invalid' };
        bodyEnd = c.pos;
        break;
      }
      case 1:
        bodyEnd = c.pos + 8;
        break;
      case 5:
        bodyEnd = c.pos + 4;
        break;
      case 2: {
        const len = readVarint(bytes, c);
        if (len === undefined) return { kind: 'truncated', fields };
        if (Number.isNaN(len)) return { kind: 'invalid' };
        bodyStart = c.pos;
        bodyEnd = c.pos + len;
        break;
      }
      default:
        return { kind: 'invalid' };
    }
    fields.push({ no, wire, start: bodyStart, end: bodyEnd });
    if (bodyEnd > end) return { kind: 'truncated', fields };
    c.pos = bodyEnd;
  }
  return { kind: 'ok', fields };
}

/** True when the bytes read as short human text (no control characters but tab/newline/CR). */
function isPlainText(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
    if (b === 0x7f) return false;
  }
  return true;
}

function zipMessage(bytes: Uint8Array): SniffResult {
  // Walk a few local file headers at the front, then look at the tail (central directory).
  const names: string[] = [];
  let pos = 0;
  for (let i = 0; i < 16 && startsWith(bytes, 'PK\x03\x04', pos) && pos + 30 <= bytes.length; i++) {
    const flags = bytes[pos + 6] | (bytes[pos + 7] << 8);
    const compSize =
      (bytes[pos + 18] | (bytes[pos + 19] << 8) | (bytes[pos + 20] << 16) | (bytes[pos + 21] << 24)) >>> 0;
    const nameLen = bytes[pos + 26] | (bytes[pos + 27] << 8);
    const extraLen = bytes[pos + 28] | (bytes[pos + 29] << 8);
    names.push(ascii(bytes, pos + 30, pos + 30 + nameLen));
    if (flags & 0x08 || compSize === 0xffffffff) break; // sizes follow the data; stop walking
    pos += 30 + nameLen + extraLen + compSize;
  }
  const has = (s: string) =>
    names.some((n) => n === s || n.endsWith('/' + s)) ||
    indexOfAscii(bytes, s, 0, 65536) >= 0 ||
    indexOfAscii(bytes, s, bytes.length - 65536, bytes.length) >= 0;
  if (has('data.pkl')) {
    return notOnnx(
      'This is a PyTorch checkpoint (zip with data.pkl), not ONNX. Export it with torch.onnx.export first.',
    );
  }
  if (has('config.json') && has('model.weights.h5')) {
    return notOnnx('This is a Keras 3 archive (.keras), not ONNX. Convert it with tf2onnx first.');
  }
  const onnxName = names.find((n) => n.toLowerCase().endsWith('.onnx'));
  if (onnxName) {
    return notOnnx(`This is a zip archive containing ${onnxName}; unzip it and open the .onnx file.`);
  }
  if (names.some((n) => n.endsWith('.npy'))) {
    return notOnnx('This is a NumPy .npz archive (arrays), not an ONNX model.');
  }
  return notOnnx('This is a zip archive, not an ONNX model; unzip it and open the .onnx file inside.');
}

function textMessage(bytes: Uint8Array): SniffResult | undefined {
  let start = 0;
  if (startsWith(bytes, '\xef\xbb\xbf')) start = 3;
  while (start < bytes.length && start < 4096 && /\s/.test(String.fromCharCode(bytes[start]))) start++;
  const head = ascii(bytes, start, Math.min(bytes.length, start + 4096));
  const window = Math.min(bytes.length, 4096);
  // Text if the first KB has no control bytes (UTF-8 multibyte sequences are >= 0x80, allowed).
  if (!isPlainText(bytes, 0, Math.min(window, 1024))) return undefined;
  const lower = head.toLowerCase();
  if (head.startsWith('version https://git-lfs')) {
    return notOnnx(
      'This is a Git LFS pointer file, not the model itself. Fetch the real file (git lfs pull).',
    );
  }
  if (head.startsWith('{') || head.startsWith('[')) {
    if (head.includes('onnx-compression-recipe')) {
      return notOnnx(
        'This is a compression recipe (JSON), not a model. Open the model first, then apply the recipe.',
      );
    }
    return notOnnx('This is a JSON file, not an ONNX model.');
  }
  if (lower.startsWith('<!doctype html') || lower.startsWith('<html') || lower.includes('<head>')) {
    return notOnnx(
      'This is an HTML page (perhaps an error page saved instead of the model), not an ONNX model.',
    );
  }
  if (lower.startsWith('<?xml')) return notOnnx('This is an XML file, not an ONNX model.');
  if (/\bir_version\s*[:=]/.test(head)) {
    return notOnnx(
      'This is an ONNX model in text form, not the binary .onnx format. Convert it with onnx.parser / onnx.save first.',
    );
  }
  return notOnnx('This is a text file, not an ONNX model.');
}

function protobufMessage(bytes: Uint8Array): SniffResult | undefined {
  const acceptAny = (_no: number, wire: number) => wire === 0 || wire === 1 || wire === 2 || wire === 5;
  const walk = walkMessage(bytes, 0, bytes.length, acceptAny, 64);
  if (walk.kind === 'invalid' || walk.fields.length === 0) return undefined;
  const fields = walk.fields;
  const first = fields[0];
  // SavedModel: saved_model_schema_version (1, varint) then meta_graphs (2, message).
  if (first && first.no === 1 && first.wire === 0 && fields[1]?.no === 2 && fields[1].wire === 2) {
    return notOnnx(
      'This looks like a TensorFlow SavedModel (saved_model.pb), not ONNX. Convert it with tf2onnx first.',
    );
  }
  // TensorProto test data (input_0.pb): dims (1), data_type (2, varint), raw_data (9).
  if (fields.some((f) => f.no === 2 && f.wire === 0) && fields.some((f) => f.no === 9 && f.wire === 2)) {
    return notOnnx('This is a single ONNX tensor (TensorProto .pb), not a model.');
  }
  // GraphDef: repeated node (1, message), library (2), versions (4, message).
  if (first && first.no === 1 && first.wire === 2) {
    return notOnnx(
      'This looks like a TensorFlow GraphDef (frozen .pb), not ONNX. Convert it with tf2onnx first.',
    );
  }
  return notOnnx(
    'This is a protobuf file, but not an ONNX model (perhaps a TensorFlow or Caffe model). Convert it to ONNX first.',
  );
}

/** The sniffer's verdict on whether bytes are an ONNX ModelProto; see SniffResult. */
export function sniffFormat(bytes: Uint8Array): SniffResult {
  const n = bytes.length;
  if (n === 0) return { ok: false, code: 'empty-file', message: 'The file is empty (0 bytes).' };

  // Magic numbers at the start of formats people drop by mistake (none can start an ONNX file).
  if (startsWith(bytes, 'PK\x03\x04') || startsWith(bytes, 'PK\x05\x06')) return zipMessage(bytes);
  if (bytes[0] === 0x80 && n >= 2 && bytes[1] >= 2 && bytes[1] <= 5) {
    return notOnnx(
      'This is a Python pickle (e.g. a legacy PyTorch checkpoint), not ONNX. Export it with torch.onnx.export first.',
    );
  }
  if (startsWith(bytes, '\x89HDF\r\n\x1a\n')) {
    return notOnnx('This is an HDF5 file (e.g. a Keras .h5 model), not ONNX. Convert it with tf2onnx first.');
  }
  if (startsWith(bytes, '\x93NUMPY')) return notOnnx('This is a NumPy .npy array, not an ONNX model.');
  if (startsWith(bytes, '\x89PNG\r\n\x1a\n')) return notOnnx('This is a PNG image, not an ONNX model.');
  if (n >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return notOnnx('This is a JPEG image, not an ONNX model.');
  }
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) {
    return notOnnx('This is a GIF image, not an ONNX model.');
  }
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) {
    return notOnnx('This is a WebP image, not an ONNX model.');
  }
  if (
    startsWith(bytes, 'BM') &&
    n >= 14 &&
    (bytes[2] | (bytes[3] << 8) | (bytes[4] << 16) | (bytes[5] << 24)) >>> 0 === n &&
    bytes[6] === 0 &&
    bytes[7] === 0 &&
    bytes[8] === 0 &&
    bytes[9] === 0
  ) {
    return notOnnx('This is a BMP image, not an ONNX model.');
  }
  if (n >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    return notOnnx('This file is gzip-compressed; decompress it first (e.g. gunzip model.onnx.gz).');
  }
  if (startsWith(bytes, 'BZh')) {
    return notOnnx('This file is bzip2-compressed; decompress it first.');
  }
  if (startsWith(bytes, '\xfd7zXZ\x00')) return notOnnx('This file is xz-compressed; decompress it first.');
  if (startsWith(bytes, '7z\xbc\xaf\x27\x1c')) {
    return notOnnx('This is a 7-Zip archive; extract the .onnx file from it first.');
  }
  if (startsWith(bytes, '%PDF')) return notOnnx('This is a PDF document, not an ONNX model.');
  // Text: no control characters in the first KB. A binary ModelProto always has some (its field
  // tags and lengths), so this never refuses a real model.
  const text = textMessage(bytes);
  if (text) return text;

  // An ONNX ModelProto: every top-level tag must be a ModelProto field with the right wire type
  // (unknown fields from a newer ONNX are allowed after the first).
  const acceptModel = (no: number, wire: number, index: number): boolean => {
    const expected = MODEL_FIELDS.get(no);
    if (expected !== undefined) return wire === expected;
    return index > 0 && (wire === 0 || wire === 1 || wire === 2 || wire === 5);
  };
  const walk = walkMessage(bytes, 0, n, acceptModel, MAX_TOP_FIELDS);
  if (walk.kind !== 'invalid') {
    const fields = walk.fields;
    const plausible =
      walk.kind === 'truncated' ? isModelStart(bytes) && modelFieldsPlausible(bytes, fields) : modelFieldsPlausible(bytes, fields);
    if (plausible) {
      if (walk.kind === 'truncated') {
        return {
          ok: false,
          code: 'truncated',
          message: `The file ends early (${n} bytes): it looks like a truncated ONNX model. The download or copy may be incomplete.`,
        };
      }
      if (!fields.some((f) => f.no === 7 || f.no === 25)) {
        return {
          ok: false,
          code: 'truncated',
          message: `The file has no graph (${n} bytes): it looks like a truncated ONNX model.`,
        };
      }
      return { ok: true };
    }
  }

  // Signatures away from offset 0 are checked only once the file is known not to be ONNX.
  if (startsWith(bytes, 'TFL3', 4)) {
    return notOnnx(
      'This is a TensorFlow Lite model (flatbuffer), not ONNX. Convert it with tf2onnx first.',
    );
  }
  if (startsWith(bytes, 'ORTM', 4)) {
    return notOnnx(
      'This is an ONNX Runtime format model (.ort), not ONNX. Open the .onnx file it was made from.',
    );
  }
  if (startsWith(bytes, 'ustar', 257)) {
    return notOnnx('This is a tar archive; extract the .onnx file from it first.');
  }
  if (n >= 9 && bytes[8] === 0x7b /* '{' */) {
    let headerLen = 0;
    for (let i = 7; i >= 0; i--) headerLen = headerLen * 256 + bytes[i];
    if (headerLen > 1 && headerLen <= n - 8) {
      return notOnnx(
        'This is a safetensors weights file, not an ONNX model. Export the model to ONNX (e.g. with optimum) first.',
      );
    }
  }

  return (
    protobufMessage(bytes) ??
    notOnnx('This file is not an ONNX model (it does not start like an ONNX ModelProto).')
  );
}

/** The first tag is a ModelProto field with the right wire type (used when the walk ran out early). */
function isModelStart(bytes: Uint8Array): boolean {
  const c: Cursor = { pos: 0 };
  const tag = readVarint(bytes, c);
  if (tag === undefined || Number.isNaN(tag)) return false;
  const expected = MODEL_FIELDS.get(Math.floor(tag / 8));
  return expected !== undefined && expected === tag % 8;
}

/** Looks inside the small string fields and the first tag of the graph. */
function modelFieldsPlausible(bytes: Uint8Array, fields: Field[]): boolean {
  for (const f of fields) {
    const end = Math.min(f.end, bytes.length);
    if (f.no === 2 || f.no === 3 || f.no === 4) {
      // producer_name, producer_version, domain: short text
      if (f.end - f.start > 4096 || !isPlainText(bytes, f.start, end)) return false;
    } else if (f.no === 7 && end > f.start) {
      const inner = walkMessage(bytes, f.start, end, (no, wire) => GRAPH_FIELDS.has(no) && wire === 2, 1);
      if (inner.kind === 'invalid') return false;
    } else if (f.no === 8 && end > f.start) {
      // opset_import: domain (1, string), version (2, varint)
      const inner = walkMessage(
        bytes,
        f.start,
        end,
        (no, wire) => (no === 1 && wire === 2) || (no === 2 && wire === 0),
        4,
      );
      if (inner.kind === 'invalid') return false;
    }
  }
  return true;
}
