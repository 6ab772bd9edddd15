/**
 * Download speed over a sliding window: the average since the start would hide a stall, an
 * instantaneous rate would jump with every chunk.
 */
export class RateMeter {
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records the running byte count; returns bytes per second over the window. */
  add(totalBytes: number): number {
    const t = this.now();
    this.samples.push({ t, bytes: totalBytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
    return this.rate();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (last.bytes - first.bytes) / dt) : 0;
  }

  reset(): void {
    this.samples.length = 0;
  }
}

export function etaSeconds(received: number, total: number | null, bytesPerSecond: number): number | null {
  if (total === null || bytesPerSecond <= 0) return null;
  return Math.max(0, (total - received) / bytesPerSecond);
}
