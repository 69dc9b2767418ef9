/** Pages of a tensor's raw values for the inspector, from the model worker (nothing is kept here). */
import { AppError } from '../core/errors';
import type { TensorPage } from '../workers/model-api';
import { modelHandle } from './model-store';

export type { TensorPage };

/** Values `offset` … `offset + count - 1` of a tensor listed in the open model's inspected node's weights. */
export function loadTensorValues(id: string, offset: number, count: number): Promise<TensorPage> {
  const handle = modelHandle();
  if (!handle) return Promise.reject(new AppError('invalid-argument', 'No model is open.'));
  return handle.tensorValues(id, offset, count);
}
