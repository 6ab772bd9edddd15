import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { decodeStrictly, tempPathFor } from '../engine/index';
import type { AssetKind } from '../shared/api';
import { extractFrame, probeVideo } from './ffmpeg';
import type { MediaClass } from './scan';

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface Probe {
  kind: AssetKind;
  width: number | null;
  height: number | null;
  depth: number | null;
  pages: number | null;
  durationSec: number | null;
  fps: number | null;
}

const DEPTHS: Record<string, number> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  double: 64,
};

/** What an imported file is (photo, stack or film) and its size, from its headers only: fast. (The engine's probeMedia is ffprobe's full view of a film.) */
export async function probeImport(path: string, media: MediaClass): Promise<Probe> {
  if (media === 'video') {
    const v = await probeVideo(path);
    return {
      kind: 'video',
      width: v.width,
      height: v.height,
      depth: 8,
      pages: null,
      durationSec: v.durationSec,
      fps: v.fps,
    };
  }
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (err) {
    throw new Error(`${path}: not a readable image: ${(err as Error).message}`);
  }
  const pages = meta.pages ?? 1;
  const isStack = pages > 1 && (meta.format === 'tiff' || meta.format === 'heif');
  return {
    kind: isStack ? 'stack' : 'photo',
    width: meta.width ?? null,
    height: meta.height ?? null,
    depth: DEPTHS[meta.depth ?? 'uchar'] ?? 8,
    pages: isStack ? pages : null,
    durationSec: null,
    fps: null,
  };
}

export const THUMB_EDGE = 320;
export const VIEW_EDGE = 2048;

async function writeJpeg(pipeline: Sharp, out: string): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  const tmp = tempPathFor(out);
  try {
    await pipeline.jpeg({ quality: 85, mozjpeg: false }).toFile(tmp);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A display copy (≤ 2048 px, sRGB JPEG) and a thumbnail. Browsers cannot show TIFF or 16-bit data,
 * and scans are often huge; both copies are what the UI shows, the engine always reads the original.
 * 16-bit images (microscopy) are stretched to their own range so a dim stack is visible.
 */
export async function makeImageViews(
  src: string,
  probe: Probe,
  viewOut: string,
  thumbOut: string,
): Promise<void> {
  await makeImageView(src, probe, viewOut);
  try {
    await writeJpeg(
      sharp(viewOut).resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true }),
      thumbOut,
    );
  } catch (err) {
    throw new Error(`${src}: cannot decode image: ${(err as Error).message}`);
  }
}

/** The display copy alone, of the first page or of `page` (a stack's frame chosen for the preview). */
export async function makeImageView(
  src: string,
  probe: Pick<Probe, 'depth'>,
  out: string,
  page = 0,
): Promise<void> {
  // As strict as the engine's decode, so a file the engine would refuse is not shown as fine here.
  const base = (failOn: 'warning' | 'error') => {
    let p = sharp(src, { page, failOn, limitInputPixels: 1_000_000_000 }).rotate();
    if ((probe.depth ?? 8) > 8) p = p.normalise();
    return p;
  };
  try {
    const { format } = await sharp(src).metadata();
    await decodeStrictly(format, (failOn) =>
      writeJpeg(
        base(failOn)
          .resize(VIEW_EDGE, VIEW_EDGE, { fit: 'inside', withoutEnlargement: true })
          .toColourspace('srgb'),
        out,
      ),
    );
  } catch (err) {
    throw new Error(
      `${src}${page ? ` (frame ${page + 1})` : ''}: cannot decode image: ${(err as Error).message}`,
    );
  }
}

export async function makeVideoViews(
  src: string,
  probe: Probe,
  viewOut: string,
  thumbOut: string,
): Promise<void> {
  const at = probe.durationSec && probe.durationSec > 1 ? Math.min(probe.durationSec / 10, 5) : 0;
  await mkdir(dirname(viewOut), { recursive: true });
  await extractFrame(src, at, viewOut, VIEW_EDGE);
  await writeJpeg(
    sharp(viewOut).resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true }),
    thumbOut,
  );
}

/** Where the grid thumbnail of a render's display copy lives: next to it. */
export function renderThumbPath(viewPath: string): string {
  return viewPath.replace(/\.jpg$/, '.thumb.jpg');
}

/** A display copy of a finished render (PNG, 16-bit for 16-bit inputs) for the compare view; stretched like its original. */
export async function makeRenderView(
  src: string,
  out: string,
  opts: { stretch: boolean },
): Promise<{ width: number; height: number }> {
  const meta = await sharp(src).metadata();
  let p = sharp(src);
  if (opts.stretch) p = p.normalise();
  await writeJpeg(
    p.resize(VIEW_EDGE, VIEW_EDGE, { fit: 'inside', withoutEnlargement: true }).toColourspace('srgb'),
    out,
  );
  await writeJpeg(
    sharp(out).resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true }),
    renderThumbPath(out),
  );
  return { width: meta.width ?? 0, height: meta.height ?? 0 };
}

/** A display copy of a rendered film: one frame, as for the original. */
export async function makeVideoRenderView(src: string, out: string): Promise<void> {
  const probe = await probeImport(src, 'video');
  await makeVideoViews(src, probe, out, renderThumbPath(out));
}
