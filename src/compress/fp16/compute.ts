/**
 * float16 compute (target `webgpu`): rewrites a model so its float computation runs in float16,
 * with the model's signature unchanged.
 *
 * - Every float32 value becomes float16, except where a node is kept in float32 (below): float
 *   initializers and `Constant` tensors (and float tensors in attributes, e.g. ConstantOfShape's
 *   `value`) are stored as float16, `Cast(to=float)` becomes `Cast(to=float16)`, value_info and
 *   subgraph value types follow.
 * - Graph inputs keep float32 and get a `Cast` to float16 in front of their readers; graph outputs
 *   keep their name and float32 type: the producing node writes `<name>_fp16` and a `Cast` back
 *   follows it. Subgraph bodies (If, Loop, Scan) are converted the same way, their formal inputs
 *   and outputs keeping their declared types (so the control-flow node's interface is float32).
 * - Kept in float32, with `Cast`s at their float16 neighbours (each with its reason, reported):
 *   - ops onnxruntime's own float16 converter keeps in float32 (its `DEFAULT_OP_BLOCK_LIST`:
 *     the ai.onnx.ml operators, NonMaxSuppression, TopK, RoiAlign, Resize, Upsample, Range,
 *     CumSum, Min, Max), quantization ops (QuantizeLinear, DequantizeLinear and the integer
 *     kernels: their scales are float32 by design), ops whose output type comes from an attribute
 *     (RandomNormal & co., EyeLike, Bernoulli, window functions), sequence ops and any op outside
 *     the default domain (com.microsoft kernels have their own type rules);
 *   - shape computations: values derived from Shape/Size only (through Cast, Div, Mul, Concat
 *     ...), where float16's 11-bit integer precision would change sizes above 2048, and anything
 *     feeding Resize/Upsample scales or roi;
 *   - ArgMax, ArgMin, Einsum and Split, which onnxruntime-web's WebGPU (JSEP) kernels register
 *     for float32 only (a float16 Split is placed on the CPU: seen in the verbose log on Dawn,
 *     scripts/webgpu-device);
 *   - nodes reading a float constant with a finite value beyond float16's range (|v| > 65504):
 *     the constant stays float32 and so does its reader (RECIPE.md: nothing overflows);
 *   - nodes whose value types cannot be worked out (unknown op, missing type information), and
 *     nodes the caller keeps (layers asking for float32 or integer weights, their decode chains).
 * - Initializers that are also graph inputs (IR < 4 exports) can be overridden by the caller:
 *   they keep their float32 declaration and are cast where float16 readers need them.
 */
import { float32ToFloat16 } from '../../core/float16';
import { attr, makeNode, makeValueInfo } from '../../onnx/build';
import { tensorFloats } from '../../onnx/tensor';
import { nodeSubgraphs } from '../../onnx/topo';
import { DataType, type Attribute, type ExternalDataResolver, type Graph, type Model, type Node, type Tensor, type ValueInfo } from '../../onnx/types';
import { bytesOf } from '../emit';
import type { NameAllocator } from '../graph-edit';
import { FLOAT16_MAX } from './meta';

const F32 = DataType.FLOAT;
const F16 = DataType.FLOAT16;

