import { describe, expect, it } from 'vitest';
import { estimateCompressMemory, estimateOpenMemory, judgeMemory, memoryLimit, recoveryMemory, RECOVERY_RUNTIME } from './memory-estimate';

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

  it("recovery in one pass: the H of the largest pass of layers (streamed), one statistics run (its float32 outputs twice, the layer input rows up to 512 MiB), the runtime's copy of the weights, onnxruntime", () => {
    // a transformer block's MatMuls: 4096 columns each, 24 of them: 3 GiB of H in all, but a pass
    // holds two (64 MiB of float32 outputs each, 128 MiB a pass): 128 MiB of float32 sums, and the
    // H of the layer being written, float32 as its sums (64 MiB), at a time
    const H = 4096 * 4096 * 8;
    const big = recoveryMemory(Array.from({ length: 24 }, () => ({ cols: 4096, groups: 1 })), 100 * MiB);
    expect(big.streamed).toBe(true);
    expect(big.h).toBe(128 * MiB + H / 2);
    // float32 outputs 64 MiB a layer: two layers a pass (128 MiB), twice (the runtime's and JavaScript's copies)
    expect(big.statistics).toBe(2 * 128 * MiB + 512 * MiB);
    expect(big.models).toBe(100 * MiB);
    expect(big.rounds).toBe(0);
    // GPTQ's workspace: one 4096² float32 matrix
    expect(big.solver).toBe(64 * MiB);
    expect(big.bytes).toBe(128 * MiB + H / 2 + 768 * MiB + 100 * MiB + RECOVERY_RUNTIME + 64 * MiB);
    // a layer larger than the budget is a pass alone; small models: the rows counted as H's size
    const small = recoveryMemory([{ cols: 9, groups: 32 }], 1000);
    expect(small).toEqual({ bytes: 32 * 81 * 8 + (32 * 81 * 4 * 2 + 32 * 81 * 8) + 1000 + 300 * MiB + 81 * 4, h: 32 * 81 * 8, streamed: true, rounds: 0, statistics: 32 * 81 * 4 * 2 + 32 * 81 * 8, models: 1000, runtime: 300 * MiB, solver: 81 * 4 });
    expect(recoveryMemory([{ cols: 8192, groups: 1 }], 0).statistics).toBe(2 * 256 * MiB + 512 * MiB);
    expect(recoveryMemory([], 1000).bytes).toBe(0);
    // Conv weights are not fed: a session holds them once more (at most the model's bytes)
    expect(recoveryMemory([{ cols: 9, groups: 32 }], 1000, 4, 300).models).toBe(1300);
    expect(recoveryMemory([{ cols: 9, groups: 32 }], 1000, 4, 5000).models).toBe(2000);
    const e = estimateCompressMemory({ fileBytes: 100 * MiB, outputBytes: 25 * MiB, recovery: big });
    expect(e.bytes).toBe(Math.ceil(100 * MiB * 1.026 + 100 * MiB + 75 * MiB + big.bytes));
    expect(e.basis).toBe(
      'the open model 103 MB, a copy of its files 100 MB and 3x the 25.0 MB result, and 1.39 GB for recovery: the H of one pass of layers at a time 192 MB (the largest pass; each is freed once its layers are written), a statistics run 768 MB, the runtime\'s copy of the weights 100 MB, GPTQ\'s workspace 64.0 MB and onnxruntime with the calibration data 300 MB',
    );
  });

  it("recovery sequential: one round's H, the larger of a statistics run and a later round's cross terms; the prefix and the original side by side", () => {
    // 12 layers of 8,192 columns (512 MiB of H each) in 4 rounds of 3
    const H = 8192 * 8192 * 8;
    const seq = recoveryMemory(Array.from({ length: 12 }, () => ({ cols: 8192, groups: 1, sequential: true })), 10 * MiB, 4);
    expect(seq.streamed).toBe(false);
    expect(seq.h).toBe(3 * H);
    // a pass per layer (256 MiB of float32 outputs, over the budget), twice, and 512 MiB of rows
    expect(seq.statistics).toBe(2 * 256 * MiB + 512 * MiB);
    expect(seq.rounds).toBe(3 * H);
    expect(seq.models).toBe(20 * MiB);
    // the teacher's float64 solve of a later round's 8192×8192 layer: (2n² + 2Rn) × 8
    expect(seq.solver).toBe(4 * H);
    expect(seq.bytes).toBe(3 * H + 3 * H + 20 * MiB + RECOVERY_RUNTIME + 4 * H);
    // layers asking plain gptq keep the first round's H until the prefix after their own round: held beside each round before
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i !== 11 })), 0, 4).h).toBe(4 * H);
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i < 6 })), 0, 4).h).toBe(9 * H);
    // a small round: the statistics run is the larger
    const small = recoveryMemory([64, 64, 128, 128].map((c) => ({ cols: c, groups: 1, sequential: true })), 0, 4);
    expect(small.rounds).toBe(128 * 128 * 8);
    expect(small.bytes).toBe(small.h + small.statistics + RECOVERY_RUNTIME + small.solver);
    // the first round is the original's (one pass): its layers are not collected again
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i < 3 })), 0, 4).rounds).toBe(0);
    // layers asking plain gptq keep the first round's H
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i !== 11 })), 0, 4).rounds).toBe(3 * H);
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i < 10 })), 0, 4).rounds).toBe(3 * H);
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i < 9 || i === 11 })), 0, 4).rounds).toBe(3 * H);
    expect(recoveryMemory(Array.from({ length: 12 }, (_, i) => ({ cols: 8192, groups: 1, sequential: i < 3 || i > 9 })), 0, 4).rounds).toBe(2 * H);
    expect(estimateCompressMemory({ fileBytes: 10 * MiB, outputBytes: 0, recovery: seq }).basis).toMatch(
      /the H of one round of layers at a time 1\.50 GB \(the largest, with the layers asking plain gptq still to be written; a round's are freed once the next round's prefix has their codes\), the larger of a statistics run 1\.00 GB and a sequential round's cross terms 1\.50 GB, the runtime's copy of the weights 20\.0 MB/,
    );
  });

  it('recovery on resnet18 (torchvision, 224x224): the parts measured in docs/RECIPE-NOTES.md "Memory"', () => {
    // the recovered layers' columns in graph order (conv1, layer1 … layer4 with their downsamples, fc)
    const cols = [147, 576, 576, 576, 576, 576, 1152, 64, 1152, 1152, 1152, 2304, 128, 2304, 2304, 2304, 4608, 256, 4608, 4608, 512];
    const file = 46_733_663;
    const outs = [64, 64, 64, 64, 64, 128, 128, 128, 128, 128, 256, 256, 256, 256, 256, 512, 512, 512, 512, 512, 1000];
    const gptq = recoveryMemory(cols.map((c, i) => ({ cols: c, groups: 1, rows: outs[i] })), file);
    // every layer's H is 738 MB; streamed, the largest pass is the first: conv1 … layer4.0.conv1
    // (113 MB of float32 outputs and sums, its widest layer's H 21 MB), the others a 4608-column
    // layer each (85 MB of float32 sums beside its 85 MB float32 H, with fc in the last: the most held)
    expect(gptq.streamed).toBe(true);
    expect(gptq.h).toBe(4608 * 4608 * 8 + 512 * 512 * 4);
    expect(gptq.statistics).toBe(2 * 112_972_196 + 512 * MiB);
    // GPTQ's workspace: one 4608² float32 matrix
    expect(gptq.solver).toBe(4608 * 4608 * 4);
    // (the runtime's copy of the weights once: 2x before the statistics fed them with each run)
    expect(gptq.bytes).toBe(1_909_029_198 - 738_173_768 + 4608 * 4608 * 8 + 512 * 512 * 4 + 4608 * 4608 * 4 - file);
    const seq = recoveryMemory(cols.map((c, i) => ({ cols: c, groups: 1, rows: outs[i], sequential: true })), file);
    // last round: layer4.0.conv2 … fc, their H and cross terms (512 MB each; the cross terms under the statistics run)
    const last = 8 * (3 * 4608 * 4608 + 256 * 256 + 512 * 512);
    expect(seq.rounds).toBe(last);
    expect(seq.h).toBe(last);
    // the teacher's float64 solve of a 4608-column layer with 512 outputs
    expect(seq.solver).toBe((2 * 4608 * 4608 + 2 * 512 * 4608) * 8);
    expect(seq.bytes).toBe(last + seq.statistics + 2 * file + RECOVERY_RUNTIME + seq.solver);
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
    // a video model (r3d-18, 127 MB): three 13,824-column Conv3d layers, recovery most of the estimate: what to try is about recovery
    const r3d = recoveryMemory([13824, 13824, 13824, 6912].map((cols) => ({ cols, groups: 1, rows: 512 })), 127 * MiB);
    const video = judgeMemory('compress', estimateCompressMemory({ fileBytes: 127 * MiB, outputBytes: 32 * MiB, recovery: r3d }), { bytes: 4 * GiB, source: 'x' });
    expect(video.likelyOut).toBe(true);
    expect(video.estimate.recoveryBytes).toBe(r3d.bytes);
    expect(video.message).toMatch(/the tab may run out of memory\. Most of it is recovery's: .+ Try recovery "bias", or "gptq" on fewer layers .+\(npm run cli -- compress --recovery gptq --samples DIR\), which has no per-tab limit\. Going on anyway\.$/);
    expect(video.message).not.toMatch(/models over 2 GB/);
  });

  it('under the limit, or with no limit known, says the estimate only', () => {
    const ok = judgeMemory('open', estimateOpenMemory({ fileBytes: 100 * MiB }), { bytes: 4 * GiB, source: 'heap' });
    expect(ok).toMatchObject({ likelyOut: false, message: 'Opening this model needs about 103 MB of 4.00 GB (heap).' });
    const unknown = judgeMemory('open', estimateOpenMemory({ fileBytes: 100 * MiB }), undefined);
    expect(unknown.likelyOut).toBe(false);
    expect(unknown.message).toBe('Opening this model needs about 103 MB (1.026x the files); this browser does not say how much memory a tab has.');
  });
});
