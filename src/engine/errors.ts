import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CatalogErrorCode } from '../shared/catalog';
import { errorMessage } from '../shared/errors';

export { errorMessage };

/** Failures of reading, processing and writing photos, and of loading models. */
export type CoreErrorCode =
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
  /** A model with this id is here, but not the version or file a job asks for. */
  | 'MODEL_MISMATCH'
  | 'MODEL_SHAPE'
  | 'MODEL_OUTPUT'
  | 'EP_UNAVAILABLE'
  | 'BAD_ARGUMENT'
  | 'CANCELLED';

/** Failures of the film pipeline (ffmpeg, the work folder, segments). */
export type VideoErrorCode =
  | 'FFMPEG_NOT_FOUND'
  | 'INPUT_NOT_FOUND'
  | 'NOT_MEDIA'
  | 'NO_VIDEO_STREAM'
  | 'BAD_ARGUMENT'
  | 'OUTPUT_EXISTS'
  | 'WORK_EXISTS'
  | 'JOURNAL_MISMATCH'
  | 'DECODE_FAILED'
  | 'TRUNCATED'
  | 'ENCODE_FAILED'
  | 'PROCESS_FAILED'
  | 'SEEK_FAILED'
  | 'JOIN_FAILED'
  | 'OUTPUT_UNWRITABLE'
  /** The render farm (src/farm): Redis stopped answering; a segment job failed for good. */
  | 'FARM_UNREACHABLE'
  | 'FARM_JOB_FAILED'
  | 'CANCELLED';

export type { CatalogErrorCode };

/** Every stable code a TintypeError can carry (the CLI's --json output and the app switch on it). */
export type ErrorCode = CoreErrorCode | VideoErrorCode | CatalogErrorCode;

/** How far a film render got when it stopped, so people hear "stopped after 412 of 900 frames". */
export interface RenderProgress {
  framesDone: number;
  framesTotal?: number;
  segmentsKept: number;
  workDir?: string;
}

/**
 * Every failure the user can act on is a TintypeError: it names the file and the problem in plain
 * words, and carries a stable code for the CLI's --json output and the app. Callers catch this one
 * type; VideoError and CatalogError below are the same type built with their subsystem's codes.
 */
export class TintypeError extends Error {
  readonly progress?: RenderProgress;

  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly file?: string,
    options?: { cause?: unknown; progress?: RenderProgress },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TintypeError';
    if (options?.progress) this.progress = options.progress;
  }
}

/** A film-pipeline failure: the file it concerns and how far the render got. */
export class VideoError extends TintypeError {
  declare readonly code: VideoErrorCode;

  constructor(
    message: string,
    code: VideoErrorCode,
    file?: string,
    progress?: RenderProgress,
    options?: { cause?: unknown },
  ) {
    super(message, code, file, { cause: options?.cause, progress });
    this.name = 'VideoError';
  }
}

/** A model-manager failure (catalog, download, install, import). */
export class CatalogError extends TintypeError {
  declare readonly code: CatalogErrorCode;

  constructor(message: string, code: CatalogErrorCode, options?: { cause?: unknown }) {
    super(message, code, undefined, options);
    this.name = 'CatalogError';
  }
}

export function isCatalogError(err: unknown, code?: CatalogErrorCode): err is CatalogError {
  return err instanceof CatalogError && (code === undefined || err.code === code);
}

/** An error about a file: the message always starts with the file's path. */
export function fileError(file: string, problem: string, code: ErrorCode, cause?: unknown): TintypeError {
  return new TintypeError(`${file}: ${problem}`, code, file, { cause });
}

/** The errno-style code (ENOSPC, ECONNREFUSED, ...) of a Node error, looking through wrappers. */
export function errnoCode(err: unknown): string | undefined {
  let e: unknown = err;
  // fetch wraps socket errors: TypeError('fetch failed') -> cause (Error with .code) -> maybe another cause.
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    // Happy-eyeballs connects (IPv6 then IPv4) fail with an AggregateError of per-address errors.
    const inner = (e as { errors?: unknown }).errors;
    e = (e as { cause?: unknown }).cause ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return undefined;
}

