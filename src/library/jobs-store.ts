import type { Batch, Job, JobStatus, Recipe } from '../shared/api';
import type { Db } from './db';
import { recipeHash } from './recipe';
import { recipeFromRow } from './store';

export interface JobRow {
  id: number;
  batch_id: number;
  asset_id: number;
  ops: string;
  options: string;
  watermark: number;
  recipe_hash: string;
  status: JobStatus;
  error: string | null;
  attempts: number;
  cancel_requested: number;
  render_id: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

interface BatchRow {
  id: number;
  name: string;
  project_id: number | null;
  ops: string;
  options: string;
  watermark: number;
  created_at: number;
  finished_at: number | null;
}

/** Live progress of running jobs: kept in memory, the database only records state changes. */
export interface LiveProgress {
  fraction: number;
  stage: string | null;
  startedAt: number;
  /** Seconds left, from the measured throughput of the step now running (see queue.ts). */
  etaSec?: number | null;
}

/**
 * The persistent queue. A job's state lives in SQLite from the moment it is queued, so a crash or a
 * kill loses nothing: jobs left 'running' are put back in the queue at the next start.
 */
export class JobStore {
  constructor(private readonly db: Db) {}

  createBatch(name: string, projectId: number | null, recipe: Recipe): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO batches (name, project_id, ops, options, watermark, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(
          name,
          projectId,
          JSON.stringify(recipe.ops),
          JSON.stringify(recipe.options),
          recipe.watermark ? 1 : 0,
          Date.now(),
        ).lastInsertRowid,
    );
  }

  enqueue(batchId: number, assetIds: number[], recipe: Recipe): number[] {
    const insert = this.db.prepare(
      `INSERT INTO jobs (batch_id, asset_id, ops, options, watermark, recipe_hash, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`,
    );
    const hash = recipeHash(recipe);
    const now = Date.now();
    return this.db.transaction(() =>
      assetIds.map((assetId) =>
        Number(
          insert.run(
            batchId,
            assetId,
            JSON.stringify(recipe.ops),
            JSON.stringify(recipe.options),
            recipe.watermark ? 1 : 0,
            hash,
            now,
          ).lastInsertRowid,
        ),
      ),
    )();
  }

  /** Assets with a queued or running job for this recipe (so a second batch does not double them). */
  pendingAssets(recipeHashValue: string): Set<number> {
    const rows = this.db
      .prepare("SELECT DISTINCT asset_id FROM jobs WHERE recipe_hash = ? AND status IN ('queued', 'running')")
      .all(recipeHashValue) as { asset_id: number }[];
    return new Set(rows.map((r) => r.asset_id));
  }

  /** Takes the oldest queued job and marks it running, in one statement (no two runners get it). */
  claimNext(): JobRow | undefined {
    return this.db
      .prepare(
        `UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1, error = NULL
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1)
         RETURNING *`,
      )
      .get(Date.now()) as JobRow | undefined;
  }

  /** Jobs a previous run left 'running' (crash, kill, power cut) go back to the queue. */
  recoverInterrupted(): number {
    return this.db
      .prepare(
        "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN 'canceled' ELSE 'queued' END, started_at = NULL WHERE status = 'running'",
      )
      .run().changes;
  }

