import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase } from '../../src/library/db';
import { LibraryService } from '../../src/library/service';
import { sharpProcessor, testCatalog, writePhoto } from '../helpers/library-helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-crash-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

it('a batch killed with SIGKILL resumes at the next start; finished renders stay intact', async () => {
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  for (let i = 0; i < 6; i++) await writePhoto(join(photos, `p${i}.jpg`), 40, 30, i + 1, true);
  const libraryDir = join(dir, 'library');

  // Run the batch in a child process and kill it hard once two jobs are done and a third is mid-render.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'helpers', 'library-crash-child.ts'),
      libraryDir,
      photos,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const finished = await new Promise<{ job: number; render: number }[]>((resolve, reject) => {
    const done: { job: number; render: number }[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^done (\d+) (\d+)$/.exec(line);
        if (m) done.push({ job: Number(m[1]), render: Number(m[2]) });
        const r = /^rendering (\d+)$/.exec(line);
        if (r && done.length >= 2 && !done.some((d) => d.job === Number(r[1]))) {
          child.kill('SIGKILL');
          resolve(done);
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited early (${code}): ${stderr}`));
    });
  });
  await new Promise((r) => child.once('exit', r));

  // What the kill left behind: two done jobs with their renders, the rest queued or mid-render.
  const db = openDatabase(join(libraryDir, 'library.sqlite'));
  const states = db
    .prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status ORDER BY status')
    .all() as { status: string; n: number }[];
  const count = (s: string) => states.find((x) => x.status === s)?.n ?? 0;
  expect(count('done')).toBeGreaterThanOrEqual(2);
  expect(count('done') + count('running') + count('queued')).toBe(6);
  expect(count('done')).toBeLessThan(6);
  expect(count('running')).toBe(1);
  const before = db
    .prepare("SELECT id, output_path FROM renders WHERE status = 'done' ORDER BY id")
    .all() as { id: number; output_path: string }[];
  db.close();
  const hashes = new Map(before.map((r) => [r.id, sha(join(libraryDir, r.output_path))]));
  for (const f of finished) expect(hashes.has(f.render)).toBe(true);

  // Restart: the interrupted job goes back to the queue and everything finishes once.
  const svc = new LibraryService({
    dataDir: join(dir, 'data'),
    libraryDir,
    engineFactory: () => sharpProcessor(),
    catalog: testCatalog,
    mode: 'server',
    version: 'test',
  });
  try {
    const resumed = svc.start();
    expect(resumed).toBe(count('running'));
    await svc.idle();
    const { jobs, batches } = svc.listJobs({ limit: 100 });
    expect(jobs.map((j) => j.status)).toEqual(Array(6).fill('done'));
    expect(batches[0]).toMatchObject({ total: 6, done: 6, failed: 0 });
    const renders = svc.db
      .prepare("SELECT asset_id, count(*) AS n FROM renders WHERE status = 'done' GROUP BY asset_id")
      .all() as { n: number }[];
    expect(renders.length).toBe(6);
    expect(renders.every((r) => r.n === 1)).toBe(true);
    for (const [id, hash] of hashes) expect(sha(svc.store.rendersByIds([id])[0].outputPath!)).toBe(hash);
  } finally {
    await svc.close();
  }
});
