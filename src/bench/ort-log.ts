/**
 * Reading onnxruntime's messages: a failed session's error as one line a user understands, and
 * the nodes its verbose log says were placed on the CPU instead of the chosen provider.
 */

/** "cannot resolve operator 'HardSigmoid' with opsets: ai.onnx v9" -> "WebGL: operator HardSigmoid not supported at opset 9 (…)" */
export function describeFailure(backend: string, message: string): string {
  const m = message.replace(/^Unexpected error: /, '');
  const op = /cannot resolve operator '([^']+)' with opsets: ([^\n]+)/i.exec(m);
  const label = backend === 'webgl' ? 'WebGL' : backend === 'webgpu' ? 'WebGPU' : 'wasm';
  const dims = /input tensor\[(\d+)\] check failed: expected shape '\[([^']*)\]' but got \[([^\]]*)\]/.exec(m);
  if (dims && dims[2].split(',').some((d) => d === '')) {
    const declared = dims[2].split(',').map((d) => (d === '' ? '?' : d)).join(', ');
    return `${label}: onnxruntime's WebGL backend does not run inputs with symbolic dims (input ${dims[1]} is declared [${declared}], fed [${dims[3].split(',').join(', ')}]); a model exported with fixed dims would run`;
  }
  if (op) {
    const opset = /ai\.onnx v(\d+)/.exec(op[2]);
    return `${label}: operator ${op[1]} not supported${opset ? ` at opset ${opset[1]}` : ''} (${op[2].trim()})`;
  }
  return `${label}: ${m}`;
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
