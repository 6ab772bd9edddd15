import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planOutputs } from '../../src/cli/files';
import { tempDir } from '../helpers/images';

describe('output names', () => {
  it('GIF, AVIF and HEIC become PNG named after their old extension; a batch never shares an output', async () => {
    const dir = tempDir();
    const beside = await planOutputs(
      ['photo.png', 'photo.gif', 'photo.HEIC', 'Oma. 1952.avif'].map((n) => ({ path: join(dir, n) })),
      'colorize',
      undefined,
      undefined,
    );
    expect(beside.map((p) => p.output)).toEqual(
      [
        'photo.colorize.png',
        'photo-gif.colorize.png',
        'photo-heic.colorize.png',
        'Oma. 1952-avif.colorize.png',
      ].map((n) => join(dir, n)),
    );

    // Same names from two folders into one -o folder, and one format for all.
    const out = tempDir();
    const merged = await planOutputs(
      [join(dir, 'a', 'scan.jpg'), join(dir, 'b', 'scan.jpg'), join(dir, 'c', 'scan.png')].map((path) => ({
        path,
      })),
      'restore-colorize',
      out,
      'jpg',
    );
    expect(merged.map((p) => p.output)).toEqual(
      ['scan.restore-colorize.jpg', 'scan-2.restore-colorize.jpg', 'scan-3.restore-colorize.jpg'].map((n) =>
        join(out, n),
      ),
    );
  });
});
