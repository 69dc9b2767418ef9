import { describe, expect, it } from 'vitest';
import type { CompressProgress } from './compress-api';
import { throttled } from './compress-progress';

const at = (done: number, extra: Partial<CompressProgress> = {}): CompressProgress => ({ stage: 'compress', done, total: 21, layerKey: done ? `l${done}` : '', finished: done ? [`l${done}`] : [], ...extra });

describe('throttled compress progress', () => {
  it('thins reports to one per 40 ms, but always says a pass of layer inputs starting and ending, and gathers the finished layers', () => {
    let clock = 0;
    const sent: CompressProgress[] = [];
    const report = throttled((p) => sent.push(p), () => clock);
    report(at(0));
    // right after (same millisecond): a pass starts (sample 0), then its samples, then it ends
    report(at(0, { finished: [], inputs: { pass: 0, passes: 2, done: 0, total: 6 } }));
    report(at(0, { finished: [], inputs: { pass: 0, passes: 2, done: 3, total: 6 } }));
    report(at(0, { finished: [] }));
    report(at(1));
    clock = 50;
    report(at(2));
    expect(sent.map((p) => [p.done, p.inputs?.done ?? null])).toEqual([
      [0, null],
      [0, 0],
      [0, null],
      [2, null],
    ]);
    // the layer finished within the 40 ms is not lost: it comes with the next report
    expect(sent[3].finished).toEqual(['l1', 'l2']);
  });
});
