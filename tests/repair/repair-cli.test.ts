import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { looksLikeOutput } from '../../src/cli/files';
import { main } from '../../src/cli/index';
import { saveRaster, tempDir } from '../helpers/images';
import { cleanPicture, damage, damageMask, installWhiteDetector } from '../helpers/repair';

/** `tintype repair` and `run --ops repair,…` with --mask and --save-mask. */
describe('tintype repair', () => {
  const dir = tempDir('tintype-repair-cli-');
  const W = 160;
  const H = 120;
  const truth = damageMask(W, H, 3);
  const pic = damage(cleanPicture(W, H), truth);

  async function stderrOf(run: () => Promise<number>): Promise<{ code: number; err: string }> {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await run();
      return { code, err: spy.mock.calls.map((c) => String(c[0])).join('') };
    } finally {
      spy.mockRestore();
    }
  }

  it('takes --mask, and --save-mask writes <output>.mask.png at the picture size', async () => {
    const input = await saveRaster(join(dir, 'print.png'), pic);
    const mask = join(dir, 'damage.png');
    await sharp(truth, { raw: { width: W, height: H, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(mask);
    const { code, err } = await stderrOf(() =>
      main(['repair', input, '--mask', mask, '--save-mask', '-o', join(dir, 'out'), '-q']),
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'out', 'print.repair.png'))).toBe(true);
    const saved = join(dir, 'out', 'print.repair.mask.png');
    const meta = await sharp(saved).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([W, H, 1]);
    const back = await sharp(saved).toColourspace('b-w').raw().toBuffer();
    expect(Buffer.from(truth).equals(back)).toBe(true);
    // A rescan of the folder treats both as outputs, not as new photos.
    expect(looksLikeOutput(saved)).toBe(true);
  });

  it('detects with the installed repair model (run --ops repair) and saves what it found', async () => {
    const models = tempDir('tintype-repair-cli-models-');
    installWhiteDetector(models);
    const input = await saveRaster(join(dir, 'scan.png'), pic);
    const { code, err } = await stderrOf(() =>
      main(['run', '--ops', 'repair', input, '--save-mask', '--models-dir', models, '-q']),
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    const meta = await sharp(join(dir, 'scan.repair.mask.png')).metadata();
    expect([meta.width, meta.height]).toEqual([W, H]);
  });

  it('refuses a mask of the wrong size naming the file, and one mask for several pictures', async () => {
    const input = await saveRaster(join(dir, 'a.png'), pic);
    const other = await saveRaster(join(dir, 'b.png'), pic);
    const small = join(dir, 'small.png');
    await sharp(new Uint8Array(40 * 30), { raw: { width: 40, height: 30, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(small);
    const wrong = await stderrOf(() => main(['repair', input, '--mask', small, '-q']));
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain(small);
    expect(wrong.err).toMatch(/40×30.*160×120/);
    const many = await stderrOf(() => main(['repair', input, other, '--mask', small, '-q']));
    expect(many.code).toBe(1);
    expect(many.err).toMatch(/a mask belongs to one picture/);
  });
});