/** The one error an abort turns into, wherever the engine notices it (between tiles, ops or frames). */
export function throwIfCancelled(signal: AbortSignal | undefined, file?: string): void {
  if (signal?.aborted) throw new TintypeError(file ? `${file}: cancelled` : 'cancelled', 'CANCELLED', file);
}

/** The first existing ancestor of `path` that is a file, for "… is a file, not a folder". */
function fileInTheWay(path: string): string | undefined {
  let p = dirname(path);
  for (let i = 0; i < 64 && p !== dirname(p); i++, p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      // Missing or unreadable: look further up.
    }
  }
  return undefined;
}

/** The first missing folder on the way to `path`. */
function missingFolder(path: string): string | undefined {
  let p = dirname(path);
  let missing: string | undefined;
  for (let i = 0; i < 64 && p !== dirname(p); i++, p = dirname(p)) {
    if (existsSync(p)) break;
    missing = p;
  }
  return missing;
}

/**
 * What a file-system failure means, in words, naming the path: "the disk is full", "… is a file,
 * not a folder", "the folder … is read-only". The one place errno codes become words; undefined
 * when `err` carries no errno code (the caller then shows its message).
 */
export function ioProblem(err: unknown, path: string): string | undefined {
  const code = errnoCode(err);
  if (!code) return undefined;
  const dir = dirname(path);
  switch (code) {
    case 'ENOSPC':
      return `the disk is full (no space left to write ${path})`;
    case 'EDQUOT':
      return `your disk quota is used up (writing ${path})`;
    case 'EROFS':
      return `the folder ${dir} is read-only (a read-only disk or mount)`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: the folder ${dir} is read-only for this user, or ${path} is locked`;
    case 'ENOTDIR': {
      const file = fileInTheWay(path);
      return file ? `${file} is a file, not a folder` : `a part of ${path} is a file, not a folder`;
    }
    case 'EISDIR':
      return `${path} is a folder, not a file`;
    case 'ENOENT': {
      const missing = missingFolder(path);
      return missing ? `the folder ${missing} does not exist` : `${path} does not exist`;
    }
    case 'ENAMETOOLONG':
      return `the name is too long for the file system (a file name is at most 255 bytes): ${path}`;
    case 'EMFILE':
    case 'ENFILE':
      return 'too many files are open at once (raise the limit with ulimit -n, or run fewer at a time)';
    case 'EEXIST':
      return `${path} already exists`;
    case 'EBUSY':
    case 'ETXTBSY':
      return `${path} is in use by another program`;
    case 'EFBIG':
      return `the file is too large for this file system (FAT32 keeps files under 4 GB): ${path}`;
    case 'EIO':
      return `the disk reported a read/write error (EIO) at ${path}: check the drive or cable`;
    case 'ELOOP':
      return `too many symbolic links on the way to ${path}`;
    case 'EXDEV':
      return `${path} is on another disk than its temp file`;
    case 'ENXIO':
    case 'ENODEV':
      return `the device holding ${path} is gone (unplugged?)`;
    default:
      return undefined;
  }
}

/** The C library's strerror() texts that tools like ffmpeg print, and their errno codes. */
const STRERROR: [RegExp, string][] = [
  [/No space left on device/i, 'ENOSPC'],
  [/Disk quota exceeded/i, 'EDQUOT'],
  [/Read-only file system/i, 'EROFS'],
  [/Permission denied/i, 'EACCES'],
  [/Operation not permitted/i, 'EPERM'],
  [/Not a directory/i, 'ENOTDIR'],
  [/Is a directory/i, 'EISDIR'],
  [/File name too long/i, 'ENAMETOOLONG'],
  [/Too many open files/i, 'EMFILE'],
  [/File too large/i, 'EFBIG'],
  [/Input\/output error/i, 'EIO'],
];

/**
 * ioProblem for a message another program printed (ffmpeg's "…: No space left on device"), so a
 * film's full disk reads like a photo's. Undefined when the text names no file-system failure.
 */
export function ioProblemInText(text: string, path: string): string | undefined {
  const hit = STRERROR.find(([re]) => re.test(text));
  return hit ? ioProblem({ code: hit[1] }, path) : undefined;
}
