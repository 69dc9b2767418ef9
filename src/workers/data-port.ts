/**
 * The Data place's samples go from the data worker, which prepared and holds them, to a consumer
 * worker (the compress worker, the explore workers) over a MessageChannel of their own: the page opens the channel and
 * hands one port to each (a handle each, no samples), so the page's main thread never clones the
 * samples (36 MB for the bench's MatMul model: 70 ms on the main thread, docs/RECIPE-NOTES.md).
 * One channel serves one request: the data worker answers it and closes its port.
 */
import { AppError } from '../core/errors';
import type { DataPart } from '../bench/data-load';
import type { PortLike } from './kit/protocol';

export type { PortLike };

/** Which of the held samples a consumer asks for: `key` names the data set the page saw prepared. */
export interface DataSamplesRef {
  key: number;
  use: 'calibration' | 'evaluation';
  /** also the first `check` samples of the evaluation part (recovery's model-level check) */
  check?: number;
  /** also the whole calibration part beside the evaluation part (Explore: recovery, int8 activations) */
  calibration?: boolean;
}

/** Which held samples, and the port to the data worker they come on (transferred; one request). */
export interface DataSamples extends DataSamplesRef {
  port: PortLike;
}

/** What the data worker holds: the last data set it prepared, by the page's key. */
export interface HeldData {
  key: number;
  calibration: DataPart;
  evaluation: DataPart;
}

export interface DataParts {
  part: DataPart;
  check?: DataPart;
  /** the calibration part, where `calibration` asked for it beside the evaluation part */
  calibration?: DataPart;
}

type Answer = { ok: true; parts: DataParts } | { ok: false; message: string };


/** The first `n` samples of a part (a labeled set's rows, or sets), in buffers of their own. */
export function firstSamples(p: DataPart, n: number): DataPart {
  if (p.labeled) {
    const l = p.labeled;
    const per = l.sampleDims.reduce((a, d) => a * d, 1);
    return { labeled: { ...l, labels: l.labels.slice(0, n), data: l.data.slice(0, n * per) } };
  }
  return { ...(p.sets ? { sets: p.sets.slice(0, n) } : {}) };
}

/** The parts `ref` asks for, or why there are none (the data set was replaced or never prepared here). */
export function partsFor(held: HeldData | undefined, ref: DataSamplesRef): Answer {
  if (!held || held.key !== ref.key) {
    return { ok: false, message: 'stale-data: the data worker no longer holds these samples (the data was replaced or is being prepared again); try again once the Data tab shows it ready' };
  }
  const part = ref.use === 'calibration' ? held.calibration : held.evaluation;
  const check = ref.check !== undefined && ref.check > 0 ? { check: firstSamples(held.evaluation, ref.check) } : {};
  const calibration = ref.calibration && ref.use === 'evaluation' ? { calibration: held.calibration } : {};
  return { ok: true, parts: { part, ...check, ...calibration } };
}

/** Data worker side: answers the one request that comes on `port` from what `held()` gives then, and closes it. */
export function serveDataPort(port: PortLike, held: () => HeldData | undefined): void {
  port.addEventListener('message', (event) => {
    const answer = partsFor(held(), event.data as DataSamplesRef);
    try {
      // cloned on this thread and the consumer's, never the page's
      port.postMessage(answer);
    } finally {
      port.close();
    }
  });
  port.start();
}

/** Consumer side: asks the data worker on `port` for the samples of `ref`; closes the port. Rejects with 'aborted' when `signal` fires. */
export function fetchDataParts(port: PortLike, ref: DataSamplesRef, signal?: AbortSignal): Promise<DataParts> {
  return new Promise<DataParts>((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearInterval(poll);
      port.close();
      settle();
    };
    // the kit's signal is a shared flag read by polling (serve.ts): look at it while waiting
    const poll = setInterval(() => {
      if (signal?.aborted) finish(() => reject(new AppError('aborted', 'Cancelled.')));
    }, 50);
    port.addEventListener('message', (event) => {
      const answer = event.data as Answer;
      finish(() => (answer.ok ? resolve(answer.parts) : reject(new AppError('invalid-argument', answer.message))));
    });
    port.start();
    port.postMessage(ref);
  });
}
