import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, EnginePool, type ProgressEvent } from '../../src/engine';
import { StepEta } from '../../src/library/eta';
import { greyPattern, saveRaster, tempDir } from '../helpers/images';
import { convGraph, installColorizer, installModel, RGB_01 } from '../helpers/models';

/**
 * Cancel that cancels: an abort stops a file between tiles (in this thread and in a pool worker),
 * answers at once and writes nothing. Progress over a multi-step recipe is weighted by cost.
 */
const dir = tempDir();
let work: string;
let big: string;

beforeAll(async () => {
  installModel(
    dir,
    { ...RGB_01, id: 'conv', task: 'restore', tile: { size: 64, overlap: 8 } },
    convGraph({ seed: 3 }),
  );
  installModel(
    dir,
    { ...RGB_01, id: 'conv4x', task: 'upscale', scale: 4, tile: { size: 64, overlap: 8 } },
    convGraph({ seed: 5, scale: 4 }),
  );
  installColorizer(dir, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
  work = tempDir();
  // 1200×900 at 64-px tiles: ~380 tiles per step, far more work than the few tiles before the abort.
  big = await saveRaster(join(work, 'big.png'), greyPattern(1200, 900));
});

function rgbOutputs(): string[] {
  return readdirSync(work).filter((f) => f.startsWith('out'));
}

describe('cancel', () => {
  it('stops a file in this thread between tiles and writes nothing', async () => {
    const engine = new Engine({ modelDirs: [dir] });
    const abort = new AbortController();
    let tiles = 0;
    let abortedAt = 0;
    const t0 = Date.now();
    const r = await engine.processFile(
      { input: big, output: join(work, 'out-inline.png'), ops: ['restore'], options: {} },
      (e) => {
        if (e.stage === 'restore' && e.fraction > 0 && ++tiles === 3) {
          abortedAt = Date.now();
          abort.abort();
        }
      },
      abort.signal,
    );
    expect(r.ok).toBe(false);
    expect(r.cancelled).toBe(true);
    expect(r.error).toBe(`${big}: cancelled`);
    // The next tile boundary is where it stopped: no more than one tile ran after the abort.
    expect(tiles).toBeLessThanOrEqual(4);
    expect(abortedAt).toBeGreaterThan(t0);
    expect(existsSync(join(work, 'out-inline.png'))).toBe(false);
    expect(rgbOutputs()).toEqual([]);
  });

  it('stops a file running in a pool worker, and one still waiting never starts', async () => {
    const pool = new EnginePool({ modelDirs: [dir], workers: 1, threads: 2 });
    try {
      const running = new AbortController();
      const waiting = new AbortController();
      const seen: ProgressEvent[] = [];
      let abortedAt = 0;
      const first = pool.processFile(
        { input: big, output: join(work, 'out-pool.png'), ops: ['restore', 'upscale'], options: {} },
        (e) => {
          seen.push(e);
          if (!abortedAt && e.stage === 'restore' && e.fraction > 0) {
            abortedAt = Date.now();
            running.abort();
          }
        },
        running.signal,
      );
      const second = pool.processFile(
        { input: big, output: join(work, 'out-pool-2.png'), ops: ['restore'], options: {} },
        undefined,
        waiting.signal,
      );
      waiting.abort();
      const [a, b] = await Promise.all([first, second]);
      const stoppedAfterMs = Date.now() - abortedAt;
      expect(a.cancelled).toBe(true);
      expect(b.cancelled).toBe(true);
      expect(b.error).toBe(`${big}: cancelled`);
      // The whole recipe is minutes of tiles on two cores; stopping took one tile.
      expect(seen.filter((e) => e.stage === 'upscale')).toEqual([]);
      expect(stoppedAfterMs).toBeLessThan(2000);
      expect(rgbOutputs()).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});

describe('progress over a multi-step recipe', () => {
  it('weights each step by its cost: the ×4 upscale gets most of the bar', async () => {
    const engine = new Engine({ modelDirs: [dir] });
    const seen: ProgressEvent[] = [];
    const small = await saveRaster(join(work, 'small.png'), greyPattern(200, 150));
    const r = await engine.processFile(
      { input: small, output: join(work, 'small-out.png'), ops: ['colorize', 'upscale'], options: {} },
      (e) => seen.push(e),
    );
    expect(r.ok).toBe(true);
    const fractions = seen.map((e) => e.fraction);
    expect(fractions).toEqual([...fractions].sort((x, y) => x - y)); // never goes back
    const upscaleStart = seen.find((e) => e.stage === 'upscale')!;
    expect(upscaleStart.step).toBe(2);
    expect(upscaleStart.steps).toBe(2);
    // Colorize is one small pass; the ×4 model runs on every tile with scale² more output.
    expect(upscaleStart.fraction).toBeLessThan(0.5);
    expect(seen.at(-1)?.fraction).toBe(1);
    expect(seen.map((e) => e.stage)).toContain('loading models');
  });

  it('estimates time left from the throughput of the current step only', () => {
    const eta = new StepEta(1000);
    // Step 1 ran fast and ended at 10 %: it says nothing about step 2.
    expect(eta.update(0.0, 'step 1', 0)).toBeNull();
    expect(eta.update(0.1, 'step 1', 1000)).toBeCloseTo(9, 5);
    expect(eta.update(0.1, 'step 2', 1000)).toBeNull(); // a new step starts measuring afresh
    expect(eta.update(0.12, 'step 2', 1500)).toBeNull(); // too early to tell
    // 9 % in 3 s: 91 % left at that rate is about 30 s.
    expect(eta.update(0.19, 'step 2', 4000)).toBeCloseTo((0.81 * 3000) / 0.09 / 1000, 5);
  });
});
