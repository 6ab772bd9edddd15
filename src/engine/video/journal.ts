import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, constants, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { errorMessage, ioProblem, VideoError } from '../errors';
import { MAX_NAME_BYTES } from '../fs/atomic';

const SegmentSchema = z.object({
  index: z.number().int().nonnegative(),
  /** First frame, counted from the start of the rendered range. */
  firstFrame: z.number().int().nonnegative(),
  frames: z.number().int().positive(),
  /** File (video) or folder (frames) inside the work folder. */
  name: z.string().min(1),
});
export type SegmentRecord = z.infer<typeof SegmentSchema>;

export const JournalSchema = z.object({
  version: z.literal(1),
  input: z.object({ path: z.string(), size: z.number(), mtimeMs: z.number() }),
  output: z.string(),
  format: z.string(),
  /** Hash of every setting that changes pixels or timing: resuming with different ones would mix two renders. */
  fingerprint: z.string(),
  settings: z.record(z.string(), z.unknown()),
  segmentFrames: z.number().int().positive(),
  segments: z.array(SegmentSchema),
  /** Set once the last frame has been rendered; only the join remains. */
  complete: z.boolean().default(false),
  updated: z.string(),
});
export type Journal = z.infer<typeof JournalSchema>;

export const JOURNAL_NAME = 'journal.json';

export function fingerprintOf(settings: Record<string, unknown>): string {
  const stable = JSON.stringify(settings, Object.keys(settings).sort());
  return createHash('sha256').update(stable).digest('hex').slice(0, 16);
}

/** fsync a file or folder so a rename that follows is durable across a power cut, not just a kill. */
export async function syncPath(path: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some file systems (and Windows folders) cannot be fsynced; the rename is still atomic.
  }
}

/** Writes the journal atomically: a kill leaves either the old or the new version, never half of one. */
export async function writeJournal(workDir: string, journal: Journal): Promise<void> {
  const path = join(workDir, JOURNAL_NAME);
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify({ ...journal, updated: new Date().toISOString() }, null, 2));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncPath(dirname(path));
}

export async function readJournal(workDir: string): Promise<Journal | undefined> {
  const path = join(workDir, JOURNAL_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JournalSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new VideoError(
      `${path}: unreadable resume journal (${errorMessage(err)}); pass --restart (or delete ${workDir}) to start over`,
      'JOURNAL_MISMATCH',
      path,
    );
  }
}

export async function removeWorkDir(workDir: string): Promise<void> {
  await rm(workDir, { recursive: true, force: true });
}

export const LOCK_NAME = 'lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the work folder's lock (a file holding our pid, created exclusively). A lock whose process
 * is gone (a crash or kill) is taken over; a live one means another render owns this output.
 */
export async function lockWorkDir(workDir: string): Promise<{ release(): Promise<void> }> {
  const path = join(workDir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && alive(pid)) {
        throw new VideoError(
          `${workDir}: another render (process ${pid}) is writing this output; wait for it or stop it first`,
          'WORK_EXISTS',
          workDir,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new VideoError(`${workDir}: cannot take the lock`, 'WORK_EXISTS', workDir);
}

/** Empties the work folder but keeps it (and our lock). */
export async function clearWorkDir(workDir: string): Promise<void> {
  for (const name of await readdir(workDir).catch(() => [] as string[])) {
    if (name !== LOCK_NAME) await rm(join(workDir, name), { recursive: true, force: true });
  }
}

const WORK_SUFFIX = '.tintype-work';

/**
 * The work folder beside an output: `<output>.tintype-work`, or, when that name would pass the
 * file system's 255 bytes (the output's own name is legal), a shortened name made unique by a hash
 * of the full one, so a resume finds the same folder again.
 */
export function workDirFor(output: string): string {
  const name = basename(output);
  if (Buffer.byteLength(name + WORK_SUFFIX) <= MAX_NAME_BYTES) return output + WORK_SUFFIX;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  let prefix = '';
  for (const ch of name) {
    if (Buffer.byteLength(`${prefix}${ch}~${hash}${WORK_SUFFIX}`) > MAX_NAME_BYTES) break;
    prefix += ch;
  }
  return join(dirname(output), `${prefix}~${hash}${WORK_SUFFIX}`);
}

/** Creates the work folder; a failure says why in words (a read-only folder, a file in the way). */
export async function makeWorkDir(workDir: string, output: string): Promise<void> {
  try {
    await mkdir(workDir, { recursive: true });
  } catch (err) {
    // mkdir -p reports ENOENT for a folder it may not write in: ask the folder itself why.
    const parent = dirname(workDir);
    const why = existsSync(parent)
      ? await access(parent, constants.W_OK).then(
          () => err,
          (e: unknown) => e,
        )
      : err;
    throw new VideoError(
      `${output}: cannot write here: ${ioProblem(why, workDir) ?? errorMessage(err)}`,
      'OUTPUT_UNWRITABLE',
      output,
      undefined,
      { cause: err },
    );
  }
}

/**
 * After a failed run: only finished segments (those the journal lists) stay, for --resume; a .part
 * segment or anything else half-written goes. With no finished segment the whole folder goes, so
 * the next run starts clean instead of being refused. Returns whether anything was kept. Call it
 * while holding the lock; `removeEmpty` runs after the lock is released.
 */
export async function tidyFailedWorkDir(
  workDir: string,
): Promise<{ kept: number; removeEmpty: () => Promise<void> }> {
  const journal = await readJournal(workDir).catch(() => undefined);
  const segments = journal?.segments ?? [];
  const keep = new Set([JOURNAL_NAME, LOCK_NAME, ...segments.map((s) => s.name)]);
  for (const name of await readdir(workDir).catch(() => [] as string[])) {
    if (!keep.has(name) || name.includes('.part'))
      await rm(join(workDir, name), { recursive: true, force: true }).catch(() => undefined);
  }
  return {
    kept: segments.length,
    removeEmpty: async () => {
      if (segments.length === 0) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
