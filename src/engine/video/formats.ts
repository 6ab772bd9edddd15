import { extname } from 'node:path';
import { VideoError } from '../errors';

/** What `--format` accepts. */
export const VIDEO_FORMATS = ['mp4', 'h265', 'mkv', 'mov', 'png', 'tif', 'tiff-stack'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

export type Container = 'mp4' | 'matroska' | 'mov';

export interface FormatSpec {
  format: VideoFormat;
  kind: 'video' | 'sequence' | 'stack';
  /** Segment and output file extension (without dot); for sequences, each frame's. */
  ext: string;
  container?: Container;
  /** The ffmpeg encoder that writes it (the render checks the ffmpeg found has it). */
  encoder: string;
  /** What the user sees in results and docs. */
  label: string;
  /** Can the container carry a display rotation? If not, frames are turned upright before processing. */
  keepsRotation: boolean;
}

export const FORMATS: Record<VideoFormat, FormatSpec> = {
  mp4: {
    format: 'mp4',
    kind: 'video',
    ext: 'mp4',
    container: 'mp4',
    encoder: 'libx264',
    label: 'H.264 (libx264) in MP4',
    keepsRotation: true,
  },
  h265: {
    format: 'h265',
    kind: 'video',
    ext: 'mp4',
    container: 'mp4',
    encoder: 'libx265',
    label: 'H.265 (libx265) in MP4',
    keepsRotation: true,
  },
  mkv: {
    format: 'mkv',
    kind: 'video',
    ext: 'mkv',
    container: 'matroska',
    encoder: 'ffv1',
    label: 'FFV1 lossless in Matroska',
    keepsRotation: false,
  },
  mov: {
    format: 'mov',
    kind: 'video',
    ext: 'mov',
    container: 'mov',
    encoder: 'prores_ks',
    label: 'ProRes 422 HQ (prores_ks) in QuickTime',
    keepsRotation: true,
  },
  png: {
    format: 'png',
    kind: 'sequence',
    ext: 'png',
    encoder: 'png',
    label: 'PNG sequence',
    keepsRotation: false,
  },
  tif: {
    format: 'tif',
    kind: 'sequence',
    ext: 'tif',
    encoder: 'tiff',
    label: 'TIFF sequence',
    keepsRotation: false,
  },
  'tiff-stack': {
    format: 'tiff-stack',
    kind: 'stack',
    ext: 'tif',
    encoder: 'tiff',
    label: 'multi-page TIFF',
    keepsRotation: false,
  },
};

/** A format from an explicit choice, else from the output name: .mp4 .mkv .mov .tif(f); a folder or %d pattern with .png/.tif is a sequence. */
export function formatFor(output: string, explicit?: string): FormatSpec {
  if (explicit) {
    const f = explicit.toLowerCase() === 'tiff' ? 'tif' : explicit.toLowerCase();
    if (!(VIDEO_FORMATS as readonly string[]).includes(f)) {
      throw new VideoError(
        `unknown video format "${explicit}" (use ${VIDEO_FORMATS.join(', ')})`,
        'BAD_ARGUMENT',
      );
    }
    return FORMATS[f as VideoFormat];
  }
  const ext = extname(output).toLowerCase();
  const pattern = /%0?\d*d/.test(output);
  if (ext === '.png') return FORMATS.png;
  if (ext === '.tif' || ext === '.tiff') return pattern ? FORMATS.tif : FORMATS['tiff-stack'];
  if (ext === '.mkv') return FORMATS.mkv;
  if (ext === '.mov') return FORMATS.mov;
  if (ext === '.mp4' || ext === '.m4v') return FORMATS.mp4;
  if (ext === '') {
    throw new VideoError(
      `${output}: no extension; name a file (.mp4 .mkv .mov .tif) or pass --format png|tif for a folder of frames`,
      'BAD_ARGUMENT',
      output,
    );
  }
  throw new VideoError(
    `${output}: cannot tell the format from the extension "${ext}"; pass --format`,
    'BAD_ARGUMENT',
    output,
  );
}

/** Audio codecs each container takes as they are (stream copy); anything else becomes AAC. */
const AUDIO_COPY: Record<Container, Set<string> | 'any'> = {
  mp4: new Set(['aac', 'mp3', 'mp2', 'ac3', 'eac3', 'opus', 'flac', 'alac']),
  mov: new Set([
    'aac',
    'mp3',
    'mp2',
    'ac3',
    'eac3',
    'alac',
    'pcm_s16le',
    'pcm_s16be',
    'pcm_s24le',
    'pcm_s24be',
    'pcm_s32le',
    'pcm_s32be',
    'pcm_f32le',
    'pcm_f32be',
    'pcm_u8',
  ]),
  matroska: 'any',
};

export function audioCopyable(container: Container, codec: string): boolean {
  const allowed = AUDIO_COPY[container];
  return allowed === 'any' || allowed.has(codec);
}

const TEXT_SUBTITLES = new Set(['subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text']);

/** 'copy', a codec to convert text subtitles to, or null when the container cannot hold them. */
export function subtitlePlan(
  container: Container,
  codec: string,
  bitmap: boolean,
): 'copy' | 'mov_text' | 'srt' | null {
  if (container === 'matroska') return codec === 'mov_text' ? 'srt' : 'copy';
  if (codec === 'mov_text') return 'copy';
  if (bitmap || !TEXT_SUBTITLES.has(codec)) return null;
  return 'mov_text';
}