/** Ops kept in float32 whatever their inputs (see the file comment), with the reason shown. */
const BLOCKED: Record<string, string> = {};
const block = (ops: string[], reason: string) => ops.forEach((op) => (BLOCKED[op] = reason));
block(
  ['NonMaxSuppression', 'TopK', 'RoiAlign', 'Resize', 'Upsample', 'Range', 'CumSum', 'Min', 'Max'],
  "kept in float32 by onnxruntime's own float16 converter (op block list)",
);
block(
  [
    'QuantizeLinear',
    'DequantizeLinear',
    'DynamicQuantizeLinear',
    'QLinearConv',
    'QLinearMatMul',
    'MatMulInteger',
    'ConvInteger',
  ],
  'quantization op: its scales are float32 by design',
);
const ATTR_TYPED = ['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'Bernoulli', 'Multinomial', 'HannWindow', 'HammingWindow', 'BlackmanWindow', 'MelWeightMatrix', 'TfIdfVectorizer'];
const SEQUENCE_OPS = ['SequenceConstruct', 'SequenceEmpty', 'SequenceAt', 'SequenceInsert', 'SequenceErase', 'SequenceLength', 'SplitToSequence', 'ConcatFromSequence', 'SequenceMap', 'Optional', 'OptionalGetElement', 'OptionalHasElement'];
/** ops whose output types this pass does not derive (they come from attributes, or are not tensors) */
const UNTYPED = new Set([...ATTR_TYPED, ...SEQUENCE_OPS]);
block(ATTR_TYPED, 'its output type comes from an attribute');
block(['ArgMax', 'ArgMin', 'Einsum', 'Split'], "onnxruntime-web's WebGPU kernel takes float32 only");
block(SEQUENCE_OPS, 'sequence and optional values are not converted');

const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);
/** read only their input's shape: any element type will do */
const SHAPE_OF = new Set(['Shape', 'Size']);
/** make new data from a computed shape */
const NEW_DATA = new Set(['ConstantOfShape']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);

export interface Fp16ComputeOptions {
  names: NameAllocator;
  /** nodes the caller keeps in float32, with the reason */
  keep?: Map<Node, string>;
  /** initializers already stored as float16 that stand for float32 weights (the layers' fp16 weights) */
  halfWeights?: Set<string>;
  external?: ExternalDataResolver;
}

export interface Fp16KeptNode {
  node: string;
  op: string;
  reason: string;
}

export interface Fp16ComputeReport {
  /** nodes with float values now computing in float16 */
  converted: number;
  /** nodes with float values kept in float32, with the reason */
  kept: Fp16KeptNode[];
  /** float constants kept in float32 because a value is beyond float16's range */
  overflow: { name: string; count: number; maxAbs: number }[];
  /** float constants (initializers, Constant and attribute tensors) now stored as float16 */
  constants: number;
  /** Cast nodes added at float32/float16 boundaries */
  casts: number;
}

export interface Fp16ComputeResult {
  report: Fp16ComputeReport;
  /** for every node with float values: 'fp16', or why it stays float32 */
  compute: Map<Node, string>;
}

function isDefaultDomain(n: Node): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

function elemType(v: ValueInfo | undefined): number | undefined {
  const t = v?.type?.tensorType?.elemType;
  return t === undefined || t === 0 ? undefined : t;
}

function findAttr(n: Node, name: string): Attribute | undefined {
  return n.attributes.find((a) => a.name === name);
}

/** float16 bits of a float tensor's values, or how many finite values are beyond its range. */
function toHalf(t: Tensor, external?: ExternalDataResolver): { bits: Uint16Array } | { count: number; maxAbs: number } {
  const v = tensorFloats(t, external);
  let count = 0;
  let maxAbs = 0;
  for (let i = 0; i < v.length; i++) {
    // infinities and NaN are float16 values too; finite values past the largest one are not
    const a = Math.abs(v[i]);
    if (a > FLOAT16_MAX && a !== Infinity) {
      count++;
      if (!(a <= maxAbs)) maxAbs = a;
    }
  }
  if (count > 0) return { count, maxAbs };
  const bits = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) bits[i] = float32ToFloat16(v[i]);
  return { bits };
}

function halfTensor(t: Tensor, bits: Uint16Array, name = t.name): Tensor {
  return {
    ...t,
    name,
    dataType: F16,
    rawData: bytesOf(bits),
    floatData: undefined,
    int32Data: undefined,
    doubleData: undefined,
    dataLocation: undefined,
    externalData: [],
  };
}

/** The float tensor held by a Constant node (`value`), if that is how it holds it. */
function constantTensor(n: Node): Tensor | undefined {
  if (n.opType !== 'Constant' || !isDefaultDomain(n)) return undefined;
  return findAttr(n, 'value')?.t;
}

