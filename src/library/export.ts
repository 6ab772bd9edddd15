import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { commitTemp, errorMessage, ioProblem, tempPathFor } from '../engine/index';
import type { ExportFormat } from '../shared/api';
import type { VideoRenderer } from './engine';
import type { LibraryLayout } from './layout';
import type { Store } from './store';

const VIDEO_FORMATS = new Set(['mp4', 'mkv', 'mov', 'frames']);

export interface ExportRequest {
  renderIds: number[];
  folder: string;
  format: ExportFormat;
  quality: number;
  overwrite: boolean;
}

/** Writes `make(tmp)` to `<base><ext>`, or `<base>-2<ext>`... when a file is already there (unless overwrite). */
async function writeUnique(
  base: string,
  ext: string,
  overwrite: boolean,
  make: (tmp: string) => Promise<void>,
): Promise<string> {
  for (let n = 1; n < 10_000; n++) {
    const dest = `${base}${n === 1 ? '' : `-${n}`}${ext}`;
    const tmp = tempPathFor(dest);
    try {
      await make(tmp);
      await commitTemp(tmp, dest, overwrite);
      return dest;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`${base}${ext}: too many files with this name`);
}

async function exportMedia(
  video: VideoRenderer | null,
  name: string,
  src: string,
  base: string,
  kind: 'video' | 'stack',
  req: ExportRequest,
): Promise<string> {
  if (!video)
    throw new Error(
      `${name}: exporting ${kind === 'video' ? 'films' : 'stacks'} needs the video pipeline, which this build does not include`,
    );
  const format = req.format as 'mp4' | 'mkv' | 'mov' | 'frames';
  // A sequence is a folder of numbered frames; a film is one file.
  const ext = format === 'frames' ? '-frames' : `.${format}`;
  return writeUnique(base, ext, req.overwrite, (tmp) =>
    video.exportVideo(
      src,
      format === 'frames' ? join(tmp, `frame_%06d.${kind === 'stack' ? 'tif' : 'png'}`) : tmp,
      kind,
      format,
    ),
  );
}

/**
 * Copies finished renders out of the library in the format the user wants: JPEG, PNG or 16-bit TIFF
 * for images (16 bits are kept, or widened for an 8-bit render), video formats through the video
 * pipeline. An existing file is never replaced unless asked; the new one gets a numbered name.
 */
export async function exportRenders(
  deps: { store: Store; layout: LibraryLayout; video: VideoRenderer | null },
  req: ExportRequest,
): Promise<{
  folder: string;
  files: { renderId: number; path: string }[];
  errors: { renderId: number; error: string }[];
}> {
  const out = {
    folder: req.folder,
    files: [] as { renderId: number; path: string }[],
    errors: [] as { renderId: number; error: string }[],
  };
  await mkdir(req.folder, { recursive: true }).catch((err: unknown) => {
    throw new Error(
      `cannot export to ${req.folder}: ${ioProblem(err, join(req.folder, 'x')) ?? errorMessage(err)}`,
    );
  });
  for (const renderId of req.renderIds) {
    try {
      const render = deps.store.renderRow(renderId);
      const asset = deps.store.assetRow(render.asset_id);
      if (render.status !== 'done' || !render.output_path)
        throw new Error(`render ${renderId} of ${asset.name} did not finish`);
      const src = deps.layout.abs(render.output_path);
      const stem = basename(asset.name, extname(asset.name));
      const base = join(req.folder, `${stem}-tintype`);
      const wantsVideo = VIDEO_FORMATS.has(req.format);
      let path: string;
      if (asset.kind === 'video') {
        if (!wantsVideo)
          throw new Error(`${asset.name} is a film: export it as mp4, mkv, mov or an image sequence`);
        path = await exportMedia(deps.video, asset.name, src, base, 'video', req);
      } else if (asset.kind === 'stack') {
        if (req.format === 'tif')
          path = await writeUnique(base, '.tif', req.overwrite, (tmp) => copyFile(src, tmp));
        else if (req.format === 'frames')
          path = await exportMedia(deps.video, asset.name, src, base, 'stack', req);
        else
          throw new Error(
            `${asset.name} is a stack: export it as a multi-page TIFF (tif) or as an image sequence`,
          );
      } else {
        if (wantsVideo) throw new Error(`${asset.name} is an image: export it as jpg, png or tif`);
        const meta = await sharp(src).metadata();
        const grey = (meta.channels ?? 3) < 3;
        path = await writeUnique(base, `.${req.format}`, req.overwrite, async (tmp) => {
          const img = sharp(src);
          if (req.format === 'jpg')
            await img
              .jpeg({ quality: req.quality, chromaSubsampling: req.quality >= 90 ? '4:4:4' : '4:2:0' })
              .toFile(tmp);
          else if (req.format === 'png') await img.png({ compressionLevel: 6 }).toFile(tmp);
          else
            await img
              .toColourspace(grey ? 'grey16' : 'rgb16')
              .tiff({ compression: 'lzw', predictor: 'horizontal' })
              .toFile(tmp);
        });
      }
      out.files.push({ renderId, path });
    } catch (err) {
      const where = (err as NodeJS.ErrnoException).path ?? req.folder;
      const words = ioProblem(err, where);
      out.errors.push({
        renderId,
        error: words ? `cannot export to ${req.folder}: ${words}` : errorMessage(err),
      });
    }
  }
  return out;
}
