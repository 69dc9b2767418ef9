/** `convert`: re-encode a model, moving weights into (--external-data) or out of (--inline) a data file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { encodeModel } from '../onnx/codec';
import { checkLocation, externalReferences, externalizeData, inlineExternalData } from '../onnx/external';
import { loadModelFromPath } from './fs-model';

export interface ConvertArgs {
  model: string;
  out: string;
  externalData?: string;
  inline?: boolean;
}

function writeFile(file: string, bytes: Uint8Array): void {
  try {
    fs.writeFileSync(file, bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AppError('io', `Cannot write ${file}: ${code ?? (e instanceof Error ? e.message : String(e))}.`);
  }
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

/** Checks OUT before any work: its folder exists and it is not a folder itself. */
function checkOut(out: string): void {
  const dir = path.dirname(path.resolve(out));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) throw new AppError('invalid-argument', `The output folder ${path.dirname(out)} does not exist.`);
  try {
    if (fs.statSync(out).isDirectory()) throw new AppError('invalid-argument', `--out ${out} is a folder; give a file name.`);
  } catch (e) {
    if (e instanceof AppError) throw e;
  }
}

/** Runs the conversion; returns the lines to print. */
export function convert(args: ConvertArgs): string[] {
  if (args.inline && args.externalData !== undefined) {
    throw new AppError('invalid-argument', 'Use either --external-data NAME or --inline, not both.');
  }
  const dataName = args.externalData === undefined ? undefined : checkLocation(args.externalData);
  checkOut(args.out);
  const loaded = loadModelFromPath(args.model);
  const outDir = path.dirname(path.resolve(args.out));
  const lines: string[] = [];
  try {
    if (args.inline) {
      const model = inlineExternalData(loaded.model, loaded.external, { baseSize: loaded.fileSize });
      const bytes = encodeModel(model);
      writeFile(args.out, bytes);
      lines.push(`Wrote ${args.out} (${formatBytes(bytes.length)}, all weights inline)`);
    } else if (dataName !== undefined) {
      const dataPath = path.join(outDir, ...dataName.split('/'));
      if (sameFile(dataPath, args.out)) throw new AppError('invalid-argument', 'The external data file cannot be the output model itself.');
      if (sameFile(dataPath, args.model)) throw new AppError('invalid-argument', 'The external data file cannot be the input model.');
      const { model, data } = externalizeData(loaded.model, dataName, { resolver: loaded.external });
      const bytes = encodeModel(model);
      fs.mkdirSync(path.dirname(dataPath), { recursive: true });
      writeFile(dataPath, data);
      writeFile(args.out, bytes);
      lines.push(`Wrote ${args.out} (${formatBytes(bytes.length)}) and ${dataPath} (${formatBytes(data.length)})`);
    } else {
      const bytes = encodeModel(loaded.model);
      // External data keeps its locations: copy the data files beside OUT when it goes elsewhere.
      const copied: string[] = [];
      for (const loc of new Set(externalReferences(loaded.model).map((r) => r.location))) {
        const from = loaded.external.pathOf(loc);
        const to = path.join(outDir, ...loc.split('/'));
        if (sameFile(from, to)) continue;
        fs.mkdirSync(path.dirname(to), { recursive: true });
        try {
          fs.copyFileSync(from, to);
        } catch (e) {
          throw new AppError('io', `Cannot copy external data ${from} to ${to}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
        }
        copied.push(to);
      }
      writeFile(args.out, bytes);
      lines.push(`Wrote ${args.out} (${formatBytes(bytes.length)})${copied.length ? ` and copied ${copied.join(', ')}` : ''}`);
    }
  } finally {
    loaded.external.close();
  }
  if (loaded.renamedNodes) lines.push(`${loaded.renamedNodes} nodes with empty or repeated names were given unique names.`);
  return lines;
}
