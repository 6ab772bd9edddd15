import { describe, expect, it } from 'vitest';
import { batchPlan } from '../../src/cli/image-command';

describe('how a local batch of photos runs', () => {
  it('a colorize-only batch on up to 3 cores: two photos at once in the main thread, no worker', () => {
    expect(batchPlan(['colorize'], 6, 2)).toEqual({ workers: 0, atOnce: 2 });
    expect(batchPlan(['colorize'], 2, 3)).toEqual({ workers: 0, atOnce: 2 });
    expect(batchPlan(['colorize'], 6, 1)).toEqual({ workers: 0, atOnce: 2 });
  });
  it('on more cores: one worker per two cores (at most 8, never more than files)', () => {
    expect(batchPlan(['colorize'], 6, 8)).toEqual({ workers: 4, atOnce: 1 });
    expect(batchPlan(['colorize'], 20, 32)).toEqual({ workers: 8, atOnce: 1 });
    expect(batchPlan(['colorize'], 3, 32)).toEqual({ workers: 3, atOnce: 1 });
  });
  it('a single photo runs in the main thread; tiled operations keep one worker', () => {
    expect(batchPlan(['colorize'], 1, 8)).toEqual({ workers: 0, atOnce: 1 });
    expect(batchPlan(['restore', 'colorize'], 6, 8)).toEqual({ workers: 1, atOnce: 1 });
    expect(batchPlan(['upscale'], 6, 2)).toEqual({ workers: 1, atOnce: 1 });
  });
});