/** Element types of a node's outputs from its op's type rule; undefined where the rule does not know. */
function outputTypes(n: Node, inTypes: (number | undefined)[]): (number | undefined)[] {
  const op = n.opType ?? '';
  const k = n.outputs.length;
  const all = (t: number | undefined) => Array.from({ length: k }, () => t);
  if (!isDefaultDomain(n)) {
    if (n.domain === 'com.microsoft' && op === 'MatMulNBits') return all(inTypes[0]);
    return all(undefined);
  }
  if (op === 'Constant') {
    const a = n.attributes[0];
    if (!a) return all(undefined);
    if (a.t) return [a.t.dataType];
    if (a.name === 'value_float' || a.name === 'value_floats') return [F32];
    if (a.name === 'value_int' || a.name === 'value_ints') return [DataType.INT64];
    return all(undefined);
  }
  if (op === 'Cast') {
    const to = findAttr(n, 'to')?.i;
    return all(to === undefined ? undefined : Number(to));
  }
  if (op === 'CastLike') return all(inTypes[1]);
  if (INT64_OUT.has(op)) return all(DataType.INT64);
  if (BOOL_OUT.has(op)) return all(DataType.BOOL);
  if (op === 'ConstantOfShape') return [findAttr(n, 'value')?.t?.dataType ?? F32];
  if (op === 'TopK') return [inTypes[0], DataType.INT64];
  if (op === 'MaxPool') return [inTypes[0], DataType.INT64];
  if (op === 'Dropout') return [inTypes[0], DataType.BOOL];
  if (op === 'Unique') return [inTypes[0], DataType.INT64, DataType.INT64, DataType.INT64];
  if (op === 'Where') return all(inTypes[1]);
  if (op === 'OneHot') return all(inTypes[2]);
  if (op === 'DequantizeLinear') return all(inTypes[1]);
  if (op === 'QuantizeLinear') return all(inTypes[2] ?? DataType.UINT8);
  if (op === 'DynamicQuantizeLinear') return [DataType.UINT8, F32, DataType.UINT8];
  if (op === 'MatMulInteger' || op === 'ConvInteger') return all(DataType.INT32);
  if (op === 'QLinearConv' || op === 'QLinearMatMul') return all(inTypes[7]);
  if (CONTROL_FLOW.has(op)) {
    const g = op === 'If' ? findAttr(n, 'then_branch')?.g : findAttr(n, 'body')?.g;
    if (!g) return all(undefined);
    const outs = op === 'Loop' ? g.outputs.slice(1) : g.outputs;
    return Array.from({ length: k }, (_, i) => elemType(outs[i]));
  }
  if (UNTYPED.has(op)) return all(undefined);
  if (n.inputs.length === 0) return all(undefined);
  const first = n.inputs.findIndex((x) => x !== '');
  return all(first < 0 ? undefined : inTypes[first]);
}

interface Ctx {
  opts: Fp16ComputeOptions;
  report: Fp16ComputeReport;
  compute: Map<Node, string>;
  /** names read by any node of any subgraph (outer-scope references) */
  readInSubgraphs: Set<string>;
}

function collectSubgraphReads(g: Graph, into: Set<string>, nested: boolean): void {
  for (const n of g.nodes) {
    if (nested) for (const i of n.inputs) if (i) into.add(i);
    for (const s of nodeSubgraphs(n)) collectSubgraphReads(s, into, true);
  }
}

/** One graph's values as convertGraph's steps learn them. */
interface GraphState {
  g: Graph;
  /** element types before conversion (outer scopes' values included) */
  types: Map<string, number>;
  /** initializers already stored as float16 by an earlier step (read as float32 before it) */
  preHalf: Set<string>;
  declared: Map<string, number>;
  inputNames: Set<string>;
  outputNames: Set<string>;
  inits: Map<string, Tensor>;
  /** nodes whose value types could not be worked out */
  unknown: Set<Node>;
  producer: Map<string, Node>;
  /** float constants that fit float16, with their bits */
  half: Map<string, Uint16Array>;
  /** float constants that do not */
  overflowing: Set<string>;
  /** the nodes that compute in float16 */
  fp16: Set<Node>;
}

