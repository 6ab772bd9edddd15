import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  detectColour,
  detectColourFromPreview,
  detectFilmColour,
  COLOUR_SPREAD_LIMIT,
} from '../../src/engine';
import { readShrunk } from '../../src/engine/image/io';
import { FFMPEG } from '../helpers/ffmpeg';
import { greyPattern, saveRaster, sepiaPattern, tempDir } from '../helpers/images';
import { makeClip, ffmpeg } from '../helpers/video-fixtures';
import type { Raster } from '../../src/engine/types';

const dir = tempDir('tintype-colour-');

/** The grey pattern through a tone curve: each grey level gets one tint (strength varying with level). */
function toned(curve: (v: number) => [number, number, number]): Raster {
  const g = greyPattern(200, 150);
  const data = new Uint8Array(g.width * g.height * 3);
  for (let i = 0; i < g.width * g.height; i++)
    data.set(
      curve(g.data[i] / 255).map((c) => Math.round(255 * Math.min(1, Math.max(0, c)))),
      i * 3,
    );
  return { ...g, channels: 3, data };
}

/** A grey backdrop with a patch (a fraction `area` of the picture) coloured at the backdrop's own brightness range. */
function portraitLike(area: number, rgb: [number, number, number]): Raster {
  const g = greyPattern(200, 150);
  const data = new Uint8Array(g.width * g.height * 3);
  const r = Math.sqrt((area * g.width * g.height) / Math.PI);
  for (let y = 0; y < g.height; y++)
    for (let x = 0; x < g.width; x++) {
      const i = y * g.width + x;
      const v = g.data[i] / 255;
      const inside = Math.hypot(x - 100, y - 75) < r;
      const c = inside ? rgb.map((k) => v * k * 1.6) : [v, v, v];
      data.set(
        c.map((k) => Math.round(255 * Math.min(1, k))),
        i * 3,
      );
    }
  return { ...g, channels: 3, data };
}

async function verdictOf(name: string, r: Raster, format: 'png' | 'jpg' = 'jpg') {
  return detectColour(await saveRaster(join(dir, `${name}.${format}`), r, format));
}

describe('colour inputs: generated cases', () => {
  it('grey files (one channel, and grey stored as RGB JPEG) are black and white', async () => {
    const grey = await verdictOf('grey', greyPattern(200, 150), 'png');
    expect(grey.colour).toBe(false);
    const g = greyPattern(200, 150);
    const rgb = new Uint8Array(g.data.length * 3).map((_, i) => g.data[Math.floor(i / 3)]);
    const v = await verdictOf('grey-rgb', { ...g, channels: 3, data: rgb });
    expect(v.colour).toBe(false);
    expect(v.chroma).toBeLessThan(3);
    expect(v.reason).toBe('black and white');
  });

  it('toned prints (sepia, strong warm, cyanotype blue, split tone) are black and white with a tone', async () => {
    const cases: [string, Raster][] = [
      ['sepia', sepiaPattern(200, 150)],
      ['warm', toned((v) => [v * 1.15 + 0.05, v * 0.92, v * 0.6])],
      ['cyanotype', toned((v) => [v * 0.45, v * 0.7 + 0.05, v * 0.95 + 0.1])],
      // Cool shadows, warm highlights: the tint depends on the grey level, still one per level.
      ['split', toned((v) => [v + 0.12 * (v - 0.5), v, v - 0.12 * (v - 0.5)])],
    ];
    for (const [name, r] of cases) {
      const v = await verdictOf(name, r);
      expect(v.colour, `${name}: spread ${v.spread}`).toBe(false);
      expect(v.chroma, name).toBeGreaterThan(3);
    }
  });

  it('colour photos are colour, also a small coloured subject on a grey backdrop (a portrait)', async () => {
    const patches = greyPattern(200, 150);
    const data = new Uint8Array(patches.width * patches.height * 3);
    const hues: [number, number, number][] = [
      [0.9, 0.2, 0.2],
      [0.2, 0.7, 0.3],
      [0.2, 0.3, 0.9],
      [0.9, 0.8, 0.2],
    ];
    for (let i = 0; i < patches.width * patches.height; i++) {
      const x = i % patches.width;
      const h = hues[Math.floor(x / 50)];
      data.set(
        h.map((k) => Math.round(255 * Math.min(1, k * (0.4 + patches.data[i] / 255)))),
        i * 3,
      );
    }
    const v = await verdictOf('patches', { ...patches, channels: 3, data });
    expect(v.colour).toBe(true);
    expect(v.spread).toBeGreaterThan(COLOUR_SPREAD_LIMIT);

    const skin = await verdictOf('portrait', portraitLike(0.12, [0.85, 0.6, 0.45]));
    expect(skin.colour, `spread ${skin.spread}`).toBe(true);
    // A speck of colour (a stamp, scanner fringe) is not a colour photo.
    const speck = await verdictOf('speck', portraitLike(0.01, [0.9, 0.2, 0.2]));
    expect(speck.colour, `spread ${speck.spread}`).toBe(false);
  });

  it('transparent areas do not count, and a damaged file names itself', async () => {
    const g = greyPattern(120, 80);
    const rgba = new Uint8Array(120 * 80 * 4);
    for (let i = 0; i < 120 * 80; i++) {
      const hidden = i % 120 < 60; // fully transparent half, bright red underneath
      rgba.set(hidden ? [255, 0, 0, 0] : [g.data[i], g.data[i], g.data[i], 255], i * 4);
    }
    const file = join(dir, 'alpha.png');
    await sharp(rgba, { raw: { width: 120, height: 80, channels: 4 } })
      .png()
      .toFile(file);
    expect((await detectColour(file)).colour).toBe(false);
    const bad = join(dir, 'bad.jpg');
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    await expect(detectColour(bad)).rejects.toThrow(/bad\.jpg.*cannot measure its colour/);
  });
});