  job(id: number): JobRow | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }

  finish(
    id: number,
    status: 'done' | 'failed' | 'canceled',
    fields: { error?: string | null; renderId?: number | null } = {},
  ): void {
    this.db
      .prepare(
        'UPDATE jobs SET status = ?, error = ?, render_id = coalesce(?, render_id), finished_at = ? WHERE id = ?',
      )
      .run(status, fields.error ?? null, fields.renderId ?? null, Date.now(), id);
  }

  private select(filter: { jobIds?: number[]; batchId?: number }, statuses: JobStatus[]): JobRow[] {
    const where = [`status IN (${statuses.map(() => '?').join(',')})`];
    const params: (string | number)[] = [...statuses];
    if (filter.jobIds) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(filter.jobIds));
    }
    if (filter.batchId !== undefined) {
      where.push('batch_id = ?');
      params.push(filter.batchId);
    }
    return this.db.prepare(`SELECT * FROM jobs WHERE ${where.join(' AND ')}`).all(...params) as JobRow[];
  }

  /** Queued jobs are canceled at once; running ones are flagged and discarded when the engine returns. */
  cancel(filter: { jobIds?: number[]; batchId?: number }): { canceled: JobRow[]; flagged: JobRow[] } {
    return this.db.transaction(() => {
      const queued = this.select(filter, ['queued']);
      const running = this.select(filter, ['running']);
      const now = Date.now();
      const cancelStmt = this.db.prepare("UPDATE jobs SET status = 'canceled', finished_at = ? WHERE id = ?");
      for (const j of queued) cancelStmt.run(now, j.id);
      const flag = this.db.prepare('UPDATE jobs SET cancel_requested = 1 WHERE id = ?');
      for (const j of running) flag.run(j.id);
      return { canceled: queued, flagged: running };
    })();
  }

  retry(filter: { jobIds?: number[]; batchId?: number }): JobRow[] {
    return this.db.transaction(() => {
      const rows = this.select(filter, ['failed', 'canceled']);
      const stmt = this.db.prepare(
        "UPDATE jobs SET status = 'queued', error = NULL, cancel_requested = 0, started_at = NULL, finished_at = NULL WHERE id = ?",
      );
      for (const j of rows) stmt.run(j.id);
      const batches = new Set(rows.map((j) => j.batch_id));
      const reopen = this.db.prepare('UPDATE batches SET finished_at = NULL WHERE id = ?');
      for (const b of batches) reopen.run(b);
      return rows;
    })();
  }

  clearFinished(): number {
    return this.db.transaction(() => {
      const n = this.db
        .prepare("DELETE FROM jobs WHERE status IN ('done', 'failed', 'canceled')")
        .run().changes;
      this.db
        .prepare('DELETE FROM batches WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id)')
        .run();
      return n;
    })();
  }

  /** Marks the batch finished if nothing of it is left to run; true the first time that happens. */
  closeBatchIfDone(batchId: number): boolean {
    const left = this.db
      .prepare("SELECT count(*) AS n FROM jobs WHERE batch_id = ? AND status IN ('queued', 'running')")
      .get(batchId) as { n: number };
    if (left.n > 0) return false;
    return (
      this.db
        .prepare('UPDATE batches SET finished_at = ? WHERE id = ? AND finished_at IS NULL')
        .run(Date.now(), batchId).changes === 1
    );
  }

  listJobs(opts: { batchId?: number; limit: number }, live: Map<number, LiveProgress>): Job[] {
    const rows = this.db
      .prepare(
        `SELECT j.*, a.name AS asset_name FROM jobs j JOIN assets a ON a.id = j.asset_id
         ${opts.batchId !== undefined ? 'WHERE j.batch_id = ?' : ''}
         ORDER BY j.id DESC LIMIT ?`,
      )
      .all(...(opts.batchId !== undefined ? [opts.batchId, opts.limit] : [opts.limit])) as (JobRow & {
      asset_name: string;
    })[];
    return rows.map((r) => this.toJob(r, live.get(r.id)));
  }

  jobView(id: number, live: Map<number, LiveProgress>): Job | undefined {
    const row = this.db
      .prepare(
        'SELECT j.*, a.name AS asset_name FROM jobs j JOIN assets a ON a.id = j.asset_id WHERE j.id = ?',
      )
      .get(id) as (JobRow & { asset_name: string }) | undefined;
    return row ? this.toJob(row, live.get(id)) : undefined;
  }

  private toJob(r: JobRow & { asset_name: string }, live: LiveProgress | undefined): Job {
    const progress = r.status === 'done' ? 1 : r.status === 'running' ? (live?.fraction ?? 0) : 0;
    const etaSec = r.status === 'running' ? (live?.etaSec ?? null) : null;
    return {
      id: r.id,
      batchId: r.batch_id,
      assetId: r.asset_id,
      assetName: r.asset_name,
      status: r.status,
      progress: Math.min(1, Math.max(0, progress)),
      stage: r.status === 'running' ? (live?.stage ?? 'starting') : null,
      canceling: r.status === 'running' && r.cancel_requested === 1,
      error: r.error,
      attempts: r.attempts,
      renderId: r.render_id,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      etaSec,
    };
  }

  listBatches(limit = 50): Batch[] {
    const rows = this.db.prepare('SELECT * FROM batches ORDER BY id DESC LIMIT ?').all(limit) as BatchRow[];
    return rows.map((b) => this.toBatch(b));
  }

  batch(id: number): Batch | undefined {
    const row = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
    return row ? this.toBatch(row) : undefined;
  }

  private toBatch(b: BatchRow): Batch {
    const counts = Object.fromEntries(
      (
        this.db
          .prepare('SELECT status, count(*) AS n FROM jobs WHERE batch_id = ? GROUP BY status')
          .all(b.id) as { status: JobStatus; n: number }[]
      ).map((r) => [r.status, r.n]),
    ) as Partial<Record<JobStatus, number>>;
    const t = this.db
      .prepare(
        "SELECT min(started_at) AS first, max(finished_at) AS last, count(*) AS n FROM jobs WHERE batch_id = ? AND status IN ('done', 'failed') AND started_at IS NOT NULL",
      )
      .get(b.id) as { first: number | null; last: number | null; n: number };
    const queued = counts.queued ?? 0;
    const running = counts.running ?? 0;
    const { films } = this.db
      .prepare(
        "SELECT count(*) AS films FROM jobs j JOIN assets a ON a.id = j.asset_id WHERE j.batch_id = ? AND a.kind IN ('video', 'stack')",
      )
      .get(b.id) as { films: number };
    let itemsPerSec: number | null = null;
    let etaSec: number | null = null;
    if (t.n > 0 && t.first !== null) {
      const end = queued + running > 0 ? Date.now() : (t.last ?? Date.now());
      const secs = Math.max((end - t.first) / 1000, 0.001);
      itemsPerSec = t.n / secs;
      etaSec = queued + running > 0 ? (queued + running) / itemsPerSec : 0;
    }
    const total = Object.values(counts).reduce((s, n) => s + (n ?? 0), 0);
    return {
      id: b.id,
      name: b.name,
      projectId: b.project_id,
      recipe: recipeFromRow(b),
      createdAt: b.created_at,
      finishedAt: b.finished_at,
      total,
      queued,
      running,
      done: counts.done ?? 0,
      failed: counts.failed ?? 0,
      canceled: counts.canceled ?? 0,
      films,
      itemsPerSec,
      etaSec,
    };
  }
}
