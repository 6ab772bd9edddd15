import type { Batch } from './api';

/**
 * When the end of a batch is worth a notification, and what it says: the same rule for the desktop
 * app's OS notifications and a browser's Notification API. Short batches finish while the user
 * watches, so only long ones (and any with a film or stack in it) are announced; a batch the user
 * canceled entirely is not news.
 */
export const LONG_BATCH_SEC = 30;

export interface Notice {
  title: string;
  body: string;
  /** Anything failed: the notification says so first. */
  failed: boolean;
}

export function batchNotice(b: Batch): Notice | null {
  if (b.finishedAt === null || b.queued + b.running > 0) return null;
  if (b.done + b.failed === 0) return null;
  const seconds = (b.finishedAt - b.createdAt) / 1000;
  if (b.films === 0 && seconds < LONG_BATCH_SEC) return null;
  const parts = [
    `${b.done} done`,
    b.failed ? `${b.failed} failed` : '',
    b.canceled ? `${b.canceled} canceled` : '',
  ].filter(Boolean);
  return {
    title: b.failed ? `Batch finished with errors: ${b.name}` : `Batch finished: ${b.name}`,
    body: `${parts.join(', ')} · ${formatSeconds(seconds)}`,
    failed: b.failed > 0,
  };
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * Overall progress of unfinished batches, 0..1, for the taskbar or dock; -1 when nothing runs
 * (which removes the bar). Running jobs count by their own progress, so a single long film moves.
 */
export function overallProgress(batches: Batch[], running: ReadonlyMap<number, number>): number {
  const open = batches.filter((b) => b.finishedAt === null && b.queued + b.running > 0);
  const total = open.reduce((n, b) => n + b.total, 0);
  if (total === 0) return -1;
  const finished = open.reduce((n, b) => n + b.done + b.failed + b.canceled, 0);
  let partial = 0;
  for (const f of running.values()) partial += Math.min(Math.max(f, 0), 1);
  return Math.min((finished + Math.min(partial, total - finished)) / total, 1);
}
