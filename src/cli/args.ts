/** Command-line parsing with one-line errors (AppError 'invalid-argument'). */
import { AppError } from '../core/errors';
import { DATA_FLAGS, type DataFlags } from './data';

export const USAGE = `ONNX Compression Studio CLI

Usage:
  npm run cli -- inspect MODEL [--json]
      A readable summary of MODEL: inputs, outputs, operators, layers and their weights.
      --json prints the summary as JSON (irVersion, opsets, inputs, outputs, nodeCount,
      opCounts, params, weightBytes, layers, ...).

  npm run cli -- convert MODEL --out OUT [--external-data NAME | --inline]
      Rewrites MODEL as OUT. With no option the model is re-encoded as it is (external data
      files it uses are copied beside OUT). --external-data NAME moves every tensor of 1 KB
      or more into the file NAME beside OUT; --inline pulls external data into OUT itself
      (one file, at most 2 GB).

  npm run cli -- compress MODEL --recipe RECIPE.json --out OUT.onnx [--external-data NAME]
                    [--samples DIR|FILE [DATA] | --synthesize-samples]
                    [--recovery none|bias|gptq|sequential] [--recovery-rounds N] [--equalize] [--clip-search] [--act-order] [--both-orders] [--json]
      Applies a compression recipe (format: RECIPE.md) to MODEL and writes OUT.onnx, one file
      with every weight inline: the same bytes the studio's Compress button gives. A result
      that would pass 2 GB as one file (protobuf's limit) keeps its weights in OUT.onnx.data
      beside it, and says so; --external-data NAME puts every tensor of 1 KB or more in the
      file NAME beside OUT whatever the size. Prints a
      per-layer table (requested, applied encoding, bytes before and after, notes and errors),
      or with --json the whole report. --samples DIR: calibration inputs for int8 activations,
      one sample per .json file ({"input": nested array or {"dims": [...], "data": [...]}}),
      or per .npy file for a one-input model, or per sub-folder of <input>.npy files, or images
      or .wav audio prepared by the DATA options below.
      --synthesize-samples: calibrate on 8 random N(0, 1) input sets instead, as the studio
      does (ranges of random data, not of yours: give real samples where you have them).
      A bad recipe exits with 2 and names the key.
      --recovery MODE, --equalize, --clip-search, --act-order, --both-orders (orderSearch) set those recipe keys in the recipe's defaults
      (RECIPE-NOTES.md): recovery needs --samples (its calibration part, with --calibration N).
      --recovery-rounds N: the rounds of recovery "sequential" (default 4): the recovered layers
      in N groups, each group's inputs from the model with the earlier groups compressed.

  npm run cli -- eval ORIGINAL COMPRESSED [--samples DIR|FILE [DATA]] [--threads N]
                    [--max-runs N] [--max-seconds S] [--json]
      Compares COMPRESSED with ORIGINAL in onnxruntime-node on the same inputs: fidelity per
      output (top-1 agreement, cosine, SQNR, KL, max abs error; worst and mean over input
      sets), labeled accuracy, and latency (session creation, first run, median/p90/p99 of runs
      repeated until the median is stable, throughput). --samples: a folder of input sets (the
      compress --samples format), or a labeled set: the sample's digits-test.json format, a list
      of {"input", "label"}, or a CSV of values and a label column. Without it, inputs are
      synthesized (a symbolic dim needs --dims unless it is a batch or its name says its size).
      --threads: onnxruntime's
      intra-op threads (default 1). The same code and inputs as the studio's Benchmark tab.

  npm run cli -- autotune MODEL (--max-size RATIO | --min-fidelity X [--fastest]) --out RECIPE.json
                    [--samples DIR|FILE [DATA]] [--metric accuracy|top1|cosine] [--no-prune]
                    [--target portable|wasm|webgpu] [--size stored|transfer] [--recovery gptq] [--json]
      Finds a per-layer recipe (int8/int4/fp16 and, unless --no-prune, magnitude pruning) for
      MODEL: measures every layer's sensitivity alone, then searches (greedy by sensitivity per
      byte saved, refined by measuring real candidate models in onnxruntime-node) for the best
      metric within a size budget (--max-size: a fraction of the original file, e.g. 0.15: the
      compressed file fits it; with --size transfer, of the estimated download size after
      zip-like compression, where magnitude pruning counts) or the smallest model whose metric
      stays at or above X (--min-fidelity). The metric: labeled accuracy when --samples is a
      labeled set, else the worst cosine similarity to the original's outputs; --metric
      chooses. Writes the recipe to RECIPE.json (apply it with compress) and prints the
      uniform settings and the choice (--json: everything, with the Pareto front).
      --fastest (with --min-fidelity X; target wasm): the fastest recipe whose metric stays at
      or above X instead of the smallest: int8 weights, int8 weights + int8 activations (the
      cost guard's choice per layer), and activations left off the 1, 2, 4 ... most sensitive
      layers, calibrated on the calibration part of --samples (else on 8 random input sets);
      the finalists and the original are timed side by side in onnxruntime-node (the CLI's
      runtime, not a browser). Prints the chosen recipe's time, the original's and the speed-up
      (original / compressed, > 1 faster).
      --recovery gptq: every candidate recovered (GPTQ, as the Explore tab's recovery switch),
      on H of each layer's inputs collected once on the calibration part of --samples (needed);
      the uniform settings are also measured without recovery, to show what it buys. Apply
      the recipe it writes with compress and the same --samples (the recipe asks for gptq).

  DATA (compress, eval, autotune): how --samples becomes model inputs
      --samples DIR|FILE   images (.png, .jpg; class sub-folders make a labeled set), audio
                           (.wav), tensors (.npy, .json, folders of <input>.npy) or a labeled
                           .json/.csv file
      --data data.json     the description the studio's Data place exports (flags override it)
      --image-size HxW     e.g. 48x320 (default: the model's fixed sides)
      --resize stretch|pad|crop   --layout nchw|nhwc   --channels rgb|bgr|gray
      --normalize 0to1|minus1to1|imagenet|0to255|mean=A,B,C,std=X,Y,Z  (mean/std on 0..1)
      --sample-rate HZ     audio is resampled to it and fills a rate input (sr)
      --dims NAME=N,...    sizes of symbolic dims
      --input NAME=V,...   values of inputs the files do not feed (else zeros, said)
      --feedback IN=OUT,...|none   recurrent state: each audio frame's input IN gets output
                           OUT of the frame before, run by the original model (default for
                           audio: every state input with a matching output, said)
      --calibration N      N samples calibrate (compress), the others evaluate (eval,
                           autotune); without it every sample does both, and it is said

  npm run cli -- --help

External data files are read from beside MODEL. Exit codes: 0 done, 2 bad input or options
(one line on stderr), 1 internal error.`;

