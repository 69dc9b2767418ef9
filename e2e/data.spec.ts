/**
 * The Data tab (issue #11) on models whose inputs random data cannot stand for:
 *
 * - a text-recognizer-like model `x float32[1, 3, 48, ?]` (unnamed width): with no data every
 *   consumer refuses to guess the width (never a silent 1); text lines rendered by the browser's
 *   canvas at 48x320 become its data, with the size set once under Preprocessing; the preview,
 *   the split, the runtime check and the Benchmark all use them, a reload keeps them, and the
 *   exported data.json is what `cli eval --data` reads to make the same inputs.
 * - a voice-activity-like model (an audio frame of unnamed length, an `sr` scalar, a recurrent
 *   state): a wav file is cut into frames of the length the user sets, `sr` gets the rate and the
 *   state is fed back from its output frame after frame (the original model runs the frames), each
 *   said, and the benchmark runs on them. mp3 and ogg files go through the browser's decoder.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { encodeModel } from '../src/onnx/codec';
import { recognizerModel } from '../src/testing/recognizer';
import { toneWav, vadModel } from '../src/testing/vad';
import { expect, test } from './helpers';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-data-'));
test.afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function open(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  await page.goto('/?empty');
  await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await expect(page.getByTestId('topbar-file')).toHaveText(name, { timeout: 30_000 });
}

async function compress(page: Page): Promise<void> {
  await page.getByTestId('tab-graph').click();
  await page.getByTestId('target-portable').click();
  await page.getByTestId('preset-int8').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
}

/** A short benchmark on wasm with one thread (the Benchmark tab is open). */
async function benchmarkWasm1(page: Page): Promise<void> {
  await expect(page.locator('[data-testid="bench-backend"][data-available="unknown"]')).toHaveCount(0, { timeout: 30_000 });
  for (const b of ['wasm-n', 'webgl', 'webgpu']) {
    const box = page.getByTestId(`bench-backend-${b}`);
    if (!(await box.isDisabled())) await box.setChecked(false);
  }
  await page.getByTestId('bench-max-runs').fill('5');
  await page.getByTestId('bench-max-seconds').fill('0.5');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-panel')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
}

