/**
 * Reading onnxruntime's messages: a failed session's error as one line a user understands, and
 * the nodes its verbose log says were placed on the CPU instead of the chosen provider.
 */
import { dtypeName } from '../onnx/tensor';
import type { Graph, Model } from '../onnx/types';

/** What the model holds that a refusal may name: read only when a backend refused it (failureContext). */
export interface FailureContext {
  /** every node of every graph: its name, op type, and whether it holds a subgraph (If, Loop, Scan bodies) */
  nodes?: readonly { name: string; opType: string; subgraph: boolean }[];
  /** the session's input names, in onnxruntime's order (input tensor[i]) */
  inputNames?: readonly string[];
  /** the main graph's inputs with their element types ("float16") */
  inputs?: readonly { name: string; dtype: string }[];
}

/** A refusal in the studio's words (one sentence: which node or input, and what to do), and onnxruntime's own text. */
export interface Failure {
  summary: string;
  raw: string;
}

const USE_OTHER = 'use wasm or WebGPU';
const MAX_NAMED = 3;

function labelOf(backend: string): string {
  return backend === 'webgl' ? 'WebGL' : backend === 'webgpu' ? 'WebGPU' : 'wasm';
}

/** "node gate (If)", "nodes a (Conv), b (Conv) and 2 more" */
function nodeList(nodes: readonly { name: string; opType: string }[]): string {
  const named = nodes.slice(0, MAX_NAMED).map((n) => `${n.name || '(unnamed)'} (${n.opType})`);
  const more = nodes.length - named.length;
  return `${nodes.length === 1 ? 'node' : 'nodes'} ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function ofType(ctx: FailureContext, opType: string): { name: string; opType: string }[] {
  return (ctx.nodes ?? []).filter((n) => n.opType === opType);
}

/** The first line of onnxruntime-web's "Failed to load model as ONNX format: Error: X\nas ORT format: …" is X. */
function coreMessage(message: string): string {
  const m = message.replace(/^Unexpected error: /, '');
  const onnx = /^Failed to load model as ONNX format: (?:Error: )?([^\n]*)/.exec(m);
  return onnx ? onnx[1] : m;
}

type Rule = (m: string, label: string, ctx: FailureContext) => string | undefined;

/** onnxruntime-web 1.30's WebGL refusals (captured in headless Chromium: src/testing/webgl-refusals.ts) and the shared ones. */
const RULES: Rule[] = [
  (m, label, ctx) => {
    if (!/graph attribute is not supported/.test(m)) return undefined;
    const nodes = (ctx.nodes ?? []).filter((n) => n.subgraph);
    const which = nodes.length > 0 ? nodeList(nodes) : "this model's If/Loop/Scan nodes";
    return `${label}: cannot run ${which}: subgraphs (the bodies of If, Loop and Scan) are not supported on ${label}; ${USE_OTHER}`;
  },
  (m, label, ctx) => {
    const t = /unsupported data type: (\w+)/.exec(m);
    if (!t) return undefined;
    const dtype = t[1].toLowerCase();
    const inputs = (ctx.inputs ?? []).filter((i) => i.dtype === dtype).map((i) => i.name);
    const where = inputs.length > 0 ? `input${inputs.length === 1 ? '' : 's'} ${inputs.slice(0, MAX_NAMED).join(', ')}` : 'a tensor of the model';
    return `${label}: cannot load ${dtype} tensors (${where}): ${label} holds float32 and 32-bit integers only; ${USE_OTHER}${dtype === 'float16' ? ', or keep the weights float32 for WebGL' : ''}`;
  },
  (m, label, ctx) => {
    const t = /input tensor\[(\d+)\] check failed: expected type '(\w+)' but got (\w+)/.exec(m);
    if (!t) return undefined;
    const name = ctx.inputNames?.[Number(t[1])];
    return `${label}: cannot take input ${name ?? t[1]} as ${t[3]}: ${label} declares it ${t[2]} and refuses ${t[3]} data; ${USE_OTHER}`;
  },
  (m, label) => {
    const dims = /input tensor\[(\d+)\] check failed: expected shape '\[([^']*)\]' but got \[([^\]]*)\]/.exec(m);
    if (!dims || !dims[2].split(',').some((d) => d === '')) return undefined;
    const declared = dims[2].split(',').map((d) => (d === '' ? '?' : d)).join(', ');
    return `${label}: onnxruntime's WebGL backend does not run inputs with symbolic dims (input ${dims[1]} is declared [${declared}], fed [${dims[3].split(',').join(', ')}]); a model exported with fixed dims would run`;
  },
  (m, label, ctx) => {
    const op = /cannot resolve operator '([^']+)' with opsets: ([^\n]+)/i.exec(m);
    if (!op) return undefined;
    const opset = /ai\.onnx v(\d+)/.exec(op[2]);
    const nodes = ofType(ctx, op[1]);
    const which = nodes.length > 0 ? nodeList(nodes) : `operator ${op[1]}`;
    return `${label}: cannot run ${which}: operator ${op[1]} not supported${opset ? ` at opset ${opset[1]}` : ''} (${op[2].trim()}); ${USE_OTHER}`;
  },
  (m, label, ctx) => {
    if (!/only support 2-dimensional conv/.test(m)) return undefined;
    const nodes = [...ofType(ctx, 'Conv'), ...ofType(ctx, 'ConvTranspose')];
    return `${label}: cannot run ${nodes.length > 0 ? nodeList(nodes) : 'a convolution'}: ${label} runs 2-D convolutions only; ${USE_OTHER}`;
  },
  (m, label, ctx) => {
    // kernels' input checks: MatMul's "inputs should be float type", Conv's "Conv input(X,W) should be float tensor", Transpose's …
    const k = /^(?:(\w+) )?inputs? ?(?:\([^)]*\) )?should be float (?:type|tensor)/.exec(m);
    if (!k) return undefined;
    const opType = k[1] ?? (/^inputs should be float type/.test(m) ? 'MatMul' : /^input should be float tensor/.test(m) ? 'Transpose' : undefined);
    const nodes = opType ? ofType(ctx, opType) : [];
    const which = nodes.length > 0 ? nodeList(nodes) : opType ? `a ${opType} node` : 'a node';
    return `${label}: cannot run ${which} on non-float inputs: ${label} runs it on float32 only; ${USE_OTHER}`;
  },
];

