import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import type { Mask } from '../../src/engine/repair/mask';
import { tempDir } from '../helpers/images';
import { installWhiteDetector } from '../helpers/repair';

/**
 * The detected mask grows (the manifest's `grow`) only into pixels the detector also suspects
 * (GROW_FLOOR, src/engine/repair/detect.ts): the faint halo of a scratch is taken, the picture
 * beside a mark is not. The test detector gives pure white ~1, a light halo (235) ~0.35 and the
 * picture (120) ~0; it grows by 1 px.
 */
const BUNDLED = join(import.meta.dirname, '..', '..', 'resources', 'models');

describe('repair: the growth of a detected mask', () => {
  it('reaches the halo the detector sees, not the picture next to the mark', async () => {
    const W = 64;
    const H = 40;
    const data = new Uint8Array(W * H * 3).fill(120);
    // A white 1-px scratch at row 20, with a light halo above it (row 19) and none below (row 21).
    for (let x = 10; x < 50; x++) {
      data.fill(255, (20 * W + x) * 3, (20 * W + x) * 3 + 3);
      data.fill(235, (19 * W + x) * 3, (19 * W + x) * 3 + 3);
    }
    const models = tempDir('tintype-grow-models-');
    installWhiteDetector(models);
    const engine = new Engine({ modelDirs: [BUNDLED, models], ep: 'cpu', threads: 1 });
    let used: Mask | undefined;
    await engine.run(
      { width: W, height: H, channels: 3, depth: 8, data },
      ['repair'],
      { models: { repair: 'test-white-detector' } },
      undefined,
      undefined,
      undefined,
      undefined,
      { onMask: (m) => (used = m) },
    );
    const at = (x: number, y: number) => used!.data[y * W + x];
    // The scratch and its halo are in; the row below (plain picture) and the ends' sides are not.
    expect([at(30, 20), at(30, 19), at(30, 21), at(30, 18)]).toEqual([255, 255, 0, 0]);
    expect([at(8, 20), at(51, 20)]).toEqual([0, 0]);
    // A blind 1-px growth would have taken row 21 and the columns beside the ends too.
    expect(at(9, 20)).toBe(0);
  });
});
