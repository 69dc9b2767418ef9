/**
 * The contract between the page and the data worker: the Data place's files and description in,
 * the prepared samples (every model input of every sample, or a labeled set), the calibration /
 * evaluation split and a preview out. Decoding (images, wav) happens in the worker; other audio
 * formats are decoded by the browser's audio decoder on the page (workers have none) and come
 * as samples. The assembly is src/bench/data-load.ts, shared with the CLI. The worker keeps the
 * last data set it prepared, by the page's key, and hands its parts to the compress worker over a
 * port the page connects (src/workers/data-port.ts): the samples never cross the page's thread twice.
 */
import type { DataPart, DecodedAudioFile, LoadedData } from '../bench/data-load';
import type { DataPreview } from '../bench/data-preview';
import type { DataDescription } from '../bench/dataset';
import type { IoSummary } from '../onnx/summary';
import type { Method, PortLike, WorkerResult } from './kit/protocol';

export type { DataDescription, DataPart, DataPreview, DecodedAudioFile, LoadedData, WorkerResult };

/** Where the samples come from: the user's files, or the built-in sample's labeled set. */
export type DataFiles =
  /** `paths`: each file's path within the chosen folder (class folders label images), else its name */
  | { kind: 'files'; files: File[]; paths: string[]; audio: DecodedAudioFile[] }
  | { kind: 'sample' };

export interface DataRequest {
  /** the page's name for this data set: the worker holds it under this key for consumers that connect */
  key: number;
  inputs: IoSummary[];
  outputs: IoSummary[];
  description: DataDescription;
  source: DataFiles;
  /**
   * the original model's runnable bytes, given when recurrent states may be fed back between
   * frames (src/bench/feedback.ts): the worker runs it over the frames in onnxruntime-web (wasm)
   */
  model?: ArrayBuffer;
}

export interface PreparedData {
  /** the request's key: what a consumer asks the data worker for */
  key: number;
  loaded: LoadedData;
  calibration: DataPart;
  evaluation: DataPart;
  calibrationCount: number;
  evaluationCount: number;
  /** one sample both calibrates and evaluates */
  overlap: boolean;
  preview: DataPreview;
  ms: number;
}

export interface DataProgress {
  done: number;
  total: number;
  /** what is being done (absent: decoding files) */
  stage?: 'feedback';
}

export interface DataWorkerApi {
  /** Prepares the samples and holds them (the previous data set is dropped when this starts). */
  prepare: Method<[request: DataRequest], PreparedData, DataProgress>;
  /** Answers one request for held samples on `port` (data-port.ts), then closes it. */
  connect: Method<[port: PortLike], void>;
}
