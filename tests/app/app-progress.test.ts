import { describe, expect, it } from 'vitest';
import { DesktopProgress, type ProgressWindow } from '../../src/main/progress';
import type { Batch, Job } from '../../src/shared/api';
import { batchNotice, LONG_BATCH_SEC, overallProgress } from '../../src/shared/notify';

/**
 * Taskbar/dock progress and end-of-batch notifications: the rule (shared by the desktop app and a
 * browser) and the main-process module that turns backend events into setProgressBar calls and OS
 * notifications, driven here with a fake window instead of Electron.
 */

const T0 = 1_700_000_000_000;
function batch(p: Partial<Batch> = {}): Batch {
  return {
    id: 1,
    name: 'colorize · 4 files',
    projectId: 1,
    recipe: { ops: ['colorize'], options: {}, watermark: false },
    createdAt: T0,
    finishedAt: null,
    total: 4,
    queued: 4,
    running: 0,
    done: 0,
    failed: 0,
    canceled: 0,
    films: 0,
    itemsPerSec: null,
    etaSec: null,
    ...p,
  };
}
const finished = (p: Partial<Batch>) => batch({ queued: 0, finishedAt: T0 + 1000, ...p });
function job(id: number, status: Job['status'], progress: number): Job {
  return {
    id,
    batchId: 1,
    assetId: id,
    assetName: `f${id}.jpg`,
    status,
    progress,
    stage: null,
    canceling: false,
    error: null,
    attempts: 0,
    renderId: null,
    createdAt: T0,
    startedAt: T0,
    finishedAt: null,
    etaSec: null,
  };
}

describe('which batch ends are announced', () => {
  it('announces long batches and any with a film, not quick ones or ones canceled entirely', () => {
    expect(batchNotice(finished({ done: 4 }))).toBeNull(); // one second of photos
    const long = batchNotice(finished({ done: 4, finishedAt: T0 + LONG_BATCH_SEC * 1000 }));
    expect(long).toEqual({
      title: 'Batch finished: colorize · 4 files',
      body: '4 done · 30 s',
      failed: false,
    });
    const film = batchNotice(finished({ total: 1, done: 0, failed: 1, films: 1, finishedAt: T0 + 200_000 }));
    expect(film).toEqual({
      title: 'Batch finished with errors: colorize · 4 files',
      body: '0 done, 1 failed · 3 min 20 s',
      failed: true,
    });
    expect(batchNotice(finished({ canceled: 4, films: 1, finishedAt: T0 + 99_000 }))).toBeNull();
    expect(batchNotice(batch({ films: 1 }))).toBeNull(); // not finished
  });

  it('measures overall progress over unfinished batches, running jobs by their own progress', () => {
    expect(overallProgress([], new Map())).toBe(-1);
    expect(overallProgress([finished({ done: 4 })], new Map())).toBe(-1);
    const b = batch({ total: 4, queued: 1, running: 1, done: 2 });
    expect(overallProgress([b], new Map())).toBe(0.5);
    expect(overallProgress([b], new Map([[9, 0.5]]))).toBe(0.625);
    // Two batches: 6 items, 3 finished.
    expect(overallProgress([b, batch({ id: 2, total: 2, queued: 1, done: 1 })], new Map())).toBe(0.5);
  });
});

describe('the desktop app: taskbar progress and OS notifications', () => {
  function setup(initial: Batch[] = []) {
    const bars: [number, string | undefined][] = [];
    const notes: string[] = [];
    let destroyed = false;
    const win: ProgressWindow = {
      setProgressBar: (p, o) => bars.push([p, o?.mode]),
      isDestroyed: () => destroyed,
    };
    const progress = new DesktopProgress({ window: () => win, notify: (n) => notes.push(n.title), initial });
    return { progress, bars, notes, destroy: () => (destroyed = true) };
  }

  it('moves the bar with batches and running jobs, clears it at the end and notifies once', () => {
    const { progress, bars, notes } = setup();
    progress.handle({ type: 'batch', batch: batch({ total: 2, queued: 2, films: 1 }) });
    progress.handle({ type: 'job', job: job(1, 'running', 0.5) });
    progress.handle({ type: 'job', job: job(1, 'running', 0.501) }); // same whole percent: no call
    progress.handle({ type: 'job', job: job(1, 'done', 1) });
    progress.handle({ type: 'batch', batch: batch({ total: 2, queued: 1, running: 0, done: 1, films: 1 }) });
    progress.handle({ type: 'library', projectId: 1 }); // not about progress
    const end = finished({ total: 2, done: 1, failed: 1, films: 1 });
    progress.handle({ type: 'batch', batch: end });
    progress.handle({ type: 'batch-done', batch: end });
    expect(bars).toEqual([
      [0, 'normal'],
      [0.25, 'normal'],
      [0.5, 'normal'],
      [-1, 'none'],
    ]);
    expect(notes).toEqual(['Batch finished with errors: colorize · 4 files']);
  });

  it('shows a failure in the bar, picks up batches resumed at start and leaves a closed window alone', () => {
    const { progress, bars, destroy } = setup([batch({ total: 4, queued: 2, done: 1, failed: 1 })]);
    progress.handle({ type: 'job', job: job(3, 'running', 0) });
    expect(bars).toEqual([[0.5, 'error']]);
    destroy();
    progress.handle({ type: 'job', job: job(3, 'running', 0.9) });
    expect(bars.length).toBe(1);
  });
});
