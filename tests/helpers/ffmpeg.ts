import { resolveFfmpeg, type FfmpegBinaries } from '../../src/engine/video';

/**
 * The ffmpeg and ffprobe the app itself would use (its one locator: setting, FFMPEG_PATH, the
 * npm-shipped binaries, ffmpeg-static, PATH), so the tests need no system ffmpeg: on a bare machine
 * they run against the binaries `npm install` brought.
 */
export const FFMPEG: FfmpegBinaries | null = await resolveFfmpeg().catch(() => null);

/** The locator's answer, for tests that need ffmpeg to say why it is missing. */
export function ffmpegBins(): FfmpegBinaries {
  if (!FFMPEG) throw new Error('no ffmpeg: the npm-shipped binaries are missing (run npm install)');
  return FFMPEG;
}
