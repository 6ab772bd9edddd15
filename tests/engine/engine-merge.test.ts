import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Engine } from '../../src/engine';
import { mergeLumaChroma, mergeMayOverwrite, mergeOutputDone } from '../../src/engine/image/color';
import { readImage, readShrunk } from '../../src/engine/image/io';
import type { Raster } from '../../src/engine/types';
import { greyPattern, luma601, saveRaster, sepiaPattern, tempDir } from '../helpers/images';
import { installColorizer } from '../helpers/models';
import { referenceMerge } from '../helpers/reference-merge';
import { generate, KERNELS } from '../../tools/wasm/build';
import { readFileSync } from 'node:fs';

/** A 16-bit RGB print: the sepia pattern on 16-bit samples. */
function sepia16(width: number, height: number): Raster {
  const s = sepiaPattern(width, height);
  return { ...s, depth: 16, data: Uint16Array.from(s.data, (x) => x * 257 + ((x * 31) % 200)) };
}

/** Chroma planes with strong, varied colour, so many pixels need gamut-safe scaling. */
function chroma(cw: number, ch: number): { u: Float32Array; v: Float32Array } {
  const u = new Float32Array(cw * ch);
  const v = new Float32Array(cw * ch);
  for (let i = 0; i < u.length; i++) {
    u[i] = 0.35 * Math.sin(i / 5.3);
    v[i] = 0.4 * Math.cos(i / 3.1);
  }
  return { u, v };
}

function maxDiff(a: Raster, b: Raster): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  return worst;
}

describe('full-resolution chroma merge', () => {
  const cases: [string, Raster, number][] = [
    ['8-bit grey, odd size', greyPattern(97, 61), 1],
    ['8-bit RGB (sepia)', sepiaPattern(120, 77), 1.4],
    ['16-bit grey', greyPattern(83, 45, 16), 0.6],
    ['one column', greyPattern(1, 40), 1],
    ['16-bit RGB, width not a multiple of 4', sepia16(37, 29), 1.2],
    // Wide enough that the kernel works through several bands of rows of its own.
    ['8-bit grey, 1503×1201 (many bands)', greyPattern(1503, 1201), 1],
    // RGB rows are read four pixels a step: an odd width over many bands ends rows mid-step.
    ['8-bit RGB, 1501×403 (many bands)', sepiaPattern(1501, 403), 1.2],
    ['16-bit RGB, 1023×211 (many bands)', sepia16(1023, 211), 1],
    // Weak colour: most groups of four pixels stay inside the cube (the kernel skips their
    // divisions), the darkest and brightest still reach its edge.
    ['8-bit RGB, weak colour', sepiaPattern(203, 97), 0.2],
    ['8-bit grey, weak colour', greyPattern(203, 97), 0.2],
  ];
  for (const [name, img, saturation] of cases) {
    it(`matches the reference merge within 1 level and keeps the luma (${name})`, () => {
      const { u, v } = chroma(31, 17);
      const ref = referenceMerge(img, u, v, 31, 17, saturation, img.depth);
      const out = mergeLumaChroma(img, u, v, 31, 17, saturation, img.depth);
      expect(out.depth).toBe(img.depth);
      expect(out.data).toBeInstanceOf(img.depth === 16 ? Uint16Array : Uint8Array);
      expect(maxDiff(out, ref)).toBeLessThanOrEqual(1);
      let worst = 0;
      let clipped = 0;
      const max = img.depth === 16 ? 65535 : 255;
      for (let i = 0; i < img.width * img.height; i++) {
        const yi =
          img.channels === 1
            ? img.data[i]
            : luma601(img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]);
        const [r, g, b] = [out.data[i * 3], out.data[i * 3 + 1], out.data[i * 3 + 2]];
        worst = Math.max(worst, Math.abs(luma601(r, g, b) - yi));
        if (r === 0 || r === max || g === 0 || g === max || b === 0 || b === max) clipped++;
      }
      // Luma within 1 level of the original, 16-bit levels for 16-bit input.
      expect(worst).toBeLessThanOrEqual(1);
      if (img.width > 1) expect(clipped).toBeGreaterThan(0); // the gamut edge was really reached
    });
  }

  it('writes 8-bit output from 16-bit input within 1 level of the reference', () => {
    const img = greyPattern(83, 45, 16);
    const { u, v } = chroma(31, 17);
    const out = mergeLumaChroma(img, u, v, 31, 17, 1, 8);
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(maxDiff(out, referenceMerge(img, u, v, 31, 17, 1, 8))).toBeLessThanOrEqual(1);
  });

  it('runs the WebAssembly kernel its source compiles to (npm run wasm:check)', async () => {
    for (const k of KERNELS)
      expect(readFileSync(join(import.meta.dirname, '..', '..', k.module), 'utf8'), k.source).toBe(
        await generate(k),
      );
  }, 300_000); // loading the compiler (binaryen) took 69 s at load 38 here; about 5 s on a quiet machine

  it('writes over an RGB raster it may overwrite, with the same pixels as into a new buffer', () => {
    for (const img of [sepiaPattern(1501, 403), sepia16(1023, 211)]) {
      const { u, v } = chroma(31, 17);
      const fresh = mergeLumaChroma(img, u, v, 31, 17, 1.2, img.depth);
      expect(fresh.data).not.toBe(img.data);
      const copy = { ...img, data: img.data.slice() };
      mergeMayOverwrite(copy);
      const over = mergeLumaChroma(copy, u, v, 31, 17, 1.2, img.depth);
      expect(over.data).toBe(copy.data);
      expect(maxDiff(over, fresh)).toBe(0);
      // Once per mark: the next merge of the same samples leaves them alone.
      expect(mergeLumaChroma(copy, u, v, 31, 17, 1.2, img.depth).data).not.toBe(copy.data);
    }
    // Grey in, RGB out: the sizes differ, so the grey samples stay as they were.
    const grey = greyPattern(97, 61);
    const before = grey.data.slice();
    mergeMayOverwrite(grey);
    const { u, v } = chroma(31, 17);
    const out = mergeLumaChroma(grey, u, v, 31, 17, 1, 8);
    expect(out.data.length).toBe(97 * 61 * 3);
    expect(grey.data).toEqual(before);
  });

  it('reuses a merged buffer handed back, and only those it wrote', () => {
    const img = greyPattern(203, 97);
    const { u, v } = chroma(31, 17);
    const first = mergeLumaChroma(img, u, v, 31, 17, 1, 8);
    const expected = first.data.slice();
    mergeOutputDone(first);
    first.data.fill(7);
    const second = mergeLumaChroma(img, u, v, 31, 17, 1, 8);
    expect(second.data).toBe(first.data);
    expect(second.data).toEqual(expected);
    // A buffer the merge did not make is never taken.
    const foreign = { ...second, data: new Uint8Array(second.data.length) };
    mergeOutputDone(foreign);
    expect(mergeLumaChroma(img, u, v, 31, 17, 1, 8).data).not.toBe(foreign.data);
    // Nor one of another depth.
    mergeOutputDone(second);
    expect(mergeLumaChroma(greyPattern(203, 97, 16), u, v, 31, 17, 1, 16).data).not.toBe(second.data);
  });

  it('bands written separately make the same image as one pass', () => {
    const img = sepiaPattern(64, 50);
    const { u, v } = chroma(20, 20);
    const whole = mergeLumaChroma(img, u, v, 20, 20, 1, 8);
    const out = new Uint8Array(64 * 50 * 3);
    for (const [y0, y1] of [
      [0, 7],
      [7, 31],
      [31, 50],
    ])
      mergeLumaChroma(img, u, v, 20, 20, 1, 8, { y0, y1, out });
    expect(maxDiff({ ...whole, data: out }, whole)).toBe(0);
  });
});

