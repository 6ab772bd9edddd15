/**
 * Time left for one running job, from the throughput of the step now running: progress made since
 * the step began, over the time it took. Earlier steps say nothing about later ones (a fast colorize
 * pass before a slow ×4 upscale made the whole-job average promise "1 s" for minutes), and the
 * fractions are already weighted by each step's cost, so what is left is priced at today's rate.
 */
export class StepEta {
  private key: string | null = null;
  private since = 0;
  private from = 0;

  /** Needs this long inside a step before it guesses: the first tile includes warm-up. */
  constructor(private readonly minMs = 1000) {}

  update(fraction: number, stepKey: string, now: number): number | null {
    if (stepKey !== this.key) {
      this.key = stepKey;
      this.since = now;
      this.from = fraction;
      return null;
    }
    const dt = now - this.since;
    const df = fraction - this.from;
    if (dt < this.minMs || df <= 0) return null;
    return ((1 - fraction) * dt) / df / 1000;
  }
}