export type Command =
  | { kind: 'help' }
  | { kind: 'inspect'; model: string; json: boolean }
  | { kind: 'convert'; model: string; out: string; externalData?: string; inline: boolean }
  | ({
      kind: 'compress';
      model: string;
      recipe: string;
      out: string;
      externalData?: string;
      synthesizeSamples?: boolean;
      json: boolean;
      /** --recovery, --equalize, --clip-search, --act-order, --both-orders: recipe keys set in the recipe's defaults */
      overrides?: { recovery?: 'none' | 'bias' | 'gptq' | 'sequential'; equalize?: boolean; clipSearch?: boolean; actOrder?: boolean; orderSearch?: boolean };
      /** --recovery-rounds N: sequential recovery in N rounds */
      recoveryRounds?: number;
    } & DataFlags)
  | ({
      kind: 'eval';
      original: string;
      compressed: string;
      threads?: number;
      maxRuns?: number;
      maxSeconds?: number;
      json: boolean;
    } & DataFlags)
  | ({
      kind: 'autotune';
      model: string;
      out: string;
      maxSize?: number;
      minFidelity?: number;
      metric?: 'accuracy' | 'top1' | 'cosine';
      target?: 'portable' | 'wasm' | 'webgpu';
      size?: 'stored' | 'transfer';
      prune: boolean;
      fastest?: boolean;
      recovery?: 'gptq';
      json: boolean;
    } & DataFlags);

const DATA_FLAG_NAMES = Object.keys(DATA_FLAGS);

