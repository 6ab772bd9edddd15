import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { LibraryLayout } from './layout';
import { renderThumbPath } from './probe';
import type { Store } from './store';

export interface MediaFile {
  path: string;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
};

/**
 * Maps a media key from the API back to a file the library made (thumbnail, display copy, preview).
 * Nothing else is reachable: the renderer cannot name a path, only a key for a known record.
 */
export function resolveMedia(store: Store, layout: LibraryLayout, key: string): MediaFile | null {
  const m = /^(thumb|view|render|rthumb|preview|full|original|source|play)\/([A-Za-z0-9._-]+)$/.exec(key);
  if (!m) return null;
  const [, kind, ref] = m;
  let path: string | null = null;
  if (kind === 'preview') {
    if (!/^p-[\w-]+\.(jpg|png)$/.test(ref)) return null;
    path = join(layout.previewDir(), ref);
  } else if (kind === 'play') {
    // Playable copies the library made (see playback.ts); only finished ones, never a temp file.
    if (!/^[arc]-[\w-]+\.mp4$/.test(ref)) return null;
    path = join(layout.playDir(), ref);
  } else {
    const id = Number(ref);
    if (!Number.isSafeInteger(id) || id <= 0) return null;
    if (kind === 'source') {
      // A film the browser plays as it is (playback.ts decides which ones are handed out this way).
      const row = store.db
        .prepare("SELECT path FROM assets WHERE id = ? AND kind = 'video' AND problem IS NULL")
        .get(id) as { path: string } | undefined;
      path = row ? layout.abs(row.path) : null;
    } else if (kind === 'original') {
      // The user's own file, read only, for 1:1 inspection; only photos a browser shows as they are.
      const row = store.db
        .prepare("SELECT path FROM assets WHERE id = ? AND kind = 'photo' AND problem IS NULL")
        .get(id) as { path: string } | undefined;
      path = row ? layout.abs(row.path) : null;
    } else if (kind === 'full') {
      const row = store.db
        .prepare("SELECT output_path AS p FROM renders WHERE id = ? AND status = 'done'")
        .get(id) as { p: string | null } | undefined;
      path = layout.abs(row?.p ?? null);
    } else if (kind === 'thumb' || kind === 'view') {
      const row = store.db.prepare(`SELECT ${kind}_path AS p FROM assets WHERE id = ?`).get(id) as
        { p: string | null } | undefined;
      path = layout.abs(row?.p ?? null);
    } else {
      const row = store.db.prepare('SELECT view_path AS p FROM renders WHERE id = ?').get(id) as
        { p: string | null } | undefined;
      path = layout.abs(row?.p ?? null);
      // A render's thumbnail sits beside its display copy (renderThumbPath); older renders have none.
      if (kind === 'rthumb' && path && existsSync(renderThumbPath(path))) path = renderThumbPath(path);
    }
  }
  if (!path || !existsSync(path)) return null;
  const type = TYPES[extname(path).toLowerCase()];
  // A user's original or a full render in a format the browser cannot show is not served at all.
  if (!type && (kind === 'original' || kind === 'full' || kind === 'source')) return null;
  return { path, contentType: type ?? 'application/octet-stream' };
}

/**
 * The byte range an HTTP `Range` header asks of a file of `size` bytes: null for the whole file (no
 * header, or one this does not handle, such as several ranges: the whole file is a valid answer to
 * those), 'unsatisfiable' for a range past the end (416). Video elements seek with these.
 */
export function byteRange(
  header: string | null | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // A suffix: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size || size === 0) return 'unsatisfiable';
  return { start, end };
}

/** The status and headers of a media answer with or without a range (the body is the caller's). */
export function mediaHeaders(
  media: MediaFile,
  size: number,
  rangeHeader: string | null | undefined,
): {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  range: { start: number; end: number } | null;
} {
  const base = {
    'content-type': media.contentType,
    'accept-ranges': 'bytes',
    'cache-control': 'private, max-age=60',
  };
  const r = byteRange(rangeHeader, size);
  if (r === 'unsatisfiable')
    return { status: 416, headers: { ...base, 'content-range': `bytes */${size}` }, range: null };
  if (!r) return { status: 200, headers: { ...base, 'content-length': String(size) }, range: null };
  return {
    status: 206,
    headers: {
      ...base,
      'content-length': String(r.end - r.start + 1),
      'content-range': `bytes ${r.start}-${r.end}/${size}`,
    },
    range: r,
  };
}
