import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { readImage, unsupportedReason } from '../../src/engine/image/io';
import { decode, greyPattern, luma601, saveRaster, sepiaPattern, tempDir } from '../helpers/images';
import { convGraph, installColorizer, installModel, invertGraph, nanGraph, RGB_01 } from '../helpers/models';

const common = RGB_01;

describe('files in, files out', () => {
  const models = tempDir();
  const work = tempDir();
  let engine: Engine;

  beforeAll(() => {
    installColorizer(models, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
    installModel(
      models,
      { ...common, id: 'invert', task: 'restore', tile: { size: 64, overlap: 8 } },
      invertGraph(),
    );
    installModel(models, { ...common, id: 'nan', task: 'restore' }, nanGraph());
    installModel(models, { ...common, id: 'x2', task: 'upscale', scale: 2 }, convGraph({ scale: 2 }));
    // Manifest claims 1 channel; the graph takes 3.
    installModel(
      models,
      { ...common, id: 'misfit', task: 'restore', input: { ...common.input, channels: 1 } },
      invertGraph(3),
    );
    mkdirSync(join(models, 'corrupt'));
    writeFileSync(
      join(models, 'corrupt', 'model.onnx'),
      Buffer.from('this is not a protobuf at all, just text'),
    );
    writeFileSync(
      join(models, 'corrupt', 'manifest.json'),
      JSON.stringify({
        ...common,
        id: 'corrupt',
        name: 'c',
        task: 'restore',
        file: 'model.onnx',
        license: 'MIT',
        source: 'test',
        sha256: '0'.repeat(64),
      }),
    );
    engine = new Engine({ modelDirs: [models] });
  });

  it('skipColour leaves photos already in colour as they are, from the small read or the file', async () => {
    // A large colour JPEG (judged from the model's render-size read), a small colour PNG (judged
    // from the file) and a large toned print, which is colorized.
    const colourPattern = (w: number, h: number) => {
      const data = new Uint8Array(w * h * 3);
      for (let i = 0; i < w * h; i++) {
        const x = i % w;
        const y = Math.floor(i / w);
        data.set(x < w / 2 ? [200, 60 + (y % 50), 40] : [40, 90 + (y % 50), 200], i * 3);
      }
      return { width: w, height: h, channels: 3 as const, depth: 8 as const, data };
    };
    const big = await saveRaster(join(work, 'colour-big.jpg'), colourPattern(640, 480), 'jpg');
    const small = await saveRaster(join(work, 'colour-small.png'), colourPattern(64, 48));
    const print = join(work, 'print-big.jpg');
    await sharp(sepiaPattern(160, 120).data, { raw: { width: 160, height: 120, channels: 3 } })
      .resize(640, 480)
      .jpeg()
      .toFile(print);
    const job = (input: string, skipColour: boolean) => ({
      input,
      output: join(work, `skip-${skipColour}-${input.split('/').pop()}`),
      ops: ['colorize' as const],
      options: { models: { colorize: 'warm' } },
      skipColour,
    });
    for (const input of [big, small]) {
      const r = await engine.processFile(job(input, true));
      expect(r, r.error).toMatchObject({ ok: true, skipped: true, alreadyColour: true });
      expect(r.notes?.[0]).toMatch(/already in colour/);
      expect(existsSync(job(input, true).output)).toBe(false);
      // Without the flag it is colorized like any other.
      const forced = await engine.processFile(job(input, false));
      expect(forced.ok && !forced.skipped, forced.error).toBe(true);
      expect(existsSync(job(input, false).output)).toBe(true);
    }
    const toned = await engine.processFile(job(print, true));
    expect(toned.ok && !toned.skipped && !toned.alreadyColour, toned.error).toBe(true);
    expect(existsSync(job(print, true).output)).toBe(true);

    // Several at once (a batch): a photo started while another is in flight gets its small input
    // and its colour verdict from the decoded photo instead of a second read of the file. The
    // same photos are skipped, and the print comes out as one at a time did, within rounding
    // in luma and close in chroma (its small input is resized from the decoded photo).
    const alone = (await readImage(job(print, true).output)).raster;
    const batchEngine = new Engine({ modelDirs: [models] });
    const inBatch = (input: string) => ({
      ...job(input, true),
      output: join(work, `batch-${input.split('/').pop()}`),
    });
    const results = await Promise.all(
      [print, big, small, print].map((f, i) =>
        batchEngine.processFile({ ...inBatch(f), output: `${inBatch(f).output}.${i}.jpg` }),
      ),
    );
    expect(results.map((r) => [r.ok, r.alreadyColour === true])).toEqual([
      [true, false],
      [true, true],
      [true, true],
      [true, false],
    ]);
    for (const i of [0, 3]) {
      const got = (await readImage(results[i].output)).raster;
      let worstLuma = 0;
      let sumChroma = 0;
      const n = got.width * got.height;
      for (let p = 0; p < n; p++) {
        const a = got.data.subarray(p * 3, p * 3 + 3);
        const b = alone.data.subarray(p * 3, p * 3 + 3);
        worstLuma = Math.max(worstLuma, Math.abs(luma601(a[0], a[1], a[2]) - luma601(b[0], b[1], b[2])));
        sumChroma += Math.abs(a[2] - a[0] - (b[2] - b[0]));
      }
      // JPEG output both times: its own rounding on top of the merge's.
      expect(worstLuma).toBeLessThanOrEqual(3);
      expect(sumChroma / n).toBeLessThan(2);
    }
  });

  it('applies EXIF orientation and writes an upright image with orientation reset', async () => {
    const src = join(work, 'rotated.jpg');
    const raw = sepiaPattern(60, 20);
    await sharp(raw.data, { raw: { width: 60, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(src);
    const out = join(work, 'rotated.colorize.jpg');
    const r = await engine.processFile({
      input: src,
      output: out,
      ops: ['colorize'],
      options: { models: { colorize: 'warm' } },
    });
    expect(r.error).toBeUndefined();
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([20, 60]);
    expect(meta.orientation ?? 1).toBe(1);
  });

  it('keeps EXIF and the ICC profile, and records the model in XMP', async () => {
    const src = join(work, 'meta.jpg');
    const raw = sepiaPattern(48, 32);
    await sharp(raw.data, { raw: { width: 48, height: 32, channels: 3 } })
      .withIccProfile('p3')
      .withExif({ IFD0: { Make: 'Kodak', Model: 'Brownie No. 2', Copyright: 'The Family' } })
      .jpeg()
      .toFile(src);
    const out = join(work, 'meta.colorize.jpg');
    const r = await engine.processFile({
      input: src,
      output: out,
      ops: ['colorize'],
      options: { models: { colorize: 'warm' } },
    });
    expect(r.ok).toBe(true);
    const meta = await sharp(out).metadata();
    expect(meta.exif?.toString('latin1')).toContain('Brownie No. 2');
    expect(meta.exif?.toString('latin1')).toContain('The Family');
    expect(meta.icc).toBeDefined();
    const before = await sharp(src).metadata();
    expect(meta.icc!.length).toBe(before.icc!.length);
    expect(meta.xmp?.toString()).toMatch(/AI-colorized by Tintype.*warm/);
    // The original is untouched.
    expect((await sharp(src).metadata()).size).toBe(before.size);
    // WebP carries the whole EXIF block too (TIFF output has none: libvips does not write it).
    for (const format of ['webp'] as const) {
      const o = join(work, `meta.colorize.${format}`);
      const res = await engine.processFile({
        input: src,
        output: o,
        ops: ['colorize'],
        options: { models: { colorize: 'warm' } },
      });
      expect(res.ok, res.error).toBe(true);
      const m = await sharp(o).metadata();
      expect(m.exif?.toString('latin1'), format).toContain('Brownie No. 2');
      expect(m.exif?.toString('latin1'), format).toContain('The Family');
      expect(m.xmp?.toString(), format).toMatch(/AI-colorized by Tintype/);
    }
  });

  it('round-trips a 16-bit TIFF and keeps 16-bit luminance', async () => {
    const src = join(work, 'scan16.tif');
    const grey = greyPattern(64, 48, 16);
    await saveRaster(src, grey, 'tif');
    const out = join(work, 'scan16.colorize.tif');
    const r = await engine.processFile({
      input: src,
      output: out,
      ops: ['colorize'],
      options: { models: { colorize: 'warm' } },
    });
    expect(r.ok, r.error).toBe(true);
    const meta = await sharp(out).metadata();
    expect(meta.depth).toBe('ushort');
    expect(meta.channels).toBe(3);
    const px = await decode(out, 16);
    let worst = 0;
    for (let i = 0; i < 64 * 48; i++) {
      worst = Math.max(
        worst,
        Math.abs(luma601(px.data[i * 3], px.data[i * 3 + 1], px.data[i * 3 + 2]) - grey.data[i]),
      );
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('keeps the alpha channel untouched', async () => {
    const src = join(work, 'alpha.png');
    const w = 40,
      h = 30;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      rgba.set([(i * 7) % 256, (i * 3) % 256, 90, (i * 11) % 256], i * 4);
    }
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toFile(src);
    const out = join(work, 'alpha.restore.png');
    const r = await engine.processFile({
      input: src,
      output: out,
      ops: ['restore'],
      options: { models: { restore: 'invert' } },
    });
    expect(r.ok, r.error).toBe(true);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    for (let i = 0; i < w * h; i++) {
      expect(data[i * 4 + 3]).toBe(rgba[i * 4 + 3]);
      expect(Math.abs(data[i * 4] - (255 - rgba[i * 4]))).toBeLessThanOrEqual(1);
    }
  });

  it('draws a visible watermark only when asked, in the bottom-right corner', async () => {
    const src = await saveRaster(join(work, 'wm.png'), greyPattern(240, 160));
    const plain = join(work, 'wm.plain.png');
    const marked = join(work, 'wm.marked.png');
    const job = { input: src, ops: ['colorize' as const], options: { models: { colorize: 'warm' } } };
    expect((await engine.processFile({ ...job, output: plain })).ok).toBe(true);
    expect((await engine.processFile({ ...job, output: marked, watermark: true })).ok).toBe(true);
    const a = await decode(plain);
    const b = await decode(marked);
    let corner = 0;
    let elsewhere = 0;
    for (let y = 0; y < 160; y++) {
      for (let x = 0; x < 240; x++) {
        const i = (y * 240 + x) * 3;
        const d =
          Math.abs(a.data[i] - b.data[i]) +
          Math.abs(a.data[i + 1] - b.data[i + 1]) +
          Math.abs(a.data[i + 2] - b.data[i + 2]);
        if (x > 120 && y > 130) corner += d;
        else if (x < 100 && y < 100) elsewhere += d;
      }
    }
    expect(corner).toBeGreaterThan(1000);
    expect(elsewhere).toBe(0);
  });

  it('upscaling resizes the alpha channel on the same pixel grid (centres aligned)', async () => {
    const src = join(work, 'edge.png');
    const w = 20,
      h = 10;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([120, 110, 100, i % w >= 10 ? 255 : 0], i * 4);
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toFile(src);
    const out = join(work, 'edge.upscale.png');
    const r = await engine.processFile({
      input: src,
      output: out,
      ops: ['upscale'],
      options: { models: { upscale: 'x2' }, scale: 2 },
    });
    expect(r.ok, r.error).toBe(true);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([40, 20, 4]);
    const alphaAt = (x: number) => data[(10 * 40 + x) * 4 + 3];
    // The edge between source columns 9 and 10 lands between output columns 19 and 20, symmetrically.
    expect(Math.abs(alphaAt(19) - 64)).toBeLessThanOrEqual(1);
    expect(Math.abs(alphaAt(20) - 191)).toBeLessThanOrEqual(1);
    expect(alphaAt(0)).toBe(0);
    expect(alphaAt(39)).toBe(255);
  });

  it('reads GIF (first frame), AVIF and AV1 HEIC scans', async () => {
    const src = sepiaPattern(48, 32);
    const png = await sharp(Buffer.from(src.data), { raw: { width: 48, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    const inputs = {
      'scan.gif': await sharp(png).gif().toBuffer(),
      'scan.avif': await sharp(png).avif({ lossless: true }).toBuffer(),
      'scan.heic': await sharp(png).heif({ compression: 'av1', lossless: true }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(inputs)) {
      writeFileSync(join(work, name), bytes);
      const output = join(work, `${name}.out.png`);
      const r = await engine.processFile({
        input: join(work, name),
        output,
        ops: ['colorize'],
        options: { models: { colorize: 'warm' } },
      });
      expect(r.ok, `${name}: ${r.error}`).toBe(true);
      const meta = await sharp(output).metadata();
      expect([meta.width, meta.height]).toEqual([48, 32]);
    }
  });

  it('never overwrites an existing output unless asked, and never writes over the original', async () => {
    const src = await saveRaster(join(work, 'keep.png'), greyPattern(20, 20));
    const out = join(work, 'keep.out.png');
    writeFileSync(out, 'precious');
    const r = await engine.processFile({
      input: src,
      output: out,
      ops: ['colorize'],
      options: { models: { colorize: 'warm' } },
    });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/keep\.out\.png: output already exists/);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    const again = await engine.processFile({
      input: src,
      output: out,
      overwrite: true,
      ops: ['colorize'],
      options: { models: { colorize: 'warm' } },
    });
    expect(again.ok).toBe(true);
    const same = await engine.processFile({
      input: src,
      output: src,
      overwrite: true,
      ops: ['colorize'],
      options: { models: { colorize: 'warm' } },
    });
    expect(same.error).toMatch(/would replace the original/);
  });

  describe('bad input: a clear error naming the file and the problem, no partial output', () => {
    const bad = tempDir();
    const outDir = tempDir();
    const run = async (
      input: string,
      ops: ('colorize' | 'restore')[] = ['colorize'],
      model = 'warm',
      output = join(outDir, 'out.png'),
    ) => {
      const r = await engine.processFile({ input, output, ops, options: { models: { [ops[0]]: model } } });
      expect(r.ok).toBe(false);
      expect(readdirSync(outDir)).toEqual([]);
      return r.error ?? '';
    };

    it('missing, empty, truncated, not an image, unsupported, pixel bomb', async () => {
      expect(await run(join(bad, 'nope.jpg'))).toMatch(/nope\.jpg: file not found/);
      writeFileSync(join(bad, 'empty.jpg'), '');
      expect(await run(join(bad, 'empty.jpg'))).toMatch(/empty\.jpg: file is empty/);
      const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#888' } })
        .jpeg()
        .toBuffer();
      writeFileSync(join(bad, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
      expect(await run(join(bad, 'truncated.jpg'))).toMatch(
        /truncated\.jpg: .*(damaged or truncated|corrupt)/,
      );
      writeFileSync(join(bad, 'notes.jpg'), 'Grandma and Grandpa, 1952. Scan later.\n');
      expect(await run(join(bad, 'notes.jpg'))).toMatch(/notes\.jpg: not an image/);
      writeFileSync(
        join(bad, 'drawing.svg'),
        '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
      );
      expect(await run(join(bad, 'drawing.svg'))).toMatch(/drawing\.svg: unsupported format "svg"/);
      // No HEVC encoder exists here to make a phone HEIC; the decision itself is checked.
      expect(unsupportedReason({ format: 'heif', compression: 'hevc' })).toMatch(/HEVC .* export it as JPEG/);
      expect(unsupportedReason({ format: 'heif', compression: 'av1' })).toBeNull();
      // A valid PNG whose header declares 100000×100000 pixels.
      const png = Buffer.from(
        await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
      );
      png.writeUInt32BE(100000, 16);
      png.writeUInt32BE(100000, 20);
      png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
      writeFileSync(join(bad, 'bomb.png'), png);
      expect(await run(join(bad, 'bomb.png'))).toMatch(
        /bomb\.png: declared size 100000×100000 .* over the .* limit/,
      );
    });

    it('unwritable output folder', async () => {
      const src = await saveRaster(join(bad, 'ok.png'), greyPattern(16, 16));
      const blocker = join(bad, 'a-file');
      writeFileSync(blocker, 'x');
      const r = await engine.processFile({
        input: src,
        output: join(blocker, 'out.png'),
        ops: ['colorize'],
        options: { models: { colorize: 'warm' } },
      });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/a-file\/out\.png: cannot write output/);
    });

    it('corrupt .onnx, a model whose shape does not fit its manifest, a model that returns NaN', async () => {
      const src = await saveRaster(join(bad, 'fine.png'), sepiaPattern(24, 24));
      expect(await run(src, ['restore'], 'corrupt')).toMatch(/corrupt\/model\.onnx: not a valid ONNX model/);
      expect(await run(src, ['restore'], 'misfit')).toMatch(
        /misfit\/model\.onnx: input shape \[1, 3, height, width\] has 3 channels where the manifest .* expects 1/,
      );
      expect(await run(src, ['restore'], 'nan')).toMatch(/nan\/model\.onnx: model returned NaN values/);
      expect(existsSync(src)).toBe(true);
    });
  });
});
