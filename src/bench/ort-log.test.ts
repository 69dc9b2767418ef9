import { describe, expect, it } from 'vitest';
import { cpuFallbacks, describeFailure } from './ort-log';

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
    expect(describeFailure('webgl', "Unexpected error: cannot resolve operator 'HardSigmoid' with opsets: ai.onnx v9")).toBe(
      'WebGL: operator HardSigmoid not supported at opset 9 (ai.onnx v9)',
    );
    expect(describeFailure('webgl', "input tensor[0] check failed: expected shape '[,1,8,8]' but got [1,1,8,8]")).toMatch(
      /^WebGL: onnxruntime's WebGL backend does not run inputs with symbolic dims \(input 0 is declared \[\?, 1, 8, 8\], fed \[1, 1, 8, 8\]\)/,
    );
    expect(describeFailure('webgpu', 'no adapter')).toBe('WebGPU: no adapter');
  });
});
