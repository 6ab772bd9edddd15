import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { commitTemp, tempPathFor } from '../engine/index';
import type { LibraryLayout } from './layout';

/** The largest file a browser may upload (a long film scan); larger ones are refused with 413. */
export const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;

export class UploadTooLargeError extends Error {}

/**
 * A file name from a browser made safe to create: no folders (either slash), no control or
 * reserved characters, no leading dots, at most 120 characters with the extension kept.
 */
export function safeUploadName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'))
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  const ext = extname(base).slice(0, 12);
  const stem = base.slice(0, base.length - extname(base).length).slice(0, 120 - ext.length);
  return stem ? `${stem}${ext}` : `upload${ext}`;
}

/**
 * Writes an uploaded file into the project's uploads folder: streamed to a temp file and renamed
 * into place when complete (a cut connection leaves nothing), never over an existing file
 * (`name-2.jpg`, ...), refused past `maxBytes`. Returns the absolute path.
 */
export async function saveUpload(
  layout: LibraryLayout,
  projectId: number,
  name: string,
  source: Readable,
  maxBytes = MAX_UPLOAD_BYTES,
): Promise<string> {
  const safe = safeUploadName(name);
  const first = layout.abs(layout.projectFile(projectId, 'uploads', safe));
  await mkdir(dirname(first), { recursive: true });
  const tmp = tempPathFor(first);
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes)
        done(new UploadTooLargeError(`${safe}: larger than the ${formatGiB(maxBytes)} upload limit`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(source, limit, createWriteStream(tmp, { flags: 'wx' }));
    if (size === 0) throw new Error(`${safe}: the upload is empty`);
    const ext = extname(safe);
    const stem = safe.slice(0, safe.length - ext.length);
    for (let n = 1; ; n++) {
      const dest = n === 1 ? first : first.replace(new RegExp(`${escape(safe)}$`), `${stem}-${n}${ext}`);
      try {
        await commitTemp(tmp, dest, false);
        return dest;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 9999) throw err;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function formatGiB(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(0)} GiB` : `${Math.round(bytes / 1024)} KiB`;
}
