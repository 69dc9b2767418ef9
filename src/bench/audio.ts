/**
 * Audio as model inputs: WAV decoding (the CLI's; the page uses the browser's decoder for wav, mp3
 * and ogg), resampling to the model's rate and cutting into frames of the model's length. Pure.
 *
 * Resampling is band-limited interpolation: each output sample is a Hann-windowed sinc sum of the
 * input around its position, with the cutoff at the lower of the two Nyquist rates (so shrinking
 * the rate does not alias), 16 zero crossings each side.
 */
import { AppError } from '../core/errors';

export interface DecodedAudio {
  sampleRate: number;
  /** mono: channels averaged */
  samples: Float32Array;
  channels: number;
}

const bad = (where: string, msg: string) => new AppError('invalid-argument', `${where}: ${msg}`);

function tag(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

/** Decodes a RIFF WAVE file: PCM 8/16/24/32-bit integer or 32/64-bit float, any channel count (mixed to mono). */
export function decodeWav(where: string, bytes: Uint8Array): DecodedAudio {
  if (bytes.length < 12 || tag(bytes, 0) !== 'RIFF' || tag(bytes, 8) !== 'WAVE') throw bad(where, 'not a WAV file (no RIFF/WAVE header)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: { at: number; len: number } | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = tag(bytes, at);
    const len = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (len < 16 || body + 16 > bytes.length) throw bad(where, 'its fmt chunk is cut short');
      let format = view.getUint16(body, true);
      if (format === 0xfffe && len >= 26 && body + 26 <= bytes.length) format = view.getUint16(body + 24, true);
      fmt = { format, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      data = { at: body, len: Math.min(len, bytes.length - body) };
      if (fmt) break;
    }
    at = body + len + (len & 1);
  }
  if (!fmt) throw bad(where, 'no fmt chunk');
  if (!data) throw bad(where, 'no data chunk');
  const { format, channels, rate, bits } = fmt;
  if (channels < 1 || rate < 1) throw bad(where, `${channels} channels at ${rate} Hz`);
  const isFloat = format === 3;
  if (!(format === 1 || isFloat)) throw bad(where, `WAV format ${format} is not PCM or float (convert it to 16-bit PCM)`);
  if (isFloat ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits)) throw bad(where, `${bits}-bit ${isFloat ? 'float' : 'PCM'} is not supported`);
  const width = bits / 8;
  const frames = Math.floor(data.len / (width * channels));
  const out = new Float32Array(frames);
  const read = (p: number): number => {
    if (isFloat) return bits === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
    switch (bits) {
      case 8:
        return (bytes[p] - 128) / 128;
      case 16:
        return view.getInt16(p, true) / 32768;
      case 24: {
        const v = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16);
        return ((v << 8) >> 8) / 8388608;
      }
      default:
        return view.getInt32(p, true) / 2147483648;
    }
  };
  for (let i = 0; i < frames; i++) {
    let s = 0;
    const base = data.at + i * width * channels;
    for (let c = 0; c < channels; c++) s += read(base + c * width);
    out[i] = s / channels;
  }
  return { sampleRate: rate, samples: out, channels };
}

const ZERO_CROSSINGS = 16;

/** `x` at rate `from` resampled to rate `to` (band-limited; see the file comment). */
export function resample(x: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return x.slice();
  const ratio = to / from;
  const n = Math.max(1, Math.round(x.length * ratio));
  const out = new Float32Array(n);
  const fc = Math.min(1, ratio);
  const half = ZERO_CROSSINGS / fc;
  for (let j = 0; j < n; j++) {
    const t = j / ratio;
    const lo = Math.max(0, Math.ceil(t - half));
    const hi = Math.min(x.length - 1, Math.floor(t + half));
    let s = 0;
    let wsum = 0;
    for (let i = lo; i <= hi; i++) {
      const d = t - i;
      const arg = Math.PI * fc * d;
      const sinc = d === 0 ? 1 : Math.sin(arg) / arg;
      const w = 0.5 + 0.5 * Math.cos((Math.PI * d) / half);
      const k = sinc * w;
      s += x[i] * k;
      wsum += k;
    }
    // normalizing by the kernel's sum keeps a constant signal constant at the edges too
    out[j] = wsum !== 0 ? s / wsum : 0;
  }
  return out;
}

/**
 * Frames of `length` samples every `hop` samples; the last partial frame is dropped unless it is
 * the only one (then it is padded with zeros).
 */
export function frames(x: Float32Array, length: number, hop = length): Float32Array[] {
  if (length < 1 || hop < 1) throw new AppError('invalid-argument', `frame length ${length} and hop ${hop} must be at least 1`);
  const out: Float32Array[] = [];
  for (let start = 0; start + length <= x.length; start += hop) out.push(x.slice(start, start + length));
  if (out.length === 0) {
    const f = new Float32Array(length);
    f.set(x.subarray(0, length));
    out.push(f);
  }
  return out;
}
