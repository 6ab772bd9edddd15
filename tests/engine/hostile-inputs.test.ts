/**
 * Hostile and damaged inputs, full disks, read-only folders, odd names: every one is refused with
 * the file's name and the problem in words, never leaves half a result, and never blocks a rerun.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage, tempPathFor, TintypeError } from '../../src/engine';
import { scanPaths } from '../../src/library/scan';
import { cutPoints, wholePictures } from '../helpers/hostile';
import { greyPattern, saveRaster, sepiaPattern, tempDir } from '../helpers/images';
import { installModel, invertGraph } from '../helpers/models';
import {
  canMakeReadOnly,
  canMount,
  mountSkipReason,
  mountTmpfs,
  readOnlyFolder,
  unmountAll,
} from '../helpers/tmpfs';

describe('truncated pictures', () => {
  it('every format, cut anywhere, is refused as "damaged or truncated" with its name; whole ones read', async () => {
    const dir = tempDir();
    const pictures = await wholePictures();
    const accepted: string[] = [];
    for (const [name, bytes] of Object.entries(pictures)) {
      const whole = join(dir, `whole-${name}`);
      writeFileSync(whole, bytes);
      const ok = await readImage(whole);
      expect(ok.raster.width, name).toBe(160);
      for (const cut of cutPoints(bytes.length)) {
        const file = join(dir, `cut${cut}-${name}`);
        writeFileSync(file, bytes.subarray(0, cut));
        const err = await readImage(file).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!err) {
          accepted.push(`${name} cut at ${cut}`);
          continue;
        }
        expect(err, `${name} cut at ${cut}`).toBeInstanceOf(TintypeError);
        expect((err as TintypeError).message).toContain(file);
        expect((err as TintypeError).message).toMatch(/damaged or truncated/);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('a JPEG damaged in the middle of its data is refused; junk between its segments is harmless and reads', async () => {
    const dir = tempDir();
    const jpg = (await wholePictures())['photo.jpg'];
    const start = jpg.indexOf(Buffer.from([0xff, 0xda])); // start of scan: entropy-coded data follows
    expect(start).toBeGreaterThan(0);
    const mid = start + Math.floor((jpg.length - start) / 2);
    const damaged: Record<string, Buffer> = {
      // A stray end-of-image marker and a run of 0xFF bytes: libjpeg fills the rest grey and only warns.
      'eoi-in-data.jpg': Buffer.concat([jpg.subarray(0, mid), Buffer.from([0xff, 0xd9]), jpg.subarray(mid + 2)]),
      'ff-run.jpg': Buffer.from(jpg).fill(0xff, mid, mid + 24),
    };
    for (const [name, bytes] of Object.entries(damaged)) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      const err = (await readImage(file).catch((e: unknown) => e)) as TintypeError;
      expect(err, name).toBeInstanceOf(TintypeError);
      expect(err.message, name).toContain(file);
      expect(err.message, name).toMatch(/damaged or truncated/);
    }
    const junk = join(dir, 'junk-before-marker.jpg');
    writeFileSync(junk, Buffer.concat([jpg.subarray(0, start), Buffer.from([1, 2, 3]), jpg.subarray(start)]));
    expect((await readImage(junk)).raster.width).toBe(160);
  });

  it('odd files: empty, a folder named .png, a named pipe, garbage with a picture extension', async () => {
    const dir = tempDir();
    const cases: [string, (p: string) => void, RegExp][] = [
      ['empty.jpg', (p) => writeFileSync(p, ''), /empty/],
      ['folder.png', (p) => mkdirSync(p), /is a folder/],
      ['garbage.tif', (p) => writeFileSync(p, Buffer.alloc(5000, 7)), /not an image Tintype can read/],
      [
        'header-only.png',
        (p) => writeFileSync(p, Buffer.from('89504e470d0a1a0a', 'hex')),
        /damaged or truncated/,
      ],
    ];
    if (process.platform !== 'win32')
      cases.push(['pipe.jpg', (p) => spawnSync('mkfifo', [p]), /not a regular file/]);
    for (const [name, make, problem] of cases) {
      const file = join(dir, name);
      make(file);
      const err = (await readImage(file).catch((e: unknown) => e)) as TintypeError;
      expect(err, name).toBeInstanceOf(TintypeError);
      expect(err.message, name).toContain(file);
      expect(err.message, name).toMatch(problem);
    }
  });
});

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tintype.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function tintype(args: string[], env: Record<string, string>): Promise<Ran> {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const jsonLines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { ok: boolean; skipped?: boolean; error?: string; output: string; notes?: string[] },
    );

afterAll(() => unmountAll());
if (!canMount) console.warn(`\n[hostile inputs] full-disk and read-only tests SKIPPED: ${mountSkipReason}\n`);

describe('library import of odd paths', () => {
  it.skipIf(process.platform === 'win32')('a symlink loop is named in words, the rest imports', async () => {
    const dir = tempDir();
    const loop = join(dir, 'loop.jpg');
    symlinkSync(loop, loop);
    const good = await saveRaster(join(dir, 'good.png'), greyPattern(8, 8));
    const r = await scanPaths([loop, good]);
    expect(r.files.map((f) => f.path)).toEqual([good]);
    expect(r.errors[0].error).toBe(`${loop}: too many symbolic links on the way to ${loop}`);
  });
});

describe('batches, names and folders (CLI)', () => {
  const models = tempDir();
  const env = { TINTYPE_MODELS_DIR: models, TINTYPE_BUNDLED_MODELS_DIR: join(models, 'none') };
  beforeAll(() => {
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

  it('a 230-character name gives its 242-byte output (the temp name is shortened, not the output)', async () => {
    const dir = tempDir();
    const stem = 'x'.repeat(226) + '-end'; // 230 characters
    const input = await saveRaster(join(dir, `${stem}.png`), greyPattern(24, 20));
    const r = await tintype(['restore', input, '--json'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = join(dir, `${stem}.restore.png`);
    expect(Buffer.byteLength(basename(out))).toBe(242);
    expect((await sharp(out).metadata()).width).toBe(24);
    // Multi-byte names count in bytes: 118 × "ü" (236 bytes) + ".restore.png" is 248 bytes.
    const wide = await saveRaster(join(dir, `${'ü'.repeat(118)}.png`), greyPattern(24, 20));
    const w = await tintype(['restore', wide, '--json'], env);
    expect(w.code, w.stdout + w.stderr).toBe(0);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // The temp name always fits when the final one does.
    expect(Buffer.byteLength(basename(tempPathFor(join(dir, 'é'.repeat(127) + '.png'))))).toBeLessThanOrEqual(
      255,
    );
  });

  it('kill -9 in a batch, then the same command: finished files are skipped first, the rest done, exit 0', async () => {
    const dir = tempDir();
    const inputs: string[] = [];
    for (let i = 0; i < 10; i++)
      inputs.push(await saveRaster(join(dir, `p${i}.png`), greyPattern(160 + i, 120)));
    const out = join(dir, 'out');
    const args = ['restore', ...inputs, '-o', out, '--json', '--workers', '1'];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    await new Promise<void>((resolvePromise) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.split('\n').filter(Boolean).length >= 2) child.kill('SIGKILL');
      });
      child.on('close', () => resolvePromise());
    });
    const before = new Map(
      readdirSync(out)
        .filter((n) => n.endsWith('.restore.png'))
        .map((n) => [n, statSync(join(out, n)).mtimeMs]),
    );
    expect(before.size).toBeGreaterThanOrEqual(2);
    const again = await tintype(args, env);
    expect(again.code, again.stderr).toBe(0);
    const results = jsonLines(again.stdout);
    expect(results).toHaveLength(10);
    const skipped = results.filter((r) => r.skipped).map((r) => basename(r.output));
    expect(skipped.sort()).toEqual([...before.keys()].sort());
    expect(results.every((r) => r.ok)).toBe(true);
    // Skipped ones were never touched; everything asked for exists and is a whole picture.
    for (const [n, mtime] of before) expect(statSync(join(out, n)).mtimeMs).toBe(mtime);
    for (let i = 0; i < 10; i++)
      expect((await sharp(join(out, `p${i}.restore.png`)).metadata()).width).toBe(160 + i);
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
    // Plain output says so too; --overwrite redoes them.
    const plain = await tintype(
      args.filter((a) => a !== '--json'),
      env,
    );
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/0 done, 10 skipped/);
    const redo = await tintype([...args, '--overwrite'], env);
    expect(redo.code).toBe(0);
    expect(jsonLines(redo.stdout).filter((r) => r.skipped)).toEqual([]);
  });

  it('an output folder that is a file, or a missing one under a file: said in words, naming the file', async () => {
    const dir = tempDir();
    const input = await saveRaster(join(dir, 'a.png'), greyPattern(24, 20));
    writeFileSync(join(dir, 'blocker'), 'a file');
    const r = await tintype(['restore', input, '-o', join(dir, 'blocker', 'sub'), '--json'], env);
    expect(r.code).toBe(1);
    const [res] = jsonLines(r.stdout);
    expect(res.error).toContain(`${join(dir, 'blocker')} is a file, not a folder`);
    expect(res.error).not.toMatch(/\bE[A-Z]{3,}\b/);
  });

  it.skipIf(!canMakeReadOnly)('a read-only output folder: said in words, naming it', async () => {
    const dir = tempDir();
    const input = await saveRaster(join(dir, 'a.png'), sepiaPattern(300, 200));
    const ro = join(dir, 'ro');
    expect(readOnlyFolder(ro)).toBe(true);
    const r = await tintype(['restore', input, '-o', ro, '--json'], env);
    expect(r.code).toBe(1);
    expect(jsonLines(r.stdout)[0].error).toMatch(new RegExp(`folder ${ro}.* is read-only`));
    expect(jsonLines(r.stdout)[0].error).not.toMatch(/\bE[A-Z]{3,}\b/);
  });

  it.skipIf(!canMount)('a full disk: "the disk is full", nothing half-written', async () => {
    const dir = tempDir();
    const input = await saveRaster(join(dir, 'a.png'), sepiaPattern(300, 200));
    const full = join(dir, 'full');
    expect(mountTmpfs(full, '16k')).toBe(true);
    const f = await tintype(['restore', input, '-o', full, '--json', '--format', 'tif'], env);
    expect(f.code).toBe(1);
    expect(jsonLines(f.stdout)[0].error).toMatch(/the disk is full/);
    expect(readdirSync(full)).toEqual([]);
  });

  it('a transparent PNG saved as JPEG is flattened onto white (or --background), and says so', async () => {
    const dir = tempDir();
    const w = 32;
    const h = 24;
    const rgba = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      rgba.set([40, 80, 120, i % w < w / 2 ? 0 : 255], i * 4); // left half fully transparent
    }
    const input = join(dir, 'logo.png');
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toFile(input);
    const r = await tintype(['restore', input, '--format', 'jpg', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const [res] = jsonLines(r.stdout);
    expect(res.notes?.join(' ')).toMatch(/transparency flattened onto white/);
    const px = await sharp(res.output).raw().toBuffer();
    expect(px[0]).toBeGreaterThan(240); // transparent → white, not black
    expect(px[1]).toBeGreaterThan(240);
    const red = await tintype(
      ['restore', input, '--format', 'jpg', '--background', '#ff0000', '--overwrite', '--json'],
      env,
    );
    expect(red.code, red.stderr).toBe(0);
    const px2 = await sharp(res.output).raw().toBuffer();
    expect(px2[0]).toBeGreaterThan(230);
    expect(px2[1]).toBeLessThan(30);
    const bad = await tintype(['restore', input, '--format', 'jpg', '--background', 'nope'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/"nope" is not a colour/);
  });
});
