import { describe, expect, it } from 'vitest';
import { batchWorkers } from '../../src/cli/image-command';

describe('workers for a batch of photos', () => {
  it('one per two cores for colorize-only batches (at least 2, at most 8, never more than files)', () => {
    expect(batchWorkers(['colorize'], 6, 2)).toBe(2);
    expect(batchWorkers(['colorize'], 6, 8)).toBe(4);
    expect(batchWorkers(['colorize'], 20, 32)).toBe(8);
    expect(batchWorkers(['colorize'], 3, 32)).toBe(3);
  });
  it('one worker for a single photo, a single core, or tiled operations', () => {
    expect(batchWorkers(['colorize'], 1, 8)).toBe(1);
    expect(batchWorkers(['colorize'], 6, 1)).toBe(1);
    expect(batchWorkers(['restore', 'colorize'], 6, 8)).toBe(1);
    expect(batchWorkers(['upscale'], 6, 8)).toBe(1);
  });
});
