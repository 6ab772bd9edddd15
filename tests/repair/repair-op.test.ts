import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, orderedOps, type Raster } from '../../src/engine';
import { saveRaster, tempDir } from '../helpers/images';
import {
  cleanPicture,
  damage,
  damageMask,
  installWhiteDetector,
  maxDiffOutside,
  psnrInside,
} from '../helpers/repair';

const BUNDLED = join(import.meta.dirname, '..', '..', 'resources', 'models');

async function readRaw(path: string, depth: 8 | 16, channels: 1 | 3): Promise<Raster & { alpha?: number[] }> {
  const space = channels === 1 ? (depth === 16 ? 'grey16' : 'b-w') : depth === 16 ? 'rgb16' : 'srgb';
  const { data, info } = await sharp(path)
    .removeAlpha()
    .toColourspace(space)
    .raw({ depth: depth === 16 ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const samples =
    depth === 16 ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : new Uint8Array(data);
  expect(info.channels).toBe(channels);
  return { width: info.width, height: info.height, channels, depth, data: samples };
}

async function saveMaskPng(path: string, mask: Uint8Array, width: number, height: number): Promise<string> {
  await sharp(mask, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(path);
  return path;
}

describe('the repair operation', () => {
  const dir = tempDir('tintype-repair-');
  const W = 300;
  const H = 220;
  const clean = cleanPicture(W, H);
  const truth = damageMask(W, H, 7, { corner: true });
  const damaged = damage(clean, truth);
  let input: string;
  let maskFile: string;
  // Only the bundled models: the classical fill (tintype-fill), no detector.
  const engine = new Engine({ modelDirs: [BUNDLED], ep: 'cpu', threads: 1 });

  beforeAll(async () => {
    input = await saveRaster(join(dir, 'scratched.png'), damaged);
    maskFile = await saveMaskPng(join(dir, 'mask.png'), truth, W, H);
  });

  it('runs first in the pipeline', () => {
    expect(orderedOps(['upscale', 'colorize', 'repair', 'restore'])).toEqual([
      'repair',
      'restore',
      'colorize',
      'upscale',
    ]);
  });

  it("fills the user's mask: PSNR inside it rises, every other pixel is kept", async () => {
    const out = join(dir, 'scratched.repair.png');
    const r = await engine.processFile({ input, output: out, ops: ['repair'], options: {}, mask: maskFile });
    expect(r.error).toBeUndefined();
    expect(r.models).toEqual(['tintype-fill']);
    const repaired = await readRaw(out, 8, 3);
    const before = psnrInside(damaged, clean, truth);
    const after = psnrInside(repaired, clean, truth);
    expect(after - before, `${before.toFixed(1)} dB -> ${after.toFixed(1)} dB`).toBeGreaterThan(12);
    expect(maxDiffOutside(repaired, damaged, truth)).toBeLessThanOrEqual(1);
  });

  it('keeps 16 bits and alpha', async () => {
    const grey16 = cleanPicture(W, H, { grey: true, depth: 16 });
    const hurt = damage(grey16, truth);
    const alpha = new Uint16Array(W * H).map((_, i) => (i % W < W / 2 ? 65535 : 20000));
    const rgba = new Uint16Array(W * H * 2);
    for (let i = 0; i < W * H; i++) {
      rgba[i * 2] = hurt.data[i];
      rgba[i * 2 + 1] = alpha[i];
    }
    const file = join(dir, 'grey16.png');
    await sharp(rgba, { raw: { width: W, height: H, channels: 2 } })
      .toColourspace('grey16')
      .png()
      .toFile(file);
    const out = join(dir, 'grey16.repair.png');
    const r = await engine.processFile({
      input: file,
      output: out,
      ops: ['repair'],
      options: {},
      mask: maskFile,
    });
    expect(r.error).toBeUndefined();
    const meta = await sharp(out).metadata();
    expect([meta.depth, meta.channels, meta.hasAlpha]).toEqual(['ushort', 2, true]);
    const data = await sharp(out).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    const px = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    const grey = new Uint16Array(W * H);
    let alphaOff = 0;
    for (let i = 0; i < W * H; i++) {
      grey[i] = px[i * 2];
      alphaOff = Math.max(alphaOff, Math.abs(px[i * 2 + 1] - alpha[i]));
    }
    expect(alphaOff).toBe(0);
    const repaired: Raster = { width: W, height: H, channels: 1, depth: 16, data: grey };
    expect(maxDiffOutside(repaired, hurt, truth)).toBeLessThanOrEqual(1);
    expect(psnrInside(repaired, grey16, truth) - psnrInside(hurt, grey16, truth)).toBeGreaterThan(12);
    // The fill keeps 16-bit precision: it is no 8-bit picture scaled up.
    const levels = new Set<number>();
    for (let i = 0; i < W * H; i++) if (truth[i]) levels.add(grey[i] % 257);
    expect(levels.size).toBeGreaterThan(10);
  });

  it('refuses a mask of the wrong size, a colour mask and a file that is no image, naming the file', async () => {
    const small = await saveMaskPng(join(dir, 'small-mask.png'), new Uint8Array(100 * 80), 100, 80);
    const colour = join(dir, 'colour-mask.png');
    await saveRaster(colour, clean);
    const text = join(dir, 'mask.txt.png');
    writeFileSync(text, 'not a picture');
    const cases: [string, RegExp][] = [
      [small, /100×80.*300×220.*picture's size/],
      [colour, /colour image.*greyscale/],
      [text, /not an image|damaged/],
    ];
    for (const [mask, why] of cases) {
      const r = await engine.processFile({
        input,
        output: join(dir, 'bad.png'),
        ops: ['repair'],
        options: {},
        mask,
      });
      expect(r.ok).toBe(false);
      expect(r.error).toContain(mask);
      expect(r.error).toMatch(why);
    }
  });

  it('takes a grey mask saved as RGB, and a mask only for an op that uses one', async () => {
    const rgbMask = join(dir, 'rgb-mask.png');
    const m3 = new Uint8Array(W * H * 3).map((_, i) => truth[Math.floor(i / 3)]);
    await sharp(m3, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(rgbMask);
    const ok = await engine.processFile({
      input,
      output: join(dir, 'rgbmask.png'),
      ops: ['repair'],
      options: {},
      mask: rgbMask,
    });
    expect(ok.error).toBeUndefined();
    const r = await engine.processFile({
      input,
      output: join(dir, 'x.png'),
      ops: ['restore'],
      options: {},
      mask: maskFile,
    });
    expect(r.error).toMatch(/mask is for repair/);
  });

  it("paints the user's strokes onto the mask: added strokes are filled, erased ones kept", async () => {
    // No detector installed: the strokes alone are the mask. One stroke along a scratch-free row,
    // painted white first so there is something to see filled; an eraser over part of it.
    const pic = cleanPicture(W, H);
    const marked = new Uint8Array(W * H);
    for (let y = 98; y <= 102; y++) for (let x = 40; x <= 260; x++) marked[y * W + x] = 255;
    const file = await saveRaster(join(dir, 'stroked.png'), damage(pic, marked));
    const out = join(dir, 'stroked.repair.png');
    const saved = join(dir, 'stroked.mask.png');
    const r = await engine.processFile({
      input: file,
      output: out,
      ops: ['repair'],
      saveMask: saved,
      options: {
        maskEdits: [
          {
            points: [
              [40, 100],
              [260, 100],
            ],
            radius: 3,
          },
          {
            points: [
              [200, 100],
              [260, 100],
            ],
            radius: 4,
            erase: true,
          },
        ],
      },
    });
    expect(r.error).toBeUndefined();
    const mask = await sharp(saved).toColourspace('b-w').raw().toBuffer();
    expect([mask[100 * W + 100], mask[100 * W + 230], mask[60 * W + 100]]).toEqual([255, 0, 0]);
    const repaired = await readRaw(out, 8, 3);
    const filledPart = new Uint8Array(W * H).map((_, i) => (marked[i] && i % W < 190 ? 255 : 0));
    expect(psnrInside(repaired, pic, filledPart)).toBeGreaterThan(30);
    // The erased part is kept as it was (white), like everything outside the strokes.
    expect(maxDiffOutside(repaired, damage(pic, marked), new Uint8Array(mask))).toBeLessThanOrEqual(1);
    expect(repaired.data[(100 * W + 230) * 3]).toBe(255);
  });

  it('says what to do when there is neither a mask nor a repair model', async () => {
    // The bundled detector (tintype-repair) left out: only the filler is installed.
    const fillOnly = tempDir('tintype-fill-only-');
    cpSync(join(BUNDLED, 'tintype-fill'), join(fillOnly, 'tintype-fill'), { recursive: true });
    const noDetector = new Engine({ modelDirs: [fillOnly], ep: 'cpu', threads: 1 });
    const r = await noDetector.processFile({
      input,
      output: join(dir, 'none.png'),
      ops: ['repair'],
      options: {},
    });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/no repair model installed.*--mask/);
  });

  it('detects with the installed repair model, and --save-mask writes the mask at the picture size', async () => {
    const models = tempDir('tintype-repair-models-');
    installWhiteDetector(models);
    const withDetector = new Engine({ modelDirs: [BUNDLED, models], ep: 'cpu', threads: 1 });
    const out = join(dir, 'detected.repair.png');
    const saved = join(dir, 'detected.mask.png');
    const r = await withDetector.processFile({
      input,
      output: out,
      ops: ['repair'],
      options: { models: { repair: 'test-white-detector' } },
      saveMask: saved,
    });
    expect(r.error).toBeUndefined();
    expect(r.models).toEqual(['test-white-detector', 'tintype-fill']);
    const meta = await sharp(saved).metadata();
    expect([meta.width, meta.height, meta.channels, meta.format]).toEqual([W, H, 1, 'png']);
    const found = await sharp(saved).toColourspace('b-w').raw().toBuffer();
    // Every damaged pixel is in the detected mask (grown by 1 px), and the mask is not everything.
    let missed = 0;
    let marked = 0;
    for (let i = 0; i < W * H; i++) {
      if (truth[i] && !found[i]) missed++;
      if (found[i]) marked++;
    }
    expect(missed).toBe(0);
    expect(marked).toBeLessThan(W * H * 0.5);
    const repaired = await readRaw(out, 8, 3);
    expect(psnrInside(repaired, clean, truth) - psnrInside(damaged, clean, truth)).toBeGreaterThan(12);
    expect(maxDiffOutside(repaired, damaged, new Uint8Array(found))).toBeLessThanOrEqual(1);
  });
});
