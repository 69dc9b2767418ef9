/**
 * Raw values on demand for the inspector's weight cards: a page of one tensor handed out by
 * inspectNode, read from the model the worker keeps (only the page is decoded and sent).
 */
import { AppError } from '../core/errors';
import type { LoadedModel } from '../onnx/load';
import { tensorValuesPage, type TensorPage } from '../onnx/tensor-page';
import { inspectedTensor } from '../onnx/inspect';

export function tensorValuesOf(loaded: LoadedModel | undefined, id: string, offset: number, count: number): TensorPage {
  if (!loaded) throw new AppError('invalid-argument', 'No model is open.');
  const def = inspectedTensor(loaded, id);
  if (!def) throw new AppError('invalid-argument', `No tensor "${id}" was shown.`);
  if (!('tensor' in def)) throw new AppError('unsupported', 'The values of a sparse tensor are not shown one by one.');
  return tensorValuesPage(def.tensor, offset, count, loaded.external);
}
