import { describe, expect, it } from 'vitest';
import { estimateCompressMemory, estimateOpenMemory, judgeMemory, memoryLimit, recoveryBytes } from './memory-estimate';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('memory estimate', () => {
  it('opening: 1.026x the files (the page way of bench:parse -- --big)', () => {
    expect(estimateOpenMemory({ fileBytes: 3 * GiB }).bytes).toBe(Math.ceil(3 * GiB * 1.026));
    expect(estimateOpenMemory({ fileBytes: 0 }).bytes).toBe(0);
  });

  it('compressing: the open model, a copy of the files held whole, and 3x the result', () => {
    const e = estimateCompressMemory({ fileBytes: 1000 * MiB, outputBytes: 250 * MiB });
    expect(e.bytes).toBe(Math.ceil(1000 * MiB * 1.026 + 1000 * MiB + 3 * 250 * MiB));
    expect(e.basis).toBe('the open model 1.00 GB, a copy of its files 1000 MB and 3x the 250 MB result');
    // int8 of a 3 GB model held whole: past a 4 GB heap, fp16 of a 1 GB one is not
    expect(estimateCompressMemory({ fileBytes: 3 * GiB, outputBytes: 0.75 * GiB }).bytes).toBeGreaterThan(4 * GiB);
    expect(estimateCompressMemory({ fileBytes: 1 * GiB, outputBytes: 0.5 * GiB }).bytes).toBeLessThan(4 * GiB);
  });

  it('compressing a pair whose data file is held in chunks: that file is read from its Blob, not copied', () => {
    // the 2.21 GB pair of docs/EXPORT.md: a 5 KB model file beside a 2.21 GB data file in chunks
    const model = 5000;
    const data = 2_214_592_512;
    const whole = estimateCompressMemory({ fileBytes: model + data, outputBytes: 554_000_000 });
    const byBlob = estimateCompressMemory({ fileBytes: model + data, blobBytes: data, outputBytes: 554_000_000 });
    expect(byBlob.bytes).toBe(Math.ceil((model + data) * 1.026 + model + 3 * 554_000_000));
    expect(whole.bytes - byBlob.bytes).toBe(data);
    expect(byBlob.basis).toBe('the open model 2.12 GB, a copy of the files held whole 4.88 KB (the 2.06 GB of data files read from their Blobs a tensor at a time, not copied) and 3x the 528 MB result');
    // blobBytes is part of fileBytes: never more than the files, never negative
    expect(estimateCompressMemory({ fileBytes: 100, blobBytes: 500, outputBytes: 0 }).bytes).toBe(Math.ceil(100 * 1.026));
    expect(estimateCompressMemory({ fileBytes: 100, blobBytes: -5, outputBytes: 0 }).bytes).toBe(Math.ceil(100 * 1.026 + 100));
  });

  it("recovery: every recovered layer's H at once (cols² float64 per group) plus the largest layer's working set", () => {
    // a transformer block's MatMuls: 4096 columns each, 24 of them: 3 GiB of H before any weight is written
    const big = recoveryBytes(Array.from({ length: 24 }, () => ({ cols: 4096, groups: 1 })));
    expect(big).toBe(24 * 4096 * 4096 * 8 + 4 * 4096 * 4096 * 8);
    expect(big).toBeGreaterThan(3 * GiB);
    expect(recoveryBytes([{ cols: 9, groups: 32 }])).toBe(32 * 81 * 8 + 4 * 81 * 8);
    // recovery "sequential": the teacher's cross term beside H
    expect(recoveryBytes([{ cols: 9, groups: 32, matrices: 2 }])).toBe(2 * 32 * 81 * 8 + 4 * 81 * 8);
    const e = estimateCompressMemory({ fileBytes: 100 * MiB, outputBytes: 25 * MiB, recoveryBytes: big });
    expect(e.bytes).toBe(Math.ceil(100 * MiB * 1.026 + 100 * MiB + 75 * MiB + big));
    expect(e.basis).toMatch(/and 3\.50 GB for recovery's input statistics/);
  });

  it('the limit: jsHeapSizeLimit first, else half of deviceMemory, else none', () => {
    expect(memoryLimit({ jsHeapSizeLimit: 4 * GiB, deviceMemoryGiB: 8 })).toEqual({ bytes: 4 * GiB, source: "the browser's heap limit for this tab" });
    expect(memoryLimit({ deviceMemoryGiB: 8 })).toEqual({ bytes: 4 * GiB, source: "half of the device's 8 GB" });
    expect(memoryLimit({ jsHeapSizeLimit: 0, deviceMemoryGiB: 2 })?.bytes).toBe(GiB);
    expect(memoryLimit({})).toBeUndefined();
    expect(memoryLimit({ deviceMemoryGiB: Number.NaN })).toBeUndefined();
  });

  it('warns past the limit with the estimate, the limit and what to try, and goes on', () => {
    const open = judgeMemory('open', estimateOpenMemory({ fileBytes: 3 * GiB }), { bytes: 4 * GiB * 0.5, source: "half of the device's 4 GB" });
    expect(open.likelyOut).toBe(true);
    expect(open.message).toBe(
      "Opening this model needs about 3.08 GB (1.026x the files), more than 2.00 GB (half of the device's 4 GB): the tab may run out of memory. For models over 2 GB use the command line (npm run cli -- compress), which reads weights a tensor at a time; close other tabs to free memory. Going on anyway.",
    );
    const compress = judgeMemory('compress', estimateCompressMemory({ fileBytes: GiB, outputBytes: GiB }), { bytes: 4 * GiB, source: 'x' });
    expect(compress.likelyOut).toBe(true);
    expect(compress.message).toMatch(/^Compressing this model needs about 5\.03 GB \(.+\), more than 4\.00 GB \(x\): .+ Try fewer layers in the recipe, close other tabs, or use the command line/);
  });

  it('under the limit, or with no limit known, says the estimate only', () => {
    const ok = judgeMemory('open', estimateOpenMemory({ fileBytes: 100 * MiB }), { bytes: 4 * GiB, source: 'heap' });
    expect(ok).toMatchObject({ likelyOut: false, message: 'Opening this model needs about 103 MB of 4.00 GB (heap).' });
    const unknown = judgeMemory('open', estimateOpenMemory({ fileBytes: 100 * MiB }), undefined);
    expect(unknown.likelyOut).toBe(false);
    expect(unknown.message).toBe('Opening this model needs about 103 MB (1.026x the files); this browser does not say how much memory a tab has.');
  });
});
