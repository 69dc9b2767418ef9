/** The Data tab's line under "calibrate on N samples": what each part of the data is used for. */
export function splitLine(p: { overlap?: boolean; calibrationCount: number; evaluationCount: number }): string {
  if (p.overlap) return '1 sample: it both calibrates and evaluates';
  return `${p.calibrationCount} calibrate (int8 activations, recovery), ${p.evaluationCount} evaluate (runtime check, Benchmark, Explore): never the same samples`;
}
