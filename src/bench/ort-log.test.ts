import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../onnx/codec';
import { webglRefusalCases } from '../testing/webgl-refusals';
import { cpuFallbacks, describeFailure, failureContext } from './ort-log';

const P = '2026-11-28 09:13:18.857905 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp]';

describe("reading onnxruntime's messages", () => {
  it('finds no fallback when every node is on the chosen provider (the log as onnxruntime-web 1.30 writes it)', () => {
    const r = cpuFallbacks([`${P} Node placements`, `${P}  All nodes placed on [JsExecutionProvider]. Number of nodes: 9`]);
    expect(r).toMatchObject({ logged: true, nodes: [] });
    expect(r.log).toHaveLength(2);
  });

  it('lists the nodes placed on the CPU, in one message or line by line', () => {
    const lines = [
      `${P} Node placements`,
      `${P}  Node(s) placed on [JsExecutionProvider]. Number of nodes: 7`,
      `${P}   Conv (/features/conv1/Conv)`,
      `${P}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2`,
      `${P}   DequantizeLinear (fc1.weight_DequantizeLinear)`,
      `${P}   Shape (/Shape)`,
    ];
    expect(cpuFallbacks(lines).nodes).toEqual(['DequantizeLinear (fc1.weight_DequantizeLinear)', 'Shape (/Shape)']);
    expect(cpuFallbacks([lines.join('\n')]).nodes).toEqual(['DequantizeLinear (fc1.weight_DequantizeLinear)', 'Shape (/Shape)']);
    expect(cpuFallbacks(['some other log line']).logged).toBe(false);
  });

  it('names the operator or the symbolic dim a backend rejects', () => {
    expect(describeFailure('webgl', "Unexpected error: cannot resolve operator 'HardSigmoid' with opsets: ai.onnx v9")).toEqual({
      summary: 'WebGL: cannot run operator HardSigmoid: operator HardSigmoid not supported at opset 9 (ai.onnx v9); use wasm or WebGPU',
      raw: "cannot resolve operator 'HardSigmoid' with opsets: ai.onnx v9",
    });
    expect(describeFailure('webgl', "input tensor[0] check failed: expected shape '[,1,8,8]' but got [1,1,8,8]").summary).toMatch(
      /^WebGL: onnxruntime's WebGL backend does not run inputs with symbolic dims \(input 0 is declared \[\?, 1, 8, 8\], fed \[1, 1, 8, 8\]\)/,
    );
    expect(describeFailure('webgpu', 'no adapter')).toEqual({ summary: 'WebGPU: no adapter', raw: 'no adapter' });
  });
});

/**
 * What onnxruntime-web 1.30's WebGL backend said in headless Chromium 156 (WebGL 2 through
 * SwiftShader) for each model of src/testing/webgl-refusals.ts, word for word; the e2e test
 * (e2e/webgl-refusal.spec.ts) checks the If case in the app.
 */
const ORT_FORMAT = "\nas ORT format: TypeError: Cannot read properties of null (reading 'irVersion')";
const CAPTURED = {
  if: `Failed to load model as ONNX format: Error: graph attribute is not supported yet${ORT_FORMAT}`,
  int64: "input tensor[0] check failed: expected type 'int32' but got int64",
  float16: `Failed to load model as ONNX format: Error: unsupported data type: FLOAT16${ORT_FORMAT}`,
  opVersion: "cannot resolve operator 'ReduceSum' with opsets: ai.onnx v13",
  unknownOp: "cannot resolve operator 'Erf' with opsets: ai.onnx v13",
  conv1d: 'currently only support 2-dimensional conv',
  int32MatMul: 'inputs should be float type',
};

const byId = Object.fromEntries(webglRefusalCases().map((c) => [c.id, failureContext(c.model)]));

