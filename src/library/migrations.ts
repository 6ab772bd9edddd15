import type { Database } from 'better-sqlite3';
import { recipeHash } from './recipe';

/**
 * The library's schema history. Each step runs once, in its own transaction, and is recorded in
 * schema_migrations; a library written by a newer Tintype is refused rather than guessed at.
 * Steps are append-only: a shipped step is never edited, a change is a new step.
 */
export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'projects, assets, renders, jobs',
    up: (db) =>
      db.exec(`
        CREATE TABLE projects (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE TABLE assets (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
          kind TEXT NOT NULL CHECK (kind IN ('photo', 'video', 'stack')),
          path TEXT NOT NULL,
          name TEXT NOT NULL,
          hash TEXT NOT NULL,
          size INTEGER NOT NULL,
          width INTEGER,
          height INTEGER,
          duration_sec REAL,
          thumb_path TEXT,
          created_at INTEGER NOT NULL,
          UNIQUE (project_id, hash)
        );
        CREATE INDEX assets_project ON assets(project_id);
        CREATE TABLE renders (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
          ops TEXT NOT NULL,
          options TEXT NOT NULL,
          models TEXT NOT NULL DEFAULT '[]',
          output_path TEXT,
          status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
          error TEXT,
          ms REAL,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX renders_asset ON renders(asset_id);
        CREATE TABLE jobs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
          ops TEXT NOT NULL,
          options TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'canceled')),
          error TEXT,
          render_id INTEGER REFERENCES renders(id) ON DELETE SET NULL,
          created_at INTEGER NOT NULL,
          started_at INTEGER,
          finished_at INTEGER
        );
        CREATE INDEX jobs_status ON jobs(status, id);
      `),
  },
  {
    version: 2,
    name: 'batches, settings, copies of originals, 16-bit stacks, recipe hashes',
    up: (db) => {
      db.exec(`
        ALTER TABLE projects ADD COLUMN copy_originals INTEGER NOT NULL DEFAULT 0;

        ALTER TABLE assets ADD COLUMN source_path TEXT;
        UPDATE assets SET source_path = path;
        ALTER TABLE assets ADD COLUMN depth INTEGER;
        ALTER TABLE assets ADD COLUMN pages INTEGER;
        ALTER TABLE assets ADD COLUMN fps REAL;
        ALTER TABLE assets ADD COLUMN problem TEXT;
        ALTER TABLE assets ADD COLUMN view_path TEXT;
        CREATE INDEX assets_name ON assets(project_id, name);

        ALTER TABLE renders ADD COLUMN job_id INTEGER;
        ALTER TABLE renders ADD COLUMN watermark INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE renders ADD COLUMN recipe_hash TEXT NOT NULL DEFAULT '';
        ALTER TABLE renders ADD COLUMN width INTEGER;
        ALTER TABLE renders ADD COLUMN height INTEGER;
        ALTER TABLE renders ADD COLUMN inference_ms REAL;
        ALTER TABLE renders ADD COLUMN view_path TEXT;
        CREATE INDEX renders_recipe ON renders(asset_id, recipe_hash, status);

        CREATE TABLE batches (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL,
          project_id INTEGER REFERENCES projects(id) ON DELETE SET NULL,
          ops TEXT NOT NULL,
          options TEXT NOT NULL,
          watermark INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          finished_at INTEGER
        );

        ALTER TABLE jobs ADD COLUMN batch_id INTEGER REFERENCES batches(id) ON DELETE CASCADE;
        ALTER TABLE jobs ADD COLUMN watermark INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN recipe_hash TEXT NOT NULL DEFAULT '';
        ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX jobs_batch ON jobs(batch_id, status);
        CREATE INDEX jobs_asset ON jobs(asset_id, id);

        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      `);
      // Hashes need the canonical recipe, which only the app knows how to compute.
      const recipeOf = (ops: string, options: string) => ({
        ops: JSON.parse(ops),
        options: JSON.parse(options),
        watermark: false,
      });
      const setRender = db.prepare('UPDATE renders SET recipe_hash = ? WHERE id = ?');
      for (const r of db.prepare('SELECT id, ops, options FROM renders').all() as {
        id: number;
        ops: string;
        options: string;
      }[]) {
        setRender.run(recipeHash(recipeOf(r.ops, r.options)), r.id);
      }
      const setJob = db.prepare('UPDATE jobs SET recipe_hash = ? WHERE id = ?');
      for (const j of db.prepare('SELECT id, ops, options FROM jobs').all() as {
        id: number;
        ops: string;
        options: string;
      }[]) {
        setJob.run(recipeHash(recipeOf(j.ops, j.options)), j.id);
      }
      // Jobs from before batches existed become one batch, so the queue panel can still show them.
      const orphans = db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number };
      if (orphans.n > 0) {
        const first = db.prepare('SELECT ops, options, created_at FROM jobs ORDER BY id LIMIT 1').get() as {
          ops: string;
          options: string;
          created_at: number;
        };
        const batch = db
          .prepare('INSERT INTO batches (name, ops, options, created_at) VALUES (?, ?, ?, ?)')
          .run('Earlier jobs', first.ops, first.options, first.created_at);
        db.prepare('UPDATE jobs SET batch_id = ?').run(batch.lastInsertRowid);
      }
    },
  },
  {
    version: 3,
    name: 'colour verdict of each asset',
    // JSON of the engine's ColourVerdict; NULL until measured (older imports are measured when needed).
    up: (db) => db.exec('ALTER TABLE assets ADD COLUMN colour TEXT;'),
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
