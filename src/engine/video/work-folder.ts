import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { VideoError } from '../errors';
import { runCommand } from './child';
import type { FormatSpec } from './formats';
import {
  clearWorkDir,
  JOURNAL_NAME,
  LOCK_NAME,
  readJournal,
  writeJournal,
  type Journal,
  type SegmentRecord,
} from './journal';
import type { Paths, RenderPlan } from './plan';

/**
 * The work folder beside the output: finished segments and the journal that lists them. Before a
 * render, it is reconciled with the journal so that a resumed render trusts only segments that are
 * really there and complete.
 */

function seq(n: number): string {
  return String(n).padStart(6, '0');
}

/**
 * A segment's file (video) or folder (frames) in the work folder; `part` while it is being written
 * (a string makes the .part name unique to one writer, as farm workers need).
 */
export function segmentPath(
  workDir: string,
  format: FormatSpec,
  s: SegmentRecord | number,
  part: boolean | string = false,
): string {
  const index = typeof s === 'number' ? s : s.index;
  const partName = part === false ? '' : part === true ? '.part' : `.part-${part}`;
  const name = `seg-${seq(index)}${partName}${format.kind === 'video' ? `.${format.ext}` : ''}`;
  return join(workDir, name);
}

/** ffprobe's packet count for a finished segment file; frames are packets for every codec we write. */
async function countPackets(ffprobe: string, file: string): Promise<number> {
  const r = await runCommand(ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    '-of',
    'csv=p=0',
    file,
  ]);
  const n = Number(r.stdout.trim().split(/[\s,]+/)[0]);
  return r.code === 0 && Number.isFinite(n) ? n : -1;
}

async function countFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.')).length;
  } catch {
    return -1;
  }
}

/** Frames a segment on disk holds (-1 when it cannot be read). */
export function framesIn(ffprobe: string, format: FormatSpec, path: string): Promise<number> {
  return format.kind === 'video' ? countPackets(ffprobe, path) : countFiles(path);
}

export interface ReconcileOptions {
  resume?: boolean;
  /**
   * Segments may be finished in any order (the render farm): every one that verifies is kept, not
   * just the unbroken run from the start.
   */
  anyOrder?: boolean;
  restart?: boolean;
  ffprobe: string;
  input: { path: string; size: number; mtimeMs: number };
  note: (n: string) => void;
}

/**
 * Returns the journal to render with: a fresh one, or the unfinished one with the longest prefix of
 * segments that verify. Refuses an unfinished render unless asked to resume (or restart), and one
 * made with other settings or from a changed input. Anything the journal does not list goes.
 */
export async function reconcileWorkDir(
  paths: Paths,
  format: FormatSpec,
  plan: RenderPlan,
  o: ReconcileOptions,
): Promise<Journal> {
  let journal = await readJournal(paths.workDir).catch(async (err: unknown) => {
    if (o.restart) return undefined;
    throw err;
  });
  if (journal && o.restart) {
    await clearWorkDir(paths.workDir);
    journal = undefined;
  }
  if (!journal) {
    // A work folder without a journal holds no committed segment: nothing to lose.
    await clearWorkDir(paths.workDir);
  }
  if (journal && !o.resume) {
    const done = journal.segments.reduce((s, g) => s + g.frames, 0);
    throw new VideoError(
      `${paths.workDir}: an unfinished render of this output is there (${journal.segments.length} segments, ${done} frames done): pass --resume to continue it or --restart to discard it`,
      'WORK_EXISTS',
      paths.workDir,
    );
  }
  if (journal) {
    const changed: string[] = [];
    if (journal.fingerprint !== plan.fingerprint) {
      for (const k of Object.keys(plan.settings)) {
        if (JSON.stringify(plan.settings[k]) !== JSON.stringify(journal.settings[k])) changed.push(k);
      }
    }
    if (journal.input.size !== o.input.size || Math.abs(journal.input.mtimeMs - o.input.mtimeMs) > 1)
      changed.push('input file');
    if (changed.length) {
      throw new VideoError(
        `${paths.workDir}: the unfinished render used different ${changed.join(', ')}; resume with the same settings, or pass --restart`,
        'JOURNAL_MISMATCH',
        paths.workDir,
      );
    }
  } else {
    if (o.resume) o.note('nothing to resume: starting from the first frame');
    journal = {
      version: 1,
      input: o.input,
      output: paths.output,
      format: format.format,
      fingerprint: plan.fingerprint,
      settings: plan.settings,
      segmentFrames: plan.segmentFrames,
      segments: [],
      complete: false,
      updated: new Date().toISOString(),
    };
  }
  await mkdir(paths.workDir, { recursive: true });
  const J: Journal = journal;

  const kept = o.anyOrder
    ? await verifiedSegments(paths, format, J, o)
    : await verifiedPrefix(paths, format, J, o);
  if (kept.length !== J.segments.length || kept.some((k, i) => k !== J.segments[i])) {
    J.segments = kept;
    J.complete = false;
  }
  // Anything in the work folder that the journal does not list (a segment in flight at the kill) goes.
  const listed = new Set([
    JOURNAL_NAME,
    LOCK_NAME,
    ...J.segments.map((s) => basename(segmentPath(paths.workDir, format, s))),
  ]);
  for (const name of await readdir(paths.workDir)) {
    if (!listed.has(name)) await rm(join(paths.workDir, name), { recursive: true, force: true });
  }
  await writeJournal(paths.workDir, J);
  return J;
}

/** Resume: the longest prefix of segments that are really there and complete. */
async function verifiedPrefix(
  paths: Paths,
  format: FormatSpec,
  J: Journal,
  o: ReconcileOptions,
): Promise<SegmentRecord[]> {
  const kept: SegmentRecord[] = [];
  for (const s of J.segments) {
    if (
      s.index !== kept.length ||
      s.firstFrame !== kept.reduce((a, g) => a + g.frames, 0) ||
      (await framesIn(o.ffprobe, format, segmentPath(paths.workDir, format, s))) !== s.frames
    ) {
      o.note(`segment ${s.index} is missing or incomplete: it and the ones after it are rendered again`);
      break;
    }
    kept.push(s);
  }
  return kept;
}

/**
 * Farm resume: every segment in the work folder that verifies, in index order. A segment file the
 * journal does not list is adopted too: farm workers rename a segment into place only once it is
 * complete, and the coordinator may have stopped before it recorded the segment.
 */
export async function verifiedSegments(
  paths: Paths,
  format: FormatSpec,
  J: Journal,
  o: Pick<ReconcileOptions, 'ffprobe' | 'note'>,
): Promise<SegmentRecord[]> {
  const listed = new Map(J.segments.map((s) => [s.index, s]));
  const kept: SegmentRecord[] = [];
  for (const name of (await readdir(paths.workDir)).sort()) {
    const m = /^seg-(\d{6,})/.exec(name);
    if (!m) continue;
    const index = Number(m[1]);
    if (name !== basename(segmentPath(paths.workDir, format, index))) continue;
    const frames = await framesIn(o.ffprobe, format, join(paths.workDir, name));
    const record = listed.get(index);
    if (frames <= 0 || frames > J.segmentFrames || (record && record.frames !== frames)) {
      o.note(`segment ${index} is incomplete: it is rendered again`);
      continue;
    }
    kept.push(record ?? { index, firstFrame: index * J.segmentFrames, frames, name });
  }
  for (const s of J.segments)
    if (!kept.some((k) => k.index === s.index)) o.note(`segment ${s.index} is missing: it is rendered again`);
  return kept;
}
