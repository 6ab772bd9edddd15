/**
 * Video failures carry a stable code, the file they concern, and how far the render got, so the CLI
 * and the app can say "stopped after 412 of 900 frames; 4 finished segments kept".
 */
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
  | 'CANCELLED';

export class VideoError extends Error {
  constructor(
    message: string,
    readonly code: VideoErrorCode,
    readonly file?: string,
    readonly progress?: { framesDone: number; framesTotal?: number; segmentsKept: number; workDir?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VideoError';
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