/**
 * Converts one graph. `outerOrig` / `outerFinal`: element types of the enclosing scopes' values
 * before and after their conversion (subgraphs read them by name).
 */
function convertGraph(g: Graph, outerOrig: Map<string, number>, outerFinal: Map<string, number>, ctx: Ctx): void {
  const st = scanGraph(g, outerOrig, ctx.opts.halfWeights ?? new Set<string>());
  inferTypes(st);
  checkConstants(st, ctx);
  chooseFp16Nodes(st, shapeNodesOf(st), ctx);
  const { renamedOutputs, finalType } = rewriteGraph(st, outerFinal, ctx);

  // 6. Subgraphs: converted knowing how this scope's values are typed now.
  const scopeFinal = new Map<string, number>();
  for (const [x] of st.types) {
    const t = renamedOutputs.has(x) ? F32 : finalType(x);
    if (t !== undefined) scopeFinal.set(x, t);
  }
  for (const n of g.nodes) for (const s of nodeSubgraphs(n)) convertGraph(s, st.types, scopeFinal, ctx);
}

/** The graph's declared types, inputs, outputs and initializers. */
function scanGraph(g: Graph, outerOrig: Map<string, number>, preHalf: Set<string>): GraphState {
  const types = new Map(outerOrig);
  const declared = new Map<string, number>();
  for (const v of [...g.valueInfo, ...g.outputs]) {
    const t = elemType(v);
    if (v.name && t !== undefined) declared.set(v.name, t);
  }
  const inputNames = new Set(g.inputs.map((v) => v.name ?? ''));
  const outputNames = new Set(g.outputs.map((v) => v.name ?? ''));
  for (const v of g.inputs) {
    const t = elemType(v);
    if (v.name && t !== undefined) types.set(v.name, t);
  }
  const inits = new Map<string, Tensor>();
  for (const t of g.initializers) {
    if (!t.name) continue;
    inits.set(t.name, t);
    if (!inputNames.has(t.name)) types.set(t.name, preHalf.has(t.name) ? F32 : (t.dataType ?? 0));
  }
  for (const s of g.sparseInitializers) if (s.values?.name) types.set(s.values.name, s.values.dataType ?? 0);
  return {
    g,
    types,
    preHalf,
    declared,
    inputNames,
    outputNames,
    inits,
    unknown: new Set(),
    producer: new Map(),
    half: new Map(),
    overflowing: new Set(),
    fp16: new Set(),
  };
}

/** 1. Element types, node by node (the graph is topologically sorted). */
function inferTypes(st: GraphState): void {
  const { types, declared, unknown, producer } = st;
  for (const n of st.g.nodes) {
    const inTypes = n.inputs.map((x) => (x ? types.get(x) : undefined));
    const rule = outputTypes(n, inTypes);
    n.outputs.forEach((o, i) => {
      if (!o) return;
      producer.set(o, n);
      const d = declared.get(o);
      let t = rule[i];
      if (t === undefined) t = d;
      else if (d !== undefined && d !== t) {
        unknown.add(n);
        t = d;
      }
      if (t === undefined) unknown.add(n);
      else types.set(o, t);
    });
    if (n.inputs.some((x) => x && !types.has(x))) unknown.add(n);
  }
}

/** 2. Float constants: which fit float16 (Constant nodes and initializers not declared as inputs). */
function checkConstants(st: GraphState, ctx: Ctx): void {
  const { types, inits, preHalf, half, overflowing } = st;
  const checkConst = (name: string, t: Tensor) => {
    if (half.has(name) || overflowing.has(name)) return;
    const r = toHalf(t, ctx.opts.external);
    if ('bits' in r) half.set(name, r.bits);
    else {
      overflowing.add(name);
      ctx.report.overflow.push({ name, count: r.count, maxAbs: r.maxAbs });
    }
  };
  for (const n of st.g.nodes) {
    for (const x of n.inputs) {
      if (!x || types.get(x) !== F32) continue;
      const t = inits.get(x);
      if (t && !preHalf.has(x)) checkConst(x, t);
    }
    const ct = constantTensor(n);
    if (ct && ct.dataType === F32 && n.outputs[0]) checkConst(n.outputs[0], ct);
  }
}