/** The data flags given (src/cli/data.ts). */
function dataFlags(p: Parsed): DataFlags {
  const out: DataFlags = {};
  for (const [flag, key] of Object.entries(DATA_FLAGS)) {
    const v = p.flags.get(flag);
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

const bad = (msg: string) => new AppError('invalid-argument', `${msg} (see --help)`);

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function split(argv: string[], valued: Set<string>, known: Set<string>): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (!known.has(name)) throw bad(`Unknown option ${name}`);
      if (flags.has(name)) throw bad(`Option ${name} is given twice`);
      if (valued.has(name)) {
        let v: string | undefined;
        if (eq > 0) v = a.slice(eq + 1);
        else {
          v = argv[i + 1];
          i++;
        }
        if (v === undefined || v === '' || (eq < 0 && v.startsWith('--'))) throw bad(`Option ${name} needs a value`);
        flags.set(name, v);
      } else {
        if (eq > 0) throw bad(`Option ${name} takes no value`);
        flags.set(name, true);
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

/** --recovery, --equalize, --clip-search, --act-order, --both-orders: recipe keys for the recipe's defaults. */
function recipeOverrides(flags: Map<string, string | true>): { recovery?: 'none' | 'bias' | 'gptq' | 'sequential'; equalize?: boolean; clipSearch?: boolean; actOrder?: boolean; orderSearch?: boolean } {
  const recovery = flags.get('--recovery');
  if (recovery !== undefined && (typeof recovery !== 'string' || !['none', 'bias', 'gptq', 'sequential'].includes(recovery))) throw bad(`--recovery must be none, bias, gptq or sequential, not "${String(recovery)}"`);
  return {
    ...(typeof recovery === 'string' ? { recovery: recovery as 'none' | 'bias' | 'gptq' | 'sequential' } : {}),
    ...(flags.has('--equalize') ? { equalize: true } : {}),
    ...(flags.has('--clip-search') ? { clipSearch: true } : {}),
    ...(flags.has('--act-order') ? { actOrder: true } : {}),
    ...(flags.has('--both-orders') ? { orderSearch: true } : {}),
  };
}

export function parseArgs(argv: string[]): Command {
  if (argv.length === 0) throw bad('No command given');
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') return { kind: 'help' };
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help' };
  if (cmd === 'inspect') {
    const p = split(rest, new Set(), new Set(['--json']));
    if (p.positional.length === 0) throw bad('inspect needs a MODEL file');
    if (p.positional.length > 1) throw bad(`inspect takes one MODEL file, got ${p.positional.length}`);
    return { kind: 'inspect', model: p.positional[0], json: p.flags.has('--json') };
  }
  if (cmd === 'convert') {
    const p = split(rest, new Set(['--out', '--external-data']), new Set(['--out', '--external-data', '--inline']));
    if (p.positional.length === 0) throw bad('convert needs a MODEL file');
    if (p.positional.length > 1) throw bad(`convert takes one MODEL file, got ${p.positional.length}`);
    const out = p.flags.get('--out');
    if (typeof out !== 'string') throw bad('convert needs --out OUT');
    const ext = p.flags.get('--external-data');
    const inline = p.flags.has('--inline');
    if (inline && ext !== undefined) throw bad('Use either --external-data NAME or --inline, not both');
    return { kind: 'convert', model: p.positional[0], out, externalData: typeof ext === 'string' ? ext : undefined, inline };
  }
  if (cmd === 'compress') {
    const p = split(
      rest,
      new Set(['--recipe', '--out', '--external-data', '--recovery', '--recovery-rounds', ...DATA_FLAG_NAMES]),
      new Set(['--recipe', '--out', '--external-data', '--recovery', '--recovery-rounds', ...DATA_FLAG_NAMES, '--synthesize-samples', '--json', '--equalize', '--clip-search', '--act-order', '--both-orders']),
    );
    if (p.positional.length === 0) throw bad('compress needs a MODEL file');
    if (p.positional.length > 1) throw bad(`compress takes one MODEL file, got ${p.positional.length}`);
    const recipe = p.flags.get('--recipe');
    if (typeof recipe !== 'string') throw bad('compress needs --recipe RECIPE.json');
    const out = p.flags.get('--out');
    if (typeof out !== 'string') throw bad('compress needs --out OUT.onnx');
    const data = dataFlags(p);
    const synthesize = p.flags.has('--synthesize-samples');
    const ext = p.flags.get('--external-data');
    if (synthesize && data.samples !== undefined) throw bad('compress takes --samples DIR or --synthesize-samples, not both');
    const overrides = recipeOverrides(p.flags);
    const rounds = p.flags.get('--recovery-rounds');
    if (rounds !== undefined && (typeof rounds !== 'string' || !/^[1-9][0-9]*$/.test(rounds))) throw bad(`--recovery-rounds must be a whole number of 1 or more, not "${String(rounds)}"`);
    return {
      kind: 'compress',
      ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
      ...(typeof rounds === 'string' ? { recoveryRounds: Number(rounds) } : {}),
      model: p.positional[0],
      recipe,
      out,
      ...(typeof ext === 'string' ? { externalData: ext } : {}),
      ...data,
      ...(synthesize ? { synthesizeSamples: true } : {}),
      json: p.flags.has('--json'),
    };
  }
  if (cmd === 'eval') {
    const valued = [...DATA_FLAG_NAMES, '--threads', '--max-runs', '--max-seconds'];
    const p = split(rest, new Set(valued), new Set([...valued, '--json']));
    if (p.positional.length !== 2) throw bad(`eval needs ORIGINAL and COMPRESSED model files, got ${p.positional.length} file${p.positional.length === 1 ? '' : 's'}`);
    const num = (flag: string, min: number, integer: boolean): number | undefined => {
      const v = p.flags.get(flag);
      if (typeof v !== 'string') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw bad(`${flag} needs ${integer ? 'a whole number' : 'a number'} of at least ${min}, not "${v}"`);
      return n;
    };
    const out: Command = { kind: 'eval', original: p.positional[0], compressed: p.positional[1], json: p.flags.has('--json') };
    const threads = num('--threads', 1, true);
    const maxRuns = num('--max-runs', 1, true);
    const maxSeconds = num('--max-seconds', 0.01, false);
    return {
      ...out,
      ...dataFlags(p),
      ...(threads !== undefined ? { threads } : {}),
      ...(maxRuns !== undefined ? { maxRuns } : {}),
      ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    };
  }
  if (cmd === 'autotune') return parseAutotune(rest);
  throw bad(`Unknown command "${cmd}"`);
}

/** `autotune`'s flags (see USAGE). */
function parseAutotune(rest: string[]): Command {
  const valued = ['--max-size', '--min-fidelity', ...DATA_FLAG_NAMES, '--out', '--metric', '--target', '--size', '--recovery'];
  const p = split(rest, new Set(valued), new Set([...valued, '--json', '--no-prune', '--fastest']));
  if (p.positional.length !== 1) throw bad(`autotune needs one MODEL file, got ${p.positional.length}`);
  const str = (flag: string) => {
    const v = p.flags.get(flag);
    return typeof v === 'string' ? v : undefined;
  };
  const out = str('--out');
  if (out === undefined) throw bad('autotune needs --out RECIPE.json');
  const num = (flag: string, lo: number, hi: number): number | undefined => {
    const v = str(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= lo || n > hi) throw bad(`${flag} needs a number above ${lo} and at most ${hi}, not "${v}"`);
    return n;
  };
  const maxSize = num('--max-size', 0, 1);
  const minFidelity = num('--min-fidelity', -Infinity, Infinity);
  if ((maxSize === undefined) === (minFidelity === undefined)) throw bad('autotune needs one of --max-size RATIO or --min-fidelity X');
  const fastest = p.flags.has('--fastest');
  if (fastest && minFidelity === undefined) throw bad('--fastest needs a metric floor (--min-fidelity X), not --max-size');
  const metric = str('--metric');
  if (metric !== undefined && !['accuracy', 'top1', 'cosine'].includes(metric)) throw bad(`--metric must be accuracy, top1 or cosine, not "${metric}"`);
  const target = str('--target');
  if (target !== undefined && !['portable', 'wasm', 'webgpu'].includes(target)) throw bad(`--target must be portable, wasm or webgpu, not "${target}"`);
  if (fastest && target !== undefined && target !== 'wasm') throw bad(`--fastest searches int8 activations for target wasm, not "${target}"`);
  const size = str('--size');
  if (size !== undefined && size !== 'stored' && size !== 'transfer') throw bad(`--size must be stored or transfer, not "${size}"`);
  // the search with recovery is Explore's: gptq in every candidate, on one H per layer from the original's inputs
  const recovery = str('--recovery');
  if (recovery !== undefined && recovery !== 'gptq' && recovery !== 'none') throw bad(`autotune's --recovery is gptq (every candidate recovered) or none, not "${recovery}"`);
  return {
    kind: 'autotune',
    model: p.positional[0],
    out,
    ...(maxSize !== undefined ? { maxSize } : {}),
    ...(minFidelity !== undefined ? { minFidelity } : {}),
    ...dataFlags(p),
    ...(metric !== undefined ? { metric: metric as 'accuracy' | 'top1' | 'cosine' } : {}),
    ...(target !== undefined ? { target: target as 'portable' | 'wasm' | 'webgpu' } : {}),
    ...(size !== undefined ? { size: size as 'stored' | 'transfer' } : {}),
    prune: !p.flags.has('--no-prune'),
    ...(fastest ? { fastest } : {}),
    ...(recovery === 'gptq' ? { recovery } : {}),
    json: p.flags.has('--json'),
  };
}
