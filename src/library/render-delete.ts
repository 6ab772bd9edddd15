import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { errorMessage, ioProblem, tempPathFor, type Logger } from '../engine/index';
import type { Db } from './db';
import type { LibraryLayout } from './layout';
import { renderThumbPath } from './probe';
import type { Store } from './store';

/**
 * Deletes one render: its files (the output, its display copy and thumbnail) and its row, so that
 * neither outlives the other. The files are first renamed aside (atomic, reversible), then the row
 * goes in one transaction, then the set-aside files are removed: a failure before the row is gone
 * puts every file back, and a crash after it leaves only hidden temp names, never a row whose file
 * is missing. Only files inside the library are touched; exported copies elsewhere are the user's.
 */
export async function deleteRender(
  deps: { db: Db; store: Store; layout: LibraryLayout; log: Logger },
  id: number,
): Promise<{ assetId: number; removedFiles: number }> {
  const { db, store, layout, log } = deps;
  const row = store.renderRow(id);
  const running = db
    .prepare("SELECT count(*) AS n FROM jobs WHERE render_id = ? AND status IN ('queued', 'running')")
    .get(id) as { n: number };
  if (running.n > 0) throw new Error(`render #${id} is still being written: cancel its job first`);
  const files = [row.output_path, row.view_path, row.view_path && renderThumbPath(row.view_path)]
    .filter((p): p is string => !!p && layout.owns(p))
    .map((p) => layout.abs(p))
    .filter((p) => existsSync(p));
  const aside: [string, string][] = [];
  const restore = async () => {
    for (const [from, to] of aside.reverse()) await rename(to, from).catch(() => undefined);
  };
  try {
    for (const f of files) {
      const tmp = tempPathFor(f);
      await rename(f, tmp);
      aside.push([f, tmp]);
    }
    db.transaction(() => {
      db.prepare('UPDATE jobs SET render_id = NULL WHERE render_id = ?').run(id);
      db.prepare('DELETE FROM renders WHERE id = ?').run(id);
    })();
  } catch (err) {
    await restore();
    const file = files[aside.length];
    throw new Error(
      `cannot delete render #${id}${file ? `: ${ioProblem(err, file) ?? `${file}: ${errorMessage(err)}`}` : `: ${errorMessage(err)}`}`,
    );
  }
  for (const [, tmp] of aside) await rm(tmp, { force: true });
  log.info(`render #${id} deleted (${aside.length} files)`);
  return { assetId: row.asset_id, removedFiles: aside.length };
}
