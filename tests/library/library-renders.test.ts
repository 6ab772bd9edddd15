import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LibraryService } from '../../src/library/service';
import { sharpProcessor, testCatalog, writePhoto } from '../helpers/library-helpers';

let dir: string;
let svc: LibraryService;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-renders-'));
  svc = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor({ calls: [] }),
    catalog: testCatalog,
    mode: 'server',
    version: 'test',
  });
  svc.start();
});
afterEach(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('library: render history', () => {
  it('deletes one render: its files and its row together; the other renders and the original stay', async () => {
    const p = svc.createProject({ name: 'h' });
    const photo = join(dir, 'grey.jpg');
    await writePhoto(photo, 64, 48, 1, true);
    const [a] = (await svc.importAssets({ projectId: p.id, paths: [photo] })).added;
    for (const renderSize of [224, 256]) {
      await svc.startBatch({
        target: { kind: 'assets', ids: [a.id] },
        recipe: { ops: ['colorize'], options: { renderSize }, watermark: false },
        skipDone: true,
      });
      await svc.idle();
    }
    const [newer, older] = svc.getAsset({ id: a.id }).renders;
    expect([newer.status, older.status]).toEqual(['done', 'done']);
    const filesOf = (r: typeof newer) => {
      const row = svc.store.renderRow(r.id);
      return [row.output_path!, row.view_path!].map((f) => svc.layout.abs(f));
    };
    const gone = filesOf(newer);
    const kept = filesOf(older);
    expect([...gone, ...kept].every((f) => existsSync(f))).toBe(true);

    expect(await svc.deleteRender({ id: newer.id })).toEqual({ ok: true, removedFiles: 3 });
    expect(gone.some((f) => existsSync(f))).toBe(false);
    expect(kept.every((f) => existsSync(f))).toBe(true);
    expect(svc.getAsset({ id: a.id }).renders.map((r) => r.id)).toEqual([older.id]);
    expect(svc.getAsset({ id: a.id }).asset.latestRender?.id).toBe(older.id);
    // Nothing half-deleted is left behind (no hidden temp names), and the original is untouched.
    const rendersDir = join(svc.layout.root, 'projects', String(p.id), 'renders');
    expect(readdirSync(rendersDir, { recursive: true }).filter((n) => String(n).includes('.tmp'))).toEqual(
      [],
    );
    expect(existsSync(photo)).toBe(true);
    // The same recipe can be rendered again (it is no longer "done").
    const again = await svc.startBatch({
      target: { kind: 'assets', ids: [a.id] },
      recipe: { ops: ['colorize'], options: { renderSize: 256 }, watermark: false },
      skipDone: true,
    });
    expect(again.queued).toBe(1);
    await svc.idle();

    await svc.deleteRender({ id: older.id });
    await expect(svc.deleteRender({ id: older.id })).rejects.toThrow(/no render with id/);
  });

  it('a render whose files are already gone is still removed from the history', async () => {
    const p = svc.createProject({ name: 'h2' });
    const photo = join(dir, 'g.jpg');
    await writePhoto(photo, 40, 30, 2, true);
    const [a] = (await svc.importAssets({ projectId: p.id, paths: [photo] })).added;
    await svc.startBatch({
      target: { kind: 'assets', ids: [a.id] },
      recipe: { ops: ['colorize'], options: {}, watermark: false },
      skipDone: true,
    });
    await svc.idle();
    const [r] = svc.getAsset({ id: a.id }).renders;
    rmSync(svc.layout.abs(svc.store.renderRow(r.id).output_path!));
    expect(await svc.deleteRender({ id: r.id })).toEqual({ ok: true, removedFiles: 2 });
    expect(svc.getAsset({ id: a.id }).renders).toEqual([]);
    expect(svc.getAsset({ id: a.id }).asset.status).toBe('new');
  });

  it('when the row cannot be removed, every file is put back and the render stays whole', async () => {
    const p = svc.createProject({ name: 'h3' });
    const photo = join(dir, 'k.jpg');
    await writePhoto(photo, 40, 30, 3, true);
    const [a] = (await svc.importAssets({ projectId: p.id, paths: [photo] })).added;
    await svc.startBatch({
      target: { kind: 'assets', ids: [a.id] },
      recipe: { ops: ['colorize'], options: {}, watermark: false },
      skipDone: true,
    });
    await svc.idle();
    const [r] = svc.getAsset({ id: a.id }).renders;
    const row = svc.store.renderRow(r.id);
    // The database refuses the delete (as a full disk or a locked file would).
    svc.db.exec(
      "CREATE TRIGGER keep BEFORE DELETE ON renders BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    await expect(svc.deleteRender({ id: r.id })).rejects.toThrow(
      /cannot delete render #\d+.*disk I\/O error/,
    );
    expect(existsSync(svc.layout.abs(row.output_path!))).toBe(true);
    expect(existsSync(svc.layout.abs(row.view_path!))).toBe(true);
    expect(svc.getAsset({ id: a.id }).renders.map((x) => x.id)).toEqual([r.id]);
  });
});
