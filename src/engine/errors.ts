/**
 * Every failure the user can act on is a TintypeError: it names the file and the problem in plain
 * words, and carries a stable code for the CLI's --json output and the app.
 */
export type ErrorCode =
  | 'ENOENT'
  | 'EMPTY'
  | 'NOT_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'TOO_LARGE'
  | 'OUTPUT_EXISTS'
  | 'OUTPUT_UNWRITABLE'
  | 'SAME_AS_INPUT'
  | 'BAD_MANIFEST'
  | 'BAD_MODEL'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_SHAPE'
  | 'MODEL_OUTPUT'
  | 'EP_UNAVAILABLE'
  | 'BAD_ARGUMENT'
  | 'CANCELLED';

export class TintypeError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TintypeError';
  }
}

/** An error about a file: the message always starts with the file's path. */
export function fileError(file: string, problem: string, code: ErrorCode, cause?: unknown): TintypeError {
  return new TintypeError(`${file}: ${problem}`, code, file, { cause });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
