import { describe, expect, it } from 'vitest';
import { decodeWav, frames, resample } from './audio';

/** A WAV file: `channels` interleaved, PCM `bits` (8/16/24/32) or float (32). */
function wav(samples: number[][], rate: number, bits: number, float = false): Uint8Array {
  const channels = samples.length;
  const n = samples[0].length;
  const width = bits / 8;
  const data = n * channels * width;
  const b = new Uint8Array(44 + data);
  const v = new DataView(b.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((ch, i) => (b[at + i] = ch.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + data, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, float ? 3 : 1, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * channels * width, true);
  v.setUint16(32, channels * width, true);
  v.setUint16(34, bits, true);
  ascii(36, 'data');
  v.setUint32(40, data, true);
  let at = 44;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const x = samples[c][i];
      if (float) v.setFloat32(at, x, true);
      else if (bits === 8) b[at] = Math.round(x * 128) + 128;
      else if (bits === 16) v.setInt16(at, Math.round(x * 32767), true);
      else if (bits === 24) {
        const q = Math.round(x * 8388607);
        b[at] = q & 255;
        b[at + 1] = (q >> 8) & 255;
        b[at + 2] = (q >> 16) & 255;
      } else v.setInt32(at, Math.round(x * 2147483647), true);
      at += width;
    }
  }
  return b;
}

const sine = (n: number, f: number, rate: number) => Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / rate));

describe('decodeWav', () => {
  it('reads PCM 8/16/24/32 and float32, mixing channels to mono', () => {
    const left = sine(200, 440, 8000);
    const right = left.map((x) => -x * 0.5);
    for (const [bits, float, tol] of [[8, false, 1 / 100], [16, false, 1e-4], [24, false, 1e-6], [32, false, 1e-8], [32, true, 1e-7]] as const) {
      const a = decodeWav('t.wav', wav([left, right], 8000, bits, float));
      expect(a.sampleRate).toBe(8000);
      expect(a.channels).toBe(2);
      expect(a.samples.length).toBe(200);
      for (let i = 0; i < 200; i++) expect(Math.abs(a.samples[i] - (left[i] + right[i]) / 2)).toBeLessThan(tol);
    }
  });

  it('names what is wrong with a file that is not a WAV it can read', () => {
    expect(() => decodeWav('song.mp3', new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow('song.mp3: not a WAV file (no RIFF/WAVE header)');
    const adpcm = wav([[0, 0]], 8000, 16);
    new DataView(adpcm.buffer).setUint16(20, 2, true);
    expect(() => decodeWav('a.wav', adpcm)).toThrow(/WAV format 2 is not PCM or float/);
    expect(() => decodeWav('cut.wav', wav([[0, 0]], 8000, 16).subarray(0, 30))).toThrow(/cut\.wav: its fmt chunk is cut short/);
  });
});

describe('resample', () => {
  it('keeps a tone below both Nyquist rates (44.1 kHz -> 16 kHz and 8 kHz -> 16 kHz)', () => {
    for (const [from, to] of [[44100, 16000], [8000, 16000]]) {
      const x = Float32Array.from(sine(from, 1000, from)); // one second
      const y = resample(x, from, to);
      expect(y.length).toBe(to);
      const want = sine(to, 1000, to);
      // away from the edges the band-limited interpolation is within 1% of the tone's amplitude
      let worst = 0;
      for (let i = 200; i < to - 200; i++) worst = Math.max(worst, Math.abs(y[i] - want[i]));
      expect(worst).toBeLessThan(0.005);
    }
  });

  it('removes a tone above the new Nyquist rate instead of folding it down', () => {
    const x = Float32Array.from(sine(48000, 12000, 48000)); // 12 kHz: above 8 kHz, the Nyquist rate of 16 kHz
    const y = resample(x, 48000, 16000);
    let rms = 0;
    for (let i = 200; i < y.length - 200; i++) rms += y[i] * y[i];
    rms = Math.sqrt(rms / (y.length - 400));
    expect(rms).toBeLessThan(0.02); // the tone's own RMS is 0.35
    expect(resample(Float32Array.from([0.25, 0.25, 0.25]), 16000, 16000)).toEqual(Float32Array.from([0.25, 0.25, 0.25]));
  });
});

describe('frames', () => {
  it('cuts whole frames at the hop and pads a lone short frame', () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => i);
    expect(frames(x, 4).map((f) => [...f])).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(frames(x, 4, 3).map((f) => f[0])).toEqual([0, 3, 6]);
    expect([...frames(x, 16)[0]]).toEqual([...x, 0, 0, 0, 0, 0, 0]);
  });
});
