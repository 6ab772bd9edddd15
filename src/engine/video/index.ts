/**
 * Film and image-stack pipeline: ffmpeg decode → processor (the engine's ops) → ffmpeg encode, in
 * resumable segments. `renderVideo` is what the app and the CLI call.
 */
export {
  renderVideo,
  renderSegment,
  type RenderVideoOptions,
  type RenderSegmentOptions,
  type SegmentDispatcher,
  type SegmentTask,
  type SegmentResult,
  type FinishedSegments,
  type VideoProgress,
  type VideoResult,
} from './render';
export {
  perFrame,
  perWindow,
  SlidingWindow,
  type FrameProcessor,
  type FrameWindow,
  type VideoProcessor,
  type WindowProcessor,
} from './window';
export { VideoError, type VideoErrorCode } from '../errors';
export {
  resolveFfmpeg,
  ffmpegCapabilities,
  type FfmpegBinaries,
  type ResolveFfmpegOptions,
} from './ffmpeg-binaries';
export {
  probeMedia,
  type MediaInfo,
  type VideoStreamInfo,
  type AudioStreamInfo,
  type SubtitleStreamInfo,
} from './probe';
export { FORMATS, VIDEO_FORMATS, formatFor, type VideoFormat, type FormatSpec } from './formats';
export { FlickerMeter, ChromaSmoother, type FlickerStats, type ChromaSmoothingOptions } from './flicker';
export { formatRational, parseRational, type Rational } from './rational';