describe('the colour check from the render-size preview (one small read for the model and the check)', () => {
  /** A pattern enlarged to a photo-sized JPEG (its preview is a real reduction). */
  async function bigJpeg(name: string, r: Raster): Promise<string> {
    const file = join(dir, `${name}-big.jpg`);
    await sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } })
      .resize(1600, 1200, { kernel: 'cubic' })
      .jpeg({ quality: 92 })
      .toFile(file);
    return file;
  }

  it('gives a large JPEG the verdict of the file itself, colour or toned', async () => {
    const cases: [string, Raster, boolean][] = [
      ['portrait', portraitLike(0.12, [0.85, 0.6, 0.45]), true],
      ['sepia', toned((v) => [v * 1.07 + 0.02, v * 0.95, v * 0.78]), false],
      ['cyanotype', toned((v) => [v * 0.45, v * 0.7 + 0.05, v * 0.95 + 0.1]), false],
    ];
    for (const [name, r, colour] of cases) {
      const file = await bigJpeg(name, r);
      const preview = await readShrunk(file, 280);
      expect(preview, name).toBeDefined();
      const direct = await detectColour(file);
      const quick = await detectColourFromPreview(file, preview!);
      expect(direct.colour, name).toBe(colour);
      expect(quick.colour, name).toBe(colour);
      expect(Math.abs(quick.spread - direct.spread), name).toBeLessThan(0.7);
      expect(Math.abs(quick.chroma - direct.chroma), name).toBeLessThan(1);
    }
  });

  it('measures the file itself when the preview cannot stand in: a small photo, a PNG (other formats may hide colour under transparency)', async () => {
    const small = join(dir, 'portrait-small.jpg');
    await saveRaster(small, portraitLike(0.12, [0.85, 0.6, 0.45]), 'jpg');
    const png = await bigJpeg('png-source', portraitLike(0.12, [0.85, 0.6, 0.45]));
    const asPng = join(dir, 'portrait-big.png');
    await sharp(png).png().toFile(asPng);
    for (const file of [small, asPng]) {
      const preview = await sharp(file).resize(280, 280, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      const p: Raster = { width: 280, height: 280, channels: 3, depth: 8, data: new Uint8Array(preview) };
      expect(await detectColourFromPreview(file, p)).toEqual(await detectColour(file));
    }
  });
});

const SHARED = join(__dirname, '../../../shared/datasets');
const bwSets = ['bw/deoldify-test-images', 'bw/getty-open-content'];
const colourSets = ['val/imagenet-sample', 'train-extra/prokudin-gorskii', 'eval/denoise/Kodak24'];

describe.skipIf(!existsSync(join(SHARED, bwSets[0])))(
  'colour inputs: real photos (../shared/datasets)',
  () => {
    const files = (set: string) =>
      readdirSync(join(SHARED, set))
        .filter((f) => /\.(jpe?g|png)$/i.test(f))
        .map((f) => join(SHARED, set, f));

    it('real black-and-white prints (toned, stained, scanned): at least 93% are not colour', async () => {
      const all = bwSets.flatMap(files);
      const flagged = [];
      for (const f of all) if ((await detectColour(f)).colour) flagged.push(f);
      // Measured: 3 of 69 (prints scanned on a neutral mat, a stained tintype).
      expect(flagged.length / all.length, flagged.join(', ')).toBeLessThan(0.07);
    }, 120_000);

    it('real colour photos, historical ones too (Prokudin-Gorskii): at least 97% are colour', async () => {
      const all = colourSets.flatMap(files);
      const missed = [];
      for (const f of all) if (!(await detectColour(f)).colour) missed.push(f);
      expect(missed.length / all.length, missed.join(', ')).toBeLessThan(0.03);
    }, 120_000);
  },
);

describe.skipIf(!FFMPEG)('colour inputs: films, from sampled frames', () => {
  // 640x384: at thumbnail sizes (160x96) x264's chroma quantisation alone moves a toned frame's
  // colour past the limit; real films are measured shrunk to 128 px, which averages it out.
  it('a colour clip is colour; the same clip in grey and sepia-toned is not', async () => {
    const bins = FFMPEG!;
    const colour = await makeClip(join(dir, 'colour.mp4'), { seconds: 2, size: '640x384' });
    const v = await detectFilmColour(colour, { ffmpeg: bins.ffmpeg, durationSec: 2 });
    expect(v.colour).toBe(true);
    expect(v.reason).toMatch(/of 5 sampled frames/);
    const grey = await makeClip(join(dir, 'grey.mp4'), { seconds: 2, size: '640x384', grey: true });
    expect((await detectFilmColour(grey, { ffmpeg: bins.ffmpeg, durationSec: 2 })).colour).toBe(false);
    const sepia = join(dir, 'sepia.mp4');
    await ffmpeg([
      '-i',
      grey,
      '-vf',
      'format=rgb24,colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131,format=yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      sepia,
    ]);
    const s = await detectFilmColour(sepia, { ffmpeg: bins.ffmpeg, durationSec: 2 });
    expect(s.colour, `spread ${s.spread}`).toBe(false);
    expect(s.chroma).toBeGreaterThan(3);
  }, 60_000);

  it('a file that is not a film names itself', async () => {
    const bad = join(dir, 'not-a-film.mp4');
    writeFileSync(bad, 'hello');
    await expect(detectFilmColour(bad, { ffmpeg: FFMPEG!.ffmpeg, durationSec: 2 })).rejects.toThrow(
      /not-a-film\.mp4/,
    );
  });
});
