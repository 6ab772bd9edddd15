/** A one-line progress bar with ETA on a terminal; silent when stderr is not a TTY. */
export class ProgressBar {
  private readonly start = Date.now();
  private last = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  /** `done` may be fractional: files finished plus the part of the current ones. */
  update(done: number, label = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0.01 ? (elapsed / frac) * (1 - frac) : NaN;
    const cols = this.stream.columns ?? 80;
    const line = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${Math.floor(done)}/${this.total} · ${Math.round(frac * 100)}% · ETA ${formatSeconds(eta)} ${label}`;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
  }

  done(): void {
    if (this.enabled) this.stream.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
