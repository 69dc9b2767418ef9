/** onnxruntime-node sessions as the explorer's OpenSession (tests; the CLI's autotune opens its own with its options). */
import * as ort from 'onnxruntime-node';
import { ortRunSession } from '../../evaluate';
import type { OpenSession } from '../evaluator';

export const openNodeSession: OpenSession = async (bytes) => {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return { ...ortRunSession(ort.Tensor, session), release: () => session.release() };
};
