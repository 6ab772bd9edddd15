import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/images';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** The README's quick start, out of the box: bundled models, default choices, no models folder. */
describe('quick start', () => {
  it('upscales the sample ×4, restores and colorizes it with the bundled defaults', async () => {
    const dir = tempDir();
    const env = { ...process.env, TINTYPE_MODELS_DIR: join(dir, 'no-user-models') };
    const sample = join(ROOT, 'resources', 'samples', 'harbour.png');
    const up = await run(
      process.execPath,
      [
        join(ROOT, 'bin', 'tintype.js'),
        'upscale',
        sample,
        '--scale',
        '4',
        '-o',
        join(dir, 'up.png'),
        '--json',
      ],
      { env },
    );
    const r = JSON.parse(up.stdout.trim());
    expect(r.ok).toBe(true);
    expect(r.models).toEqual(['realesr-general-x4']);
    expect([r.width, r.height]).toEqual([1280, 800]);
    const meta = await sharp(join(dir, 'up.png')).metadata();
    expect([meta.width, meta.height]).toEqual([1280, 800]);
    const tintype = async (op: string, out: string) =>
      JSON.parse(
        (
          await run(
            process.execPath,
            [join(ROOT, 'bin', 'tintype.js'), op, sample, '-o', join(dir, out), '--json'],
            { env },
          )
        ).stdout.trim(),
      );
    expect(await tintype('restore', 'restored.png')).toMatchObject({
      ok: true,
      models: ['tintype-restore'],
      width: 320,
      height: 200,
    });
    expect(await tintype('colorize', 'colour.png')).toMatchObject({
      ok: true,
      models: ['tintype-colorize'],
      width: 320,
      height: 200,
    });
  });
});
