import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { IMAGE_EXTENSIONS, ioProblem } from '../engine/index';

// The engine's list: the library imports exactly what the engine can render.
export const IMAGE_EXTS = new Set(IMAGE_EXTENSIONS);
export const VIDEO_EXTS = new Set([
  '.mp4',
  '.mov',
  '.mkv',
  '.avi',
  '.webm',
  '.m4v',
  '.mpg',
  '.mpeg',
  '.mts',
  '.dv',
]);

export type MediaClass = 'image' | 'video';

export function classify(path: string): MediaClass | null {
  const ext = extname(path).toLowerCase();
  if (IMAGE_EXTS.has(ext)) return 'image';
  if (VIDEO_EXTS.has(ext)) return 'video';
  return null;
}

export interface ScanResult {
  files: { path: string; media: MediaClass }[];
  errors: { path: string; error: string }[];
}

/**
 * Expands files and folders (recursively) into the media files they hold, in a stable order. Inside
 * folders, other files and hidden entries are skipped quietly; a file the user named explicitly that
 * is not an image or video is reported.
 */
export async function scanPaths(paths: readonly string[]): Promise<ScanResult> {
  const out: ScanResult = { files: [], errors: [] };
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();

  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (seenDirs.has(real)) return; // a symlink loop or a folder named twice
    seenDirs.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      out.errors.push({
        path: dir,
        error: `${dir}: cannot read folder: ${ioProblem(err, join(dir, '.')) ?? (err as Error).message}`,
      });
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && (await stat(p).catch(() => null))?.isDirectory()))
        await walk(p);
      else {
        const media = classify(p);
        if (media && !seenFiles.has(p)) {
          seenFiles.add(p);
          out.files.push({ path: p, media });
        }
      }
    }
  };

  for (const p of paths) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      out.errors.push({
        path: p,
        error:
          st.code === 'ENOENT' ? `${p}: no such file or folder` : `${p}: ${ioProblem(st, p) ?? st.message}`,
      });
      continue;
    }
    if (st.isDirectory()) await walk(p);
    else {
      const media = classify(p);
      if (!media)
        out.errors.push({
          path: p,
          error: `${p}: not a supported image or video (${extname(p) || basename(p)})`,
        });
      else if (!seenFiles.has(p)) {
        seenFiles.add(p);
        out.files.push({ path: p, media });
      }
    }
  }
  return out;
}
