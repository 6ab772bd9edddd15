import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, type Raster } from '../../src/engine';
import type { MaskStroke } from '../../src/shared/repair';
import { tempDir } from '../helpers/images';
import { cleanPicture, damage, damageMask, installWhiteDetector } from '../helpers/repair';

/**
 * "Re-fills only what changed" (#19): after the user edits the repair mask, a re-render of the same
 * picture runs no detection and fills only the tiles whose mask the edit touched; every other tile's
 * answer is reused. The work is counted through the engine's stats (tiles run), not timed, and the
 * result must be exactly what a fresh render with the same edits gives.
 */
const BUNDLED = join(import.meta.dirname, '..', '..', 'resources', 'models');
// tintype-fill's tiles are 512 px with 64 px of overlap: 1400×1000 is 3×3 of them (x 0, 448, 888;
// y 0, 448, 488).
const W = 1400;
const H = 1000;

/** The first pixel index where two rasters differ, or -1 when they are identical. */
function firstDiff(a: Raster, b: Raster): number {
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return Math.floor(i / a.channels);
  return -1;
}

/** Whether the rasters agree at every pixel outside the rectangle [x0, x1) × [y0, y1). */
function sameOutside(a: Raster, b: Raster, x0: number, y0: number, x1: number, y1: number): boolean {
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (x >= x0 && x < x1 && y >= y0 && y < y1) continue;
      for (let c = 0; c < a.channels; c++) {
        const i = (y * a.width + x) * a.channels + c;
        if (a.data[i] !== b.data[i]) return false;
      }
    }
  }
  return true;
}

describe('repair: a mask edit re-fills only what changed', () => {
  const models = tempDir('tintype-refill-models-');
  installWhiteDetector(models);
  const options = { models: { repair: 'test-white-detector' } };
  const truth = damageMask(W, H, 5);
  const picture = damage(cleanPicture(W, H), truth);

  it('re-detects nothing, runs the filler on the touched tile only, and equals a fresh render', async () => {
    const engine = new Engine({ modelDirs: [BUNDLED, models], ep: 'cpu', threads: 1 });
    const source = { source: 'scratched.png|1|1' };
    const first = await engine.run(
      picture,
      ['repair'],
      options,
      undefined,
      undefined,
      undefined,
      undefined,
      source,
    );
    expect(first.stats.detectTiles).toBeGreaterThan(0);
    const tiles = first.stats.fillTiles ?? 0;
    expect(tiles).toBe(9); // damage in every tile
    expect(first.stats.fillReused ?? 0).toBe(0);

    // A brush stroke in the top-left tile only (its neighbours start at x = 448 and y = 448).
    const brush: MaskStroke[] = [
      {
        points: [
          [120, 150],
          [260, 190],
        ],
        radius: 8,
      },
    ];
    const edited = await engine.run(
      picture,
      ['repair'],
      { ...options, maskEdits: brush },
      undefined,
      undefined,
      undefined,
      undefined,
      source,
    );
    expect(edited.stats.detectTiles ?? 0).toBe(0);
    expect(edited.stats.fillTiles).toBe(1);
    expect(edited.stats.fillReused).toBe(tiles - 1);
    // The stroke was filled (the render differs there) and nothing outside its tile moved.
    expect(firstDiff(edited.raster, first.raster)).not.toBe(-1);
    expect(sameOutside(edited.raster, first.raster, 0, 0, 512, 512)).toBe(true);

    // Exactly what a render with the same edits gives from scratch (no reuse: another engine).
    const fresh = new Engine({ modelDirs: [BUNDLED, models], ep: 'cpu', threads: 1 });
    const scratch = await fresh.run(picture, ['repair'], { ...options, maskEdits: brush });
    expect(scratch.stats.fillTiles).toBe(tiles);
    expect(firstDiff(edited.raster, scratch.raster)).toBe(-1);

    // An eraser stroke on damage where four tiles overlap (x 888..960, y 488..960) touches those four.
    let at = -1;
    for (let y = 495; y < 955 && at < 0; y++)
      for (let x = 895; x < 955; x++) if (truth[y * W + x]) at = y * W + x;
    expect(at).toBeGreaterThan(0);
    const [ex, ey] = [at % W, Math.floor(at / W)];
    const erase: MaskStroke[] = [...brush, { points: [[ex, ey]], radius: 6, erase: true }];
    const erased = await engine.run(
      picture,
      ['repair'],
      { ...options, maskEdits: erase },
      undefined,
      undefined,
      undefined,
      undefined,
      source,
    );
    expect(erased.stats.detectTiles ?? 0).toBe(0);
    const touched = erased.stats.fillTiles ?? 0;
    expect(touched).toBe(4);
    expect((erased.stats.fillReused ?? 0) + touched).toBe(tiles);
    const again = await fresh.run(picture, ['repair'], { ...options, maskEdits: erase });
    expect(firstDiff(erased.raster, again.raster)).toBe(-1);
    // Erased pixels are the picture as it was.
    const p = at * 3;
    expect(Array.from(erased.raster.data.subarray(p, p + 3))).toEqual(
      Array.from(picture.data.subarray(p, p + 3)),
    );

    // The same mask again (e.g. only a later step changed): nothing is filled at all.
    const same = await engine.run(
      picture,
      ['repair'],
      { ...options, maskEdits: erase },
      undefined,
      undefined,
      undefined,
      undefined,
      source,
    );
    expect(same.stats.fillTiles ?? 0).toBe(0);
    expect(firstDiff(same.raster, erased.raster)).toBe(-1);
  }, 300_000);
});