describe("WebGL's refusals in the studio's words", () => {
  it('a subgraph (If, Loop): names the node, says why and what to do, keeps the raw text', () => {
    expect(describeFailure('webgl', CAPTURED.if, byId.if)).toEqual({
      summary: 'WebGL: cannot run node gate (If): subgraphs (the bodies of If, Loop and Scan) are not supported on WebGL; use wasm or WebGPU',
      raw: CAPTURED.if,
    });
    expect(describeFailure('webgl', CAPTURED.if, byId.loop).summary).toMatch(/^WebGL: cannot run node repeat \(Loop\): subgraphs/);
    // without the model: the kinds of node
    expect(describeFailure('webgl', CAPTURED.if).summary).toBe(
      "WebGL: cannot run this model's If/Loop/Scan nodes: subgraphs (the bodies of If, Loop and Scan) are not supported on WebGL; use wasm or WebGPU",
    );
  });

  it('an input type: names the input by its index in the session', () => {
    expect(describeFailure('webgl', CAPTURED.int64, { ...byId['int64-add'], inputNames: ['a', 'b'] }).summary).toBe(
      'WebGL: cannot take input a as int64: WebGL declares it int32 and refuses int64 data; use wasm or WebGPU',
    );
    expect(describeFailure('webgl', CAPTURED.int64).summary).toMatch(/^WebGL: cannot take input 0 as int64/);
  });

  it('float16 tensors: names the float16 inputs', () => {
    expect(describeFailure('webgl', CAPTURED.float16, byId['float16-add'])).toEqual({
      summary: 'WebGL: cannot load float16 tensors (inputs a, b): WebGL holds float32 and 32-bit integers only; use wasm or WebGPU, or keep the weights float32 for WebGL',
      raw: CAPTURED.float16,
    });
    expect(describeFailure('webgl', CAPTURED.float16).summary).toMatch(/^WebGL: cannot load float16 tensors \(a tensor of the model\)/);
  });

  it('an operator version or an operator WebGL lacks: names the nodes', () => {
    expect(describeFailure('webgl', CAPTURED.opVersion, byId['op-version']).summary).toBe(
      'WebGL: cannot run node total (ReduceSum): operator ReduceSum not supported at opset 13 (ai.onnx v13); use wasm or WebGPU',
    );
    expect(describeFailure('webgl', CAPTURED.unknownOp, byId['unknown-op']).summary).toBe(
      'WebGL: cannot run node erf_node (Erf): operator Erf not supported at opset 13 (ai.onnx v13); use wasm or WebGPU',
    );
  });

  it("kernels' own checks at run time: the op behind the message", () => {
    expect(describeFailure('webgl', CAPTURED.conv1d, byId.conv1d).summary).toBe('WebGL: cannot run node smooth (Conv): WebGL runs 2-D convolutions only; use wasm or WebGPU');
    expect(describeFailure('webgl', CAPTURED.int32MatMul, byId['int32-matmul']).summary).toBe(
      'WebGL: cannot run node matmul_node (MatMul) on non-float inputs: WebGL runs it on float32 only; use wasm or WebGPU',
    );
    expect(describeFailure('webgl', 'Conv input(X,W) should be float tensor').summary).toBe('WebGL: cannot run a Conv node on non-float inputs: WebGL runs it on float32 only; use wasm or WebGPU');
  });

  it('names at most three nodes, and anything else stays as onnxruntime said it', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, opType: 'If', subgraph: true }));
    expect(describeFailure('webgl', CAPTURED.if, { nodes }).summary).toMatch(/^WebGL: cannot run nodes a \(If\), b \(If\), c \(If\) and 2 more: subgraphs/);
    expect(describeFailure('webgl', 'something new')).toEqual({ summary: 'WebGL: something new', raw: 'something new' });
  });

  it('failureContext lists nodes inside subgraphs and the inputs with their types', () => {
    expect(byId.if.nodes).toEqual([
      { name: 'gate', opType: 'If', subgraph: true },
      { name: 'then_relu', opType: 'Relu', subgraph: false },
      { name: 'else_neg', opType: 'Neg', subgraph: false },
    ]);
    expect(byId.if.inputs).toEqual([
      { name: 'x', dtype: 'float32' },
      { name: 'cond', dtype: 'bool' },
    ]);
  });

  it('the refusal models are valid ONNX: onnxruntime-node runs each (If takes the then branch: Relu)', async () => {
    for (const c of webglRefusalCases()) {
      const session = await ort.InferenceSession.create(encodeModel(c.model), { intraOpNumThreads: 1 });
      const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, new ort.Tensor(v.type, v.data as never, v.dims)]));
      const out = await session.run(feeds);
      expect(Object.keys(out), c.id).toEqual(['y']);
      if (c.id === 'if') expect(Array.from(out.y.data as Float32Array)).toEqual([1, 0, 3]);
      await session.release();
    }
  });
});