/** 3. Shape computations: values derived only from Shape/Size (forward), and what feeds Resize/Upsample's scales (backward). */
function shapeNodesOf(st: GraphState): Set<Node> {
  const { g, inits, inputNames, producer } = st;
  const isConst = (x: string) => (inits.has(x) && !inputNames.has(x)) || !!(producer.get(x) && constantTensor(producer.get(x) as Node));
  const shapeValues = new Set<string>();
  for (const n of g.nodes) {
    const op = n.opType ?? '';
    if (isDefaultDomain(n) && (op === 'Shape' || op === 'Size')) {
      n.outputs.forEach((o) => o && shapeValues.add(o));
      continue;
    }
    // ConstantOfShape makes data of a computed shape; control flow's outputs come from its body
    if (NEW_DATA.has(op) || CONTROL_FLOW.has(op)) continue;
    const live = n.inputs.filter((x) => x && !isConst(x));
    if (live.length > 0 && live.every((x) => shapeValues.has(x))) n.outputs.forEach((o) => o && shapeValues.add(o));
  }
  const shapeNodes = new Set<Node>();
  const back: string[] = [];
  for (const n of g.nodes) {
    if (!isDefaultDomain(n)) continue;
    if (n.opType === 'Resize') back.push(...n.inputs.slice(1));
    else if (n.opType === 'Upsample') back.push(...n.inputs.slice(1));
  }
  for (let i = 0; i < back.length; i++) {
    const p = producer.get(back[i]);
    if (!p || shapeNodes.has(p) || SHAPE_OF.has(p.opType ?? '')) continue;
    shapeNodes.add(p);
    back.push(...p.inputs.filter((x) => x));
  }
  for (const n of g.nodes) if (!SHAPE_OF.has(n.opType ?? '') && n.outputs.some((o) => shapeValues.has(o))) shapeNodes.add(n);
  return shapeNodes;
}

/** 4. Which nodes compute in float16; the others are reported with why they stay float32. */
function chooseFp16Nodes(st: GraphState, shapeNodes: Set<Node>, ctx: Ctx): void {
  const { types, fp16 } = st;
  const hasFloat = (n: Node) => n.inputs.some((x) => x && types.get(x) === F32) || n.outputs.some((x) => x && types.get(x) === F32);
  for (const n of st.g.nodes) {
    if (!hasFloat(n)) continue;
    const reason = keepReason(st, n, shapeNodes, ctx.opts);
    if (reason) {
      ctx.compute.set(n, reason);
      ctx.report.kept.push({ node: n.name ?? '', op: n.opType ?? '', reason });
    } else {
      fp16.add(n);
      ctx.compute.set(n, 'fp16');
    }
  }
  ctx.report.converted += fp16.size;
}

/** Why a node reading or writing float32 values stays float32, or undefined where it converts. */
function keepReason(st: GraphState, n: Node, shapeNodes: Set<Node>, opts: Fp16ComputeOptions): string | undefined {
  const op = n.opType ?? '';
  if (opts.keep?.has(n)) return opts.keep.get(n);
  if (!isDefaultDomain(n)) return `${n.domain}.${op} is outside the default domain`;
  if (CONTROL_FLOW.has(op)) return 'control flow: its body computes in float16, its float inputs and outputs stay float32';
  if (BLOCKED[op]) return BLOCKED[op];
  if (st.unknown.has(n)) return 'the types of its values could not be worked out';
  if (shapeNodes.has(n)) return 'computes shapes or scales (float16 would round sizes above 2048)';
  if (op === 'Constant' && !constantTensor(n)) return 'Constant given as value_float(s)';
  const big = [...n.inputs, ...(op === 'Constant' ? n.outputs : [])].find((x) => st.overflowing.has(x));
  if (big) return `reads ${big}, which has values beyond float16's range (kept float32)`;
  let reason: string | undefined;
  for (const a of n.attributes) {
    const ts = [...(a.t ? [a.t] : []), ...a.tensors];
    for (const t of ts) {
      if (t.dataType !== F32 || op === 'Constant') continue;
      if ('count' in toHalf(t, opts.external)) reason = `its attribute ${a.name} has values beyond float16's range`;
    }
  }
  return reason;
}

