import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Measures how long the event loop of the process serving the UI is held up. A render must run in
 * the engine's worker threads; if it leaked onto this thread, p99 here is where it would show.
 */
export class LoopLag {
  private readonly h: IntervalHistogram;
  private readonly started = Date.now();

  constructor(resolutionMs = 10) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.h.enable();
  }

  snapshot(reset = false): { meanMs: number; p50Ms: number; p99Ms: number; maxMs: number; samples: number } {
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.round((ns / 1e6) * 100) / 100 : 0);
    const s = {
      meanMs: ms(this.h.mean),
      p50Ms: ms(this.h.percentile(50)),
      p99Ms: ms(this.h.percentile(99)),
      maxMs: ms(this.h.max),
      samples: this.h.count,
    };
    if (reset) this.h.reset();
    return s;
  }

  get uptimeSec(): number {
    return (Date.now() - this.started) / 1000;
  }

  stop(): void {
    this.h.disable();
  }
}
