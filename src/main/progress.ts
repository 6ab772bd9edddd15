import type { Batch } from '../shared/api';
import type { ApiEvent } from '../shared/bridge';
import { batchNotice, overallProgress, type Notice } from '../shared/notify';

/** The part of a BrowserWindow this needs (a fake one in the tests). */
export interface ProgressWindow {
  setProgressBar(
    progress: number,
    options?: { mode: 'none' | 'normal' | 'indeterminate' | 'error' | 'paused' },
  ): void;
  isDestroyed(): boolean;
}

/**
 * The desktop app's taskbar/dock progress and its OS notifications, driven by the backend's events.
 * Batches are kept from their own events, so a progress tick of a running job costs no query; no
 * Electron import here (index.ts passes the window and a notifier), so the tests drive it.
 */
export class DesktopProgress {
  private readonly batches = new Map<number, Batch>();
  /** Jobs at work (their fraction), and ones just finished that their batch does not count yet. */
  private readonly jobs = new Map<number, { batchId: number; fraction: number; finished: boolean }>();
  private last: string | null = null;

  constructor(
    private readonly o: {
      window: () => ProgressWindow | null;
      notify: (n: Notice) => void;
      /** Unfinished batches at start (a resumed queue). */
      initial?: Batch[];
    },
  ) {
    for (const b of o.initial ?? []) this.batches.set(b.id, b);
  }

  handle(e: ApiEvent): void {
    if (e.type === 'job') {
      const { id, batchId, status, progress } = e.job;
      if (status === 'running') this.jobs.set(id, { batchId, fraction: progress, finished: false });
      else if (status === 'queued') this.jobs.delete(id);
      // A finished job counts as whole until its batch's next event counts it (the queue sends the
      // job's event first), so the bar never steps back.
      else if (this.jobs.has(id)) this.jobs.set(id, { batchId, fraction: 1, finished: true });
    } else if (e.type === 'batch' || e.type === 'batch-done') {
      for (const [id, j] of this.jobs) if (j.batchId === e.batch.id && j.finished) this.jobs.delete(id);
      if (e.type === 'batch') this.batches.set(e.batch.id, e.batch);
    }
    if (e.type === 'batch-done') {
      this.batches.delete(e.batch.id);
      for (const [id, j] of this.jobs) if (j.batchId === e.batch.id) this.jobs.delete(id);
      const n = batchNotice(e.batch);
      if (n) this.o.notify(n);
    }
    if (e.type === 'job' || e.type === 'batch' || e.type === 'batch-done') this.show();
  }

  private show(): void {
    const w = this.o.window();
    if (!w || w.isDestroyed()) return;
    const open = [...this.batches.values()];
    const running = new Map([...this.jobs].map(([id, j]) => [id, j.fraction]));
    const p = overallProgress(open, running);
    const mode = p < 0 ? 'none' : open.some((b) => b.failed > 0) ? 'error' : 'normal';
    // Job events come many times a second; the bar only changes by whole percents.
    const key = `${mode}:${Math.round(p * 100)}`;
    if (key === this.last) return;
    this.last = key;
    w.setProgressBar(p, { mode });
  }
}