/**
 * 5. Rewrite, node by node, with Casts placed right before the first reader that needs them;
 * float16 copies of constants, graph outputs cast back to float32, value_info retyped.
 */
function rewriteGraph(
  st: GraphState,
  outerFinal: Map<string, number>,
  ctx: Ctx,
): { renamedOutputs: Map<string, string>; finalType: (x: string) => number | undefined } {
  const { g, types, preHalf, inits, inputNames, outputNames, producer, half, fp16 } = st;
  const { opts, report } = ctx;
  const names = opts.names;
  const out: Node[] = [];
  const cast16 = new Map<string, string>();
  const cast32 = new Map<string, string>();
  const halfInit = new Map<string, string>();
  const renamedOutputs = new Map<string, string>();
  const isLocal = (x: string) => producer.has(x) || inits.has(x) || inputNames.has(x);
  /** the element type of a value once the graph is rewritten */
  const finalType = (x: string): number | undefined => {
    const t = types.get(x);
    if (t !== F32) return t;
    if (preHalf.has(x)) return F16;
    if (!isLocal(x)) return outerFinal.get(x) ?? t;
    const p = producer.get(x);
    if (p) return fp16.has(p) ? F16 : F32;
    return halfInit.get(x) === x ? F16 : F32;
  };
  const readersOf = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const x of n.inputs) {
      if (!x) continue;
      const list = readersOf.get(x);
      if (list) list.push(n);
      else readersOf.set(x, [n]);
    }
  }
  const addCast = (x: string, to: number): string => {
    const y = names.fresh(`${x}_${to === F16 ? 'fp16' : 'fp32'}`);
    out.push(makeNode('Cast', [x], [y], [attr.int('to', to)], { name: y }));
    report.casts++;
    return y;
  };
  const halfCopy = (x: string): string => {
    let h = halfInit.get(x);
    if (h) return h;
    const t = inits.get(x) as Tensor;
    const readers = readersOf.get(x) ?? [];
    const inPlace = readers.every((r) => fp16.has(r)) && !ctx.readInSubgraphs.has(x) && !outputNames.has(x);
    h = inPlace ? x : names.fresh(`${x}_fp16`);
    const ht = halfTensor(t, half.get(x) as Uint16Array, h);
    if (inPlace) g.initializers = g.initializers.map((u) => (u === t ? ht : u));
    else g.initializers.push(ht);
    report.constants++;
    halfInit.set(x, h);
    return h;
  };
  const inputFor = (x: string, convert: boolean): string => {
    if (!x || types.get(x) !== F32) return x;
    if (convert) {
      const r = renamedOutputs.get(x);
      if (r) return r;
      if (preHalf.has(x)) return x;
      if (inits.has(x) && !inputNames.has(x) && half.has(x)) return halfCopy(x);
      if (finalType(x) === F16) return x;
      let c = cast16.get(x);
      if (!c) cast16.set(x, (c = addCast(x, F16)));
      return c;
    }
    // a float32 node reading a value that is float16 now
    if (renamedOutputs.has(x) || finalType(x) !== F16) return x;
    let c = cast32.get(x);
    if (!c) cast32.set(x, (c = addCast(x, F32)));
    return c;
  };
  for (const n of g.nodes) {
    const convert = fp16.has(n);
    n.inputs = n.inputs.map((x) => inputFor(x, convert));
    if (convert) convertAttributes(n, ctx);
    out.push(n);
    if (convert) {
      n.outputs = n.outputs.map((o) => {
        if (!o || !outputNames.has(o) || types.get(o) !== F32) return o;
        const h = names.fresh(`${o}_fp16`);
        renamedOutputs.set(o, h);
        out.push(makeNode('Cast', [h], [o], [attr.int('to', F32)], { name: names.fresh(`${o}_cast`) }));
        report.casts++;
        return h;
      });
    }
  }
  g.nodes.splice(0, g.nodes.length, ...out);
  // float32 initializers whose readers all read a float16 copy now
  const read = new Set<string>();
  for (const n of g.nodes) for (const x of n.inputs) read.add(x);
  g.initializers = g.initializers.filter(
    (t) => !t.name || !halfInit.has(t.name) || read.has(t.name) || outputNames.has(t.name) || inputNames.has(t.name) || ctx.readInSubgraphs.has(t.name),
  );
  retypeValueInfo(g, renamedOutputs, finalType);
  return { renamedOutputs, finalType };
}

