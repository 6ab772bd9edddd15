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
};

/**
 * Maps a media key from the API back to a file the library made (thumbnail, display copy, preview).
 * Nothing else is reachable: the renderer cannot name a path, only a key for a known record.
 */
export function resolveMedia(store: Store, layout: LibraryLayout, key: string): MediaFile | null {
  const m = /^(thumb|view|render|rthumb|preview|full|original)\/([A-Za-z0-9._-]+)$/.exec(key);
  if (!m) return null;
  const [, kind, ref] = m;
  let path: string | null = null;
  if (kind === 'preview') {
    if (!/^p-[\w-]+\.(jpg|png)$/.test(ref)) return null;
    path = join(layout.previewDir(), ref);
  } else {
    const id = Number(ref);
    if (!Number.isSafeInteger(id) || id <= 0) return null;
    if (kind === 'original') {
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
  if (!type && (kind === 'original' || kind === 'full')) return null;
  return { path, contentType: type ?? 'application/octet-stream' };
}