/**
 * A failed session's or run's error as one sentence a user understands (which node or input, and
 * what to do), with onnxruntime's text kept as `raw`. `context` (the model's nodes and inputs,
 * read after the failure) lets the sentence name nodes where onnxruntime names none.
 */
export function describeFailure(backend: string, message: string, context: FailureContext = {}): Failure {
  const raw = message.replace(/^Unexpected error: /, '');
  const m = coreMessage(message);
  const label = labelOf(backend);
  for (const rule of RULES) {
    const summary = rule(m, label, context);
    if (summary) return { summary, raw };
  }
  return { summary: `${label}: ${m}`, raw };
}

/** Nodes placed on the CPU EP, from onnxruntime's verbose node-placement log lines. */
export function cpuFallbacks(lines: readonly string[]): { logged: boolean; nodes: string[]; log: string[] } {
  const nodes: string[] = [];
  const log: string[] = [];
  let logged = false;
  let inCpu = false;
  for (const raw of lines) {
    for (const line of raw.split('\n')) {
      const head = /Node\(s\) placed on \[(\w+)\]/.exec(line);
      if (head) {
        logged = true;
        log.push(line.trim());
        inCpu = head[1] === 'CPUExecutionProvider';
        continue;
      }
      if (/All nodes placed on \[/.test(line) || /Node placements/.test(line)) {
        logged = true;
        log.push(line.trim());
        inCpu = false;
        continue;
      }
      const node = inCpu ? /^\s*(?:\[[^\]]*\]\s*)*\s*([A-Za-z][\w.]*) \(([^)]*)\)\s*$/.exec(line) ?? /\]\s+([A-Za-z][\w.]*) \(([^)]*)\)\s*$/.exec(line) : null;
      if (node) {
        nodes.push(`${node[1]} (${node[2]})`);
        log.push(line.trim());
      }
      else if (inCpu && line.trim() !== '' && !/^\s/.test(line) && !/\]\s/.test(line)) inCpu = false;
    }
  }
  return { logged, nodes, log: log.slice(0, 200) };
}

/** What describeFailure may name, from the decoded model: every node (subgraphs too) and the main graph's inputs. */
export function failureContext(model: Model, inputNames?: readonly string[]): FailureContext {
  const nodes: { name: string; opType: string; subgraph: boolean }[] = [];
  const visit = (g: Graph, depth: number) => {
    if (depth > 64) return;
    for (const n of g.nodes) {
      const subgraphs = n.attributes.flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
      nodes.push({ name: n.name ?? '', opType: n.opType ?? '', subgraph: subgraphs.length > 0 });
      for (const sg of subgraphs) visit(sg, depth + 1);
    }
  };
  if (model.graph) visit(model.graph, 0);
  const inputs = (model.graph?.inputs ?? []).map((i) => ({ name: i.name ?? '', dtype: i.type?.tensorType?.elemType === undefined ? '?' : dtypeName(i.type.tensorType.elemType) }));
  return { nodes, inputs, ...(inputNames ? { inputNames } : {}) };
}
