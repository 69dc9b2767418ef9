/**
 * Whole models for `npm run bench:web-speed`: the recognizer-like model (src/testing/recognizer.ts,
 * at width 320) on text-line-like pictures and a ResNet-like model (src/testing/resnet.ts, 96x96)
 * on random inputs, each as float32 and as the compressor writes it for target wasm with int8
 * activations (cost guard on; forced past it), calibrated with onnxruntime-node.
 */
import { collectCalibration, type Sample } from '../../src/compress/activations/calibrate';
import { ortRunModel } from '../../src/compress/activations/testing/ort-node';
import { gaussian } from '../../src/compress/testing/fixtures';
import { encodeModel } from '../../src/onnx/codec';
import type { Model } from '../../src/onnx/types';
import { seeded } from '../../src/testing/random';
import { glyphStrip, recognizerModel } from '../../src/testing/recognizer';
import { RESNET_INPUT, resnetLikeModel } from '../../src/testing/resnet';
import { compressorForms, type Row } from './forms';
import type { FeedTensor } from './page';

const WIDTH = 320;

/** A text-line-like picture as the recognizer's input: [1, 3, 48, w], normalized to [-1, 1]. */
export function glyphFeed(seed: number): Record<string, FeedTensor> {
  const px = glyphStrip(WIDTH, 48, seed);
  const data: number[] = new Array(3 * 48 * WIDTH);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 48 * WIDTH; i++) data[c * 48 * WIDTH + i] = px[i * 4 + c] / 127.5 - 1;
  return { x: { dims: [1, 3, 48, WIDTH], data } };
}

function randomFeed(name: string, dims: number[], seed: number): Record<string, FeedTensor> {
  return { [name]: { dims, data: Array.from(gaussian(seeded(seed), dims.reduce((p, d) => p * d, 1), 1)) } };
}

const toSample = (f: Record<string, FeedTensor>): Sample => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { dtype: 'float32', dims: v.dims, data: Float32Array.from(v.data) }]));

async function row(name: string, model: Model, feeds: Record<string, FeedTensor>[]): Promise<Row> {
  const calibration = await collectCalibration(model, feeds.slice(1).map(toSample), ortRunModel());
  return { name, note: 'whole model', outputElements: 0, forms: [{ label: 'float32', bytes: encodeModel(model), feed: feeds[0] }, ...compressorForms(model, calibration, feeds[0])] };
}

export async function modelCases(): Promise<Row[]> {
  return [
    await row(`recognizer-like [1,3,48,${WIDTH}]`, recognizerModel(), [1, 2, 3, 4, 5, 6, 7, 8, 9].map(glyphFeed)),
    await row('ResNet-like [1,3,96,96]', resnetLikeModel(), [1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => randomFeed(RESNET_INPUT, [1, 3, 96, 96], s))),
  ];
}