/** Text lines drawn by the page's own canvas (fonts, anti-aliasing: a real rendering), as PNG files. */
async function canvasTextLines(page: Page, n: number): Promise<{ name: string; mimeType: string; buffer: Buffer }[]> {
  const urls = await page.evaluate((count) => {
    const words = ['invoice', 'total 42.10', 'Main Street 7', 'receipt no. 3315', 'VAT 19%', 'thank you', 'card **** 4411', 'date 05.12.2026'];
    return Array.from({ length: count }, (_, i) => {
      const c = document.createElement('canvas');
      c.width = 320;
      c.height = 48;
      const g = c.getContext('2d')!;
      g.fillStyle = `rgb(${235 - i * 3}, ${232 - i * 2}, 220)`;
      g.fillRect(0, 0, 320, 48);
      g.fillStyle = '#1a1a2e';
      g.font = `${26 + (i % 3) * 2}px sans-serif`;
      g.fillText(words[i % words.length], 8 + (i % 4) * 6, 34);
      return c.toDataURL('image/png');
    });
  }, n);
  return urls.map((u, i) => ({ name: `line-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(u.split(',')[1], 'base64') }));
}

test('a recognizer with an unnamed width: refused on random inputs, measured on canvas-rendered 48x320 text lines everywhere', async ({ page }) => {
  test.setTimeout(240_000);
  const modelBytes = encodeModel(recognizerModel(5, null));
  await open(page, 'recognizer.onnx', modelBytes);

  // no data: the width has no size, and nothing runs at a made-up one
  await page.getByTestId('tab-data').click();
  await expect(page.getByTestId('data-random-mark')).toBeVisible();
  await expect(page.locator('[data-testid="data-dim"][data-dim="x[3]"]')).toHaveAttribute('data-basis', 'none');
  await compress(page);
  await page.getByTestId('compress-verify-run').click();
  await expect(page.getByTestId('compress-verify-error')).toHaveText(/Random inputs need a size for "x\[3\]": set it in the Data tab/);
  await page.getByTestId('compress-close').click();
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-data-line')).toContainText('Random inputs need a size for "x[3]"');

  // eight text lines rendered by the browser: the width is not fixed by the model, so it is asked
  const lines = await canvasTextLines(page, 8);
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-files-input').setInputFiles(lines);
  await expect(page.getByTestId('data-error')).toHaveText(/width of input "x" \(dim x\[3\]\) is not fixed by the model; set the image size under Preprocessing/);
  await page.getByTestId('data-image-width').fill('320');
  await expect(page.getByTestId('data-summary')).toHaveText(/^8 images, each x float32\[1, 3, 48, 320\] \(stretch, rgb, 0to1\)/, { timeout: 30_000 });
  await expect(page.locator('[data-testid="data-dim"][data-dim="x[3]"]')).toHaveAttribute('data-basis', 'data');
  await expect(page.getByTestId('data-split-line')).toHaveText(/^4 calibrate .*, 4 evaluate .*never the same samples/);
  await expect(page.getByTestId('data-preview-picture')).toHaveCount(6);
  // the values the model sees: 0..1 pixels, mostly light paper
  const range = await page.getByTestId('data-range').innerText();
  const [lo, hi] = /values (\S+) … (\S+),/.exec(range)!.slice(1).map(Number);
  expect(lo).toBeGreaterThanOrEqual(0);
  expect(hi).toBeLessThanOrEqual(1);
  expect(hi - lo).toBeGreaterThan(0.5);

  // the runtime check runs the evaluation samples at their real size
  await page.getByTestId('compress-show').click();
  await page.getByTestId('compress-verify-run').click();
  await expect(page.getByTestId('compress-verify')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('compress-verify-inputs')).toHaveText(/4 evaluation samples of your data \(x float32\[1, 3, 48, 320\]\)/);
  await expect(page.getByTestId('compress-verify-random')).toHaveCount(0);
  await page.getByTestId('compress-close').click();

  // the Benchmark too
  await page.getByTestId('tab-bench').click();
  await expect(page.getByTestId('bench-data-line')).toContainText('4 evaluation samples: 8 images, each x float32[1, 3, 48, 320]');
  await benchmarkWasm1(page);
  await expect(page.getByTestId('bench-setup')).toHaveText(/x float32\[1, 3, 48, 320\].*4 given input sets/);
  await expect(page.getByTestId('bench-results-random')).toHaveCount(0);

  // int8 activations calibrate on the calibration part at the same size, and say so
  await page.getByTestId('tab-graph').click();
  await page.getByTestId('target-wasm').click();
  await page.getByTestId('defaults-weights-int8').click();
  await page.getByTestId('defaults-activations-int8').click();
  await page.getByTestId('compress-button').click();
  await expect(page.getByTestId('compress-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('compress-notes')).toContainText('int8 activations: calibrated on 4 calibration samples of 8 images, each x float32[1, 3, 48, 320]');
  await page.getByTestId('compress-close').click();

  // Explore's search scores candidates on the evaluation part at the same size
  await page.getByTestId('tab-explore').click();
  await expect(page.getByTestId('explore-data')).toContainText('8 images, each x float32[1, 3, 48, 320]');
  await expect(page.getByTestId('explore-random-mark')).toHaveCount(0);
  await page.getByTestId('search-ratio').fill('40');
  await page.getByTestId('run-search').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('explore-status')).toContainText('x float32[1, 3, 48, 320]');
  await expect(page.getByTestId('explore-found')).toBeVisible();
  // target wasm: the fastest configuration with cosine >= 0.95, int8 activations calibrated on the calibration part
  await page.getByTestId('search-goal').selectOption('latency');
  await page.getByTestId('search-floor').fill('0.95');
  await page.getByTestId('run-search').click();
  await expect(page.getByTestId('explore-status')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('explore-status')).toContainText('int8 activations calibrated on 4 calibration samples');
  await expect(page.getByTestId('explore-found')).toBeVisible();
  await expect(page.getByTestId('explore-found-speed')).toContainText('Timed side by side');
  console.log(`recognizer, fastest on wasm with cosine >= 0.95: ${await page.getByTestId('explore-found').innerText()}`);

  // the description for the CLI: the same inputs from the same files
  await page.getByTestId('tab-data').click();
  const download = page.waitForEvent('download');
  await page.getByTestId('data-export').click();
  const dataJson = path.join(tmp, 'data.json');
  await (await download).saveAs(dataJson);
  const described = JSON.parse(fs.readFileSync(dataJson, 'utf8')) as { format: string; image: { width: number }; calibration: number };
  expect(described.format).toBe('onnx-studio-data');
  expect(described.image.width).toBe(320);
  // the page's split travels with it: the CLI evaluates the same 4 samples
  expect(described.calibration).toBe(4);
  const dir = path.join(tmp, 'lines');
  fs.mkdirSync(dir, { recursive: true });
  for (const l of lines) fs.writeFileSync(path.join(dir, l.name), l.buffer);
  const modelFile = path.join(tmp, 'recognizer.onnx');
  fs.writeFileSync(modelFile, modelBytes);
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', modelFile, modelFile, '--samples', dir, '--data', dataJson, '--json', '--max-seconds', '0.2'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(cli.stderr).toBe('');
  expect(cli.status).toBe(0);
  expect(cli.stdout).toContain('x float32[1, 3, 48, 320]');
  expect(cli.stdout).toContain('4 calibrate, 4 evaluate (never the same samples)');

  // a reload brings the data back (kept with the session in IndexedDB)
  await page.goto('/');
  await page.getByTestId('tab-data').click();
  await expect(page.getByTestId('data-summary')).toHaveText(/^8 images, each x float32\[1, 3, 48, 320\]/, { timeout: 30_000 });
});

test('a voice-activity model: wav frames of the length the user sets, the rate said, the state fed back frame after frame, benchmarked', async ({ page }) => {
  test.setTimeout(180_000);
  await open(page, 'vad.onnx', encodeModel(vadModel()));
  await page.getByTestId('tab-data').click();
  await page.getByTestId('data-files-input').setInputFiles({ name: 'speech.wav', mimeType: 'audio/wav', buffer: Buffer.from(toneWav(1)) });
  // the frame length is the input's unnamed dim: asked, in the studio's words
  await expect(page.getByTestId('data-error')).toHaveText(/set the size of input\[1\] under Inputs/);
  await expect(page.getByTestId('data-audio-prep')).toBeVisible();
  await page.getByTestId('data-dim-input[1]').fill('512');
  // the state input pairs with the stateN output: the original model runs over the frames and
  // each frame gets the state the frame before left (zeros at the file's start)
  const fedBack = /^31 frames of 512 samples at 16000 Hz from 1 audio file, each input float32\[1, 512\]; sr = 16000; state = stateN of the previous frame, run by the original model \(zeros \[2, 1, 64\] at each file's start\)/;
  await expect(page.getByTestId('data-summary')).toHaveText(fedBack, { timeout: 30_000 });
  await expect(page.getByTestId('data-input-note-sr')).toHaveText('sr = 16000');
  await expect(page.getByTestId('data-feedback-state')).toBeChecked();
  await expect(page.getByTestId('data-preview-wave')).toHaveCount(6);
  // off: zeros every frame, said; on again
  await page.getByTestId('data-feedback-state').uncheck();
  await expect(page.getByTestId('data-summary')).toHaveText(/; state = zeros \[2, 1, 64\]/, { timeout: 30_000 });
  await expect(page.getByTestId('data-feedback-state')).not.toBeChecked();
  await page.getByTestId('data-feedback-state').check();
  await expect(page.getByTestId('data-summary')).toHaveText(fedBack, { timeout: 30_000 });

  await compress(page);
  await page.getByTestId('compress-close').click();
  await page.getByTestId('tab-bench').click();
  await benchmarkWasm1(page);
  await expect(page.getByTestId('bench-setup')).toHaveText(/input float32\[1, 512\], sr int64\[\], state float32\[2, 1, 64\].*16 given input sets/);
  const row = page.locator('[data-testid="bench-row"][data-backend="wasm-1"][data-model="compressed"]');
  await expect(row).toHaveAttribute('data-ok', 'true');
  // the scalar output is judged per sample over every set: decisions at 0.5 and absolute errors
  const fidelity = page.locator('[data-testid="bench-fidelity-row"][data-backend="wasm-1"][data-output="output"]');
  await expect(fidelity).toHaveAttribute('data-kind', 'scalar');
});

for (const format of ['mp3', 'ogg'] as const) {
  test(`${format} audio is decoded by the browser, resampled and framed like wav`, async ({ page }) => {
    await open(page, 'vad.onnx', encodeModel(vadModel()));
    await page.getByTestId('tab-data').click();
    await page.getByTestId('data-dim-input[1]').fill('512');
    const bytes = fs.readFileSync(path.join(root, 'e2e', 'fixtures', `tone.${format}`));
    await page.getByTestId('data-files-input').setInputFiles({ name: `speech.${format}`, mimeType: format === 'mp3' ? 'audio/mpeg' : 'audio/ogg', buffer: bytes });
    // 1 s of a 16 kHz tone (scripts/make-audio-fixtures.sh): the decoder's rate is resampled to
    // 16 kHz; an mp3 encoder pads up to two frames of its own
    await expect(page.getByTestId('data-summary')).toHaveText(/^(3[0-4]) frames of 512 samples at 16000 Hz from 1 audio file/, { timeout: 30_000 });
    // the tone comes and goes: the frames are real audio, not silence
    const range = await page.getByTestId('data-range').innerText();
    const [lo, hi] = /values (\S+) … (\S+),/.exec(range)!.slice(1).map(Number);
    expect(hi).toBeGreaterThan(0.3);
    expect(lo).toBeLessThan(-0.3);
  });
}

test('a .npy gives the symbolic dims their sizes (said "from the data"); a .npy of the wrong shape is refused by name, the input says it is not fed, and random inputs still work', async ({ page }) => {
  test.setTimeout(120_000);
  await open(page, 'recognizer.onnx', encodeModel(recognizerModel(5, null)));
  await page.getByTestId('tab-data').click();
  await expect(page.locator('[data-testid="data-dim"][data-dim="x[3]"]')).toHaveAttribute('data-basis', 'none');
  // numpy.stack of 4 lines [4, 3, 48, 320] for the batch-1 input: 4 samples, and the width they fix
  const { encodeNpy } = await import('../src/bench/npy');
  const stacked = encodeNpy('float32', [4, 3, 48, 320], new Float32Array(4 * 3 * 48 * 320).map((_, i) => (i % 97) / 97));
  await page.getByTestId('data-files-input').setInputFiles({ name: 'lines.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(stacked) });
  await expect(page.getByTestId('data-summary')).toHaveText(/^4 input sets from 1 file \(x float32\[1, 3, 48, 320\]\)/, { timeout: 30_000 });
  await expect(page.locator('[data-testid="data-dim"][data-dim="x[3]"]')).toHaveAttribute('data-basis', 'data');
  await expect(page.getByTestId('data-dim-x[3]')).toHaveAttribute('placeholder', '320');
  // an empty folder: said, and the data stays (it used to switch to random inputs in silence)
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  await page.getByTestId('data-folder-input').setInputFiles(empty);
  await expect(page.getByTestId('data-empty-pick')).toHaveText('The chosen folder holds no files: the data is unchanged.');
  await expect(page.getByTestId('data-summary')).toHaveText(/^4 input sets from 1 file/);
  // the wrong rank: refused, naming the file and both shapes; the input is not fed, said so
  const wrong = encodeNpy('float32', [4, 3, 100], new Float32Array(1200));
  await page.getByTestId('data-files-input').setInputFiles({ name: 'wrong.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(wrong) });
  await expect(page.getByTestId('data-error')).toHaveText('wrong.npy: "x" has shape [4, 3, 100], the model\'s input "x" has rank 4 ([1, 3, 48, ?])', { timeout: 30_000 });
  await expect(page.getByTestId('data-input-waiting-x')).toHaveText('nothing: the data could not be used (see Samples above)');
  await page.getByTestId('data-clear').click();
  await expect(page.getByTestId('data-random-mark')).toBeVisible();
});