/** A float16 node's attributes: Cast to float32 becomes Cast to float16, float32 tensors float16 where they fit. */
function convertAttributes(n: Node, ctx: Ctx): void {
  const { opts, report } = ctx;
  if (n.opType === 'Cast') {
    const a = findAttr(n, 'to');
    if (a && Number(a.i) === F32) a.i = F16;
  }
  for (const a of n.attributes) {
    if (a.t && a.t.dataType === F32) {
      const r = toHalf(a.t, opts.external);
      if ('bits' in r) {
        a.t = halfTensor(a.t, r.bits);
        report.constants++;
      }
    }
    a.tensors = a.tensors.map((t) => {
      if (t.dataType !== F32) return t;
      const r = toHalf(t, opts.external);
      return 'bits' in r ? halfTensor(t, r.bits) : t;
    });
  }
}

/** value_info follows the new types; renamed outputs get entries of their own. */
function retypeValueInfo(g: Graph, renamedOutputs: Map<string, string>, finalType: (x: string) => number | undefined): void {
  const typed = (v: ValueInfo, t: number): ValueInfo => ({ ...v, type: { ...v.type, tensorType: { ...v.type?.tensorType, elemType: t } } });
  g.valueInfo = g.valueInfo.map((v) => (v.name && elemType(v) === F32 && !renamedOutputs.has(v.name) && finalType(v.name) === F16 ? typed(v, F16) : v));
  for (const [o, h] of renamedOutputs) {
    const v = g.valueInfo.find((x) => x.name === o) ?? g.outputs.find((x) => x.name === o);
    g.valueInfo.push(v ? typed({ ...v, name: h }, F16) : makeValueInfo(h, F16));
  }
}

/** Converts `model` (in place) to float16 compute; see the file comment. */
export function convertComputeToFloat16(model: Model, opts: Fp16ComputeOptions): Fp16ComputeResult {
  const report: Fp16ComputeReport = { converted: 0, kept: [], overflow: [], constants: 0, casts: 0 };
  const compute = new Map<Node, string>();
  if (!model.graph) return { report, compute };
  const readInSubgraphs = new Set<string>();
  collectSubgraphReads(model.graph, readInSubgraphs, false);
  convertGraph(model.graph, new Map(), new Map(), { opts, report, compute, readInSubgraphs });
  return { report, compute };
}

/**
 * Whether a model computes in float16 somewhere: a Cast to float16, or a node other than Cast
 * reading a float16 initializer (weights merely stored as float16 are cast to float32 first).
 */
export function usesFloat16Compute(model: Model): boolean {
  const graphs: Graph[] = model.graph ? [model.graph] : [];
  for (let i = 0; i < graphs.length; i++) {
    const g = graphs[i];
    const half = new Set(g.initializers.filter((t) => t.dataType === F16).map((t) => t.name));
    for (const n of g.nodes) {
      if (n.opType === 'Cast') {
        if (Number(findAttr(n, 'to')?.i) === F16) return true;
      } else if (n.inputs.some((x) => half.has(x))) return true;
      graphs.push(...nodeSubgraphs(n));
    }
  }
  return false;
}
