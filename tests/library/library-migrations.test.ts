import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LibraryVersionError, openDatabase, schemaVersion } from '../../src/library/db';
import { LATEST_VERSION, MIGRATIONS } from '../../src/library/migrations';
import { recipeHash } from '../../src/library/recipe';
import { LibraryService } from '../../src/library/service';
import { sharpProcessor, testCatalog, writePhoto } from '../helpers/library-helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-mig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database) =>
  (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { name: string }[]
  ).map((r) => r.name);

describe('library migrations', () => {
  it('creates a fresh library at the latest schema, in WAL mode with foreign keys', () => {
    const db = openDatabase(join(dir, 'lib.sqlite'));
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(tables(db)).toEqual([
      'assets',
      'batches',
      'jobs',
      'projects',
      'renders',
      'schema_migrations',
      'settings',
    ]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(applied).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    db.close();
    // Opening again applies nothing twice.
    const again = openDatabase(join(dir, 'lib.sqlite'));
    expect((again.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(
      MIGRATIONS.length,
    );
    again.close();
  });

  it('upgrades a version-1 library: data kept, new columns filled, an old queued job still runs', async () => {
    const libDir = join(dir, 'library');
    const photo = join(dir, 'old.jpg');
    await writePhoto(photo, 32, 24, 4, true);
    const v1 = openDatabase(join(libDir, 'library.sqlite'), MIGRATIONS.slice(0, 1));
    expect(schemaVersion(v1)).toBe(1);
    expect(tables(v1)).not.toContain('batches');
    const now = Date.now();
    v1.prepare('INSERT INTO projects (id, name, created_at, updated_at) VALUES (1, ?, ?, ?)').run(
      'From v1',
      now,
      now,
    );
    v1.prepare(
      `INSERT INTO assets (id, project_id, kind, path, name, hash, size, width, height, created_at)
       VALUES (1, 1, 'photo', ?, 'old.jpg', 'abc', 100, 32, 24, ?)`,
    ).run(photo, now);
    v1.prepare(
      `INSERT INTO renders (id, asset_id, ops, options, models, output_path, status, ms, created_at)
       VALUES (1, 1, '["colorize"]', '{"renderSize":256}', '["old-model"]', NULL, 'failed', 5, ?)`,
    ).run(now);
    v1.prepare(
      `INSERT INTO jobs (asset_id, ops, options, status, created_at) VALUES (1, '["restore"]', '{}', 'queued', ?)`,
    ).run(now);
    v1.close();

    const svc = new LibraryService({
      dataDir: join(dir, 'data'),
      libraryDir: libDir,
      engineFactory: () => sharpProcessor(),
      catalog: testCatalog,
      mode: 'server',
      version: 'test',
    });
    try {
      expect(schemaVersion(svc.db)).toBe(LATEST_VERSION);
      const [project] = svc.listProjects();
      expect(project).toMatchObject({ id: 1, name: 'From v1', copyOriginals: false, assetCount: 1 });
      const { asset, renders } = svc.getAsset({ id: 1 });
      expect(asset).toMatchObject({ path: photo, sourcePath: photo, problem: null, depth: null });
      expect(renders[0]).toMatchObject({
        status: 'failed',
        models: ['old-model'],
        recipe: { ops: ['colorize'], options: { renderSize: 256 } },
      });
      expect(renders[0].recipeHash).toBe(recipeHash({ ops: ['colorize'], options: { renderSize: 256 } }));
      const { batches } = svc.listJobs({ limit: 10 });
      expect(batches).toMatchObject([{ name: 'Earlier jobs', total: 1, queued: 1 }]);
      svc.start();
      await svc.idle();
      const after = svc.getAsset({ id: 1 });
      expect(after.asset.status).toBe('rendered');
      expect(after.renders[0]).toMatchObject({ status: 'done', models: ['test-restore@2.1.0'] });
    } finally {
      await svc.close();
    }
  });

  it('refuses a library written by a newer version instead of guessing', () => {
    const file = join(dir, 'lib.sqlite');
    const db = openDatabase(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)').run(
      'from the future',
    );
    db.close();
    expect(() => openDatabase(file)).toThrow(LibraryVersionError);
    expect(() => openDatabase(file)).toThrow(/written by a newer Tintype \(schema 99/);
  });

  it('rolls a failing migration back completely', () => {
    const file = join(dir, 'lib.sqlite');
    openDatabase(file).close();
    const broken = [
      ...MIGRATIONS,
      {
        version: LATEST_VERSION + 1,
        name: 'broken',
        up: (db: Database.Database) => {
          db.exec('CREATE TABLE half_done (x INTEGER)');
          db.exec('ALTER TABLE no_such_table ADD COLUMN y INTEGER');
        },
      },
    ];
    expect(() => openDatabase(file, broken)).toThrow(/no_such_table/);
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(tables(db)).not.toContain('half_done');
    db.close();
  });
});