describe('colorizing a JPEG from its file', () => {
  const dir = tempDir();
  let engine: Engine;
  beforeAll(() => {
    installColorizer(dir, 'probe-uv', {}, 'uv', [0.3, 0], [-0.15, 0]);
    engine = new Engine({ modelDirs: [dir] });
  });

  it('reads the render size shrunk on load, close to resizing the decoded photo', async () => {
    const jpg = await saveRaster(join(dir, 'scan.jpg'), sepiaPattern(640, 480), 'jpg');
    const shrunk = await readShrunk(jpg, 64);
    expect(shrunk).toMatchObject({ width: 64, height: 64, channels: 3, depth: 8 });
    expect(await readShrunk(join(dir, 'missing.jpg'), 64)).toBeUndefined();
    expect(await readShrunk(join(dir, 'scan.png'), 64)).toBeUndefined(); // no shortcut for PNG

    const out = join(dir, 'out.png');
    const r = await engine.processFile({
      input: jpg,
      output: out,
      ops: ['colorize'],
      options: { models: { colorize: 'probe-uv' }, renderSize: 64 },
    });
    expect(r.ok, r.error).toBe(true);
    const viaFile = (await readImage(out)).raster;
    const decoded = (await readImage(jpg)).raster;
    const viaRaster = await engine.processRaster(decoded, ['colorize'], {
      models: { colorize: 'probe-uv' },
      renderSize: 64,
    });
    // Same luma exactly (within rounding); chroma from a slightly different small render.
    let worstLuma = 0;
    let sumChroma = 0;
    for (let i = 0; i < 640 * 480; i++) {
      const a = [viaFile.data[i * 3], viaFile.data[i * 3 + 1], viaFile.data[i * 3 + 2]];
      const b = [viaRaster.data[i * 3], viaRaster.data[i * 3 + 1], viaRaster.data[i * 3 + 2]];
      worstLuma = Math.max(worstLuma, Math.abs(luma601(a[0], a[1], a[2]) - luma601(b[0], b[1], b[2])));
      sumChroma += Math.abs(a[2] - a[0] - (b[2] - b[0]));
    }
    expect(worstLuma).toBeLessThanOrEqual(1);
    expect(sumChroma / (640 * 480)).toBeLessThan(2); // mean |Δ(B−R)| under 2 levels
  });
});
