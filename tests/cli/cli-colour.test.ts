import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { FFMPEG } from '../helpers/ffmpeg';
import { saveRaster, sepiaPattern, tempDir } from '../helpers/images';
import { writePhoto } from '../helpers/library-helpers';
import { installColorizer } from '../helpers/models';
import { makeClip } from '../helpers/video-fixtures';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tintype.js');

async function tintype(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tintype CLI: inputs already in colour', () => {
  const models = tempDir();
  const env = { TINTYPE_MODELS_DIR: models, TINTYPE_BUNDLED_MODELS_DIR: join(models, 'none') };
  beforeAll(() => installColorizer(models, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]));

  it('colorize skips colour photos with the reason (exit 0); --force-colour colorizes them too', async () => {
    const dir = tempDir();
    await writePhoto(join(dir, 'colour.png'), 64, 48, 2);
    await saveRaster(join(dir, 'sepia.png'), sepiaPattern(64, 48));
    const r = await tintype(['colorize', dir], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`skipped: ${join(dir, 'colour.png')}: already in colour`);
    expect(r.stderr).toContain('--force-colour colorizes it anyway');
    expect(r.stderr).toMatch(/1 done, 1 skipped \(already in colour\)/);
    expect(existsSync(join(dir, 'colour.colorize.png'))).toBe(false);
    expect(existsSync(join(dir, 'sepia.colorize.png'))).toBe(true);
    // --json says it per file too.
    const j = await tintype(['colorize', join(dir, 'colour.png'), '--json'], env);
    expect(JSON.parse(j.stdout.trim())).toMatchObject({
      ok: true,
      skipped: true,
      notes: [expect.stringMatching(/already in colour/)],
    });
    const forced = await tintype(['colorize', dir, '--force-colour'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(dir, 'colour.colorize.png'))).toBe(true);
  }, 120_000);

  it.skipIf(!FFMPEG)(
    'video: a colour film is skipped for colorize unless --force-colour',
    async () => {
      const dir = tempDir();
      const clip = await makeClip(join(dir, 'colour.mp4'), { seconds: 1, size: '320x192' });
      const out = join(dir, 'out.mp4');
      const r = await tintype(['video', clip, '-o', out], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/skipped: .*colour\.mp4: already in colour \(\d of 5 sampled frames\)/);
      expect(existsSync(out)).toBe(false);
    },
    120_000,
  );
});
