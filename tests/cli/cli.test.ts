import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { greyPattern, saveRaster, sepiaPattern, tempDir } from '../helpers/images';
import { installColorizer, installModel, invertGraph } from '../helpers/models';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tintype.js');

async function tintype(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
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

describe('tintype CLI', () => {
  const models = tempDir();
  const env = { TINTYPE_MODELS_DIR: models, TINTYPE_BUNDLED_MODELS_DIR: join(models, 'none') };
  beforeAll(() => {
    installColorizer(models, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
    installModel(
      models,
      {
        id: 'invert',
        task: 'restore',
        input: { layout: 'NCHW', channels: 3, frames: 1, range: [0, 1], normalization: null },
        size: { kind: 'dynamic', multiple: 1 },
        output: { kind: 'rgb', range: [0, 1] },
      },
      invertGraph(),
    );
  });

  it('colorizes a folder recursively, names outputs <stem>.<op>.<ext>, prints JSON per file, exit 0', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'album', 'sub'), { recursive: true });
    await saveRaster(join(dir, 'album', 'a.png'), sepiaPattern(40, 30));
    await saveRaster(join(dir, 'album', 'sub', 'b.jpg'), greyPattern(30, 40), 'jpg');
    const before = readFileSync(join(dir, 'album', 'a.png'));
    const r = await tintype(['colorize', join(dir, 'album'), '-r', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.ok)).toBe(true);
    expect(existsSync(join(dir, 'album', 'a.colorize.png'))).toBe(true);
    expect(existsSync(join(dir, 'album', 'sub', 'b.colorize.jpg'))).toBe(true);
    expect(readFileSync(join(dir, 'album', 'a.png')).equals(before)).toBe(true);
    // Running again: outputs exist → skipped (never overwritten, not failures), and earlier outputs
    // are not re-processed as inputs.
    const outputBytes = readFileSync(join(dir, 'album', 'a.colorize.png'));
    const again = await tintype(['colorize', join(dir, 'album'), '-r', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const res = again.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(res).toHaveLength(2);
    expect(res.every((l) => l.ok && l.skipped)).toBe(true);
    expect(readFileSync(join(dir, 'album', 'a.colorize.png')).equals(outputBytes)).toBe(true);
    const forced = await tintype(['colorize', join(dir, 'album'), '-r', '--overwrite', '-q'], env);
    expect(forced.code).toBe(0);
  });

  it('a failed file does not stop the others; exit code is non-zero', async () => {
    const dir = tempDir();
    await saveRaster(join(dir, 'good.png'), greyPattern(20, 20));
    writeFileSync(join(dir, 'bad.jpg'), 'not a picture');
    const out = join(dir, 'out');
    const r = await tintype(
      [
        'run',
        '--ops',
        'restore,colorize',
        join(dir, 'bad.jpg'),
        join(dir, 'good.png'),
        '-o',
        out,
        '--format',
        'tif',
        '--json',
      ],
      env,
    );
    expect(r.code).toBe(1);
    const res = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const bad = res.find((x) => x.input.endsWith('bad.jpg'));
    const good = res.find((x) => x.input.endsWith('good.png'));
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/bad\.jpg: not an image/);
    expect(good.ok).toBe(true);
    expect(readdirSync(out)).toEqual(['good.restore-colorize.tif']);
    expect((await sharp(join(out, 'good.restore-colorize.tif')).metadata()).format).toBe('tiff');
  });

  it('-o names a file for a single input; usage errors exit 2 with a message', async () => {
    const dir = tempDir();
    const src = await saveRaster(join(dir, 'in.png'), greyPattern(20, 20));
    const r = await tintype(['colorize', src, '-o', join(dir, 'custom.webp'), '--quiet'], env);
    expect(r.code, r.stderr).toBe(0);
    expect((await sharp(join(dir, 'custom.webp')).metadata()).format).toBe('webp');
    const bad = await tintype(['colorize', src, '--render-size', 'big'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/render size must be a whole number/);
    const noModel = await tintype(['upscale', src, '--scale', '4'], env);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/no upscale ×4 model installed/);
  });

  it('an unwritable output folder fails with the path and leaves nothing behind', async () => {
    const dir = tempDir();
    const src = await saveRaster(join(dir, 'in.png'), greyPattern(20, 20));
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const isRoot = process.getuid?.() === 0;
    // Root ignores permission bits; a regular file in the path blocks writing for everyone.
    const target = isRoot ? join(dir, 'in.png', 'sub') : locked;
    const r = await tintype(['colorize', src, '-o', target, '--json'], env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.trim()).error).toMatch(/cannot write output|not a directory|ENOTDIR|EACCES/);
    expect(readdirSync(locked)).toEqual([]);
    expect(statSync(src).isFile()).toBe(true);
  });
});
