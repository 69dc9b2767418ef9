/**
 * Typed errors shared by every room. An AppError carries a stable `code` and a one-line,
 * user-readable message that names the problem. Anything that is not an AppError reaching
 * the UI or the CLI is a bug.
 */
export type ErrorCode =
  | 'empty-file'
  | 'not-onnx'
  | 'truncated'
  | 'malformed'
  | 'too-deep'
  | 'too-large'
  | 'external-data'
  | 'unsupported'
  | 'invalid-argument'
  | 'aborted'
  | 'io';

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Throws an 'aborted' AppError when the signal has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
}

/** Turns anything thrown into a one-line message suitable for a user. */
export function errorMessage(e: unknown): string {
  if (e instanceof AppError) return e.message;
  if (e instanceof Error) return `Unexpected error: ${e.message}`;
  return `Unexpected error: ${String(e)}`;
}
