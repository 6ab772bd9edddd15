import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { hintChroma } from '../../src/engine/ops/hints/propagate';
import { parseHintFile, HINT_LIMITS, type HintInput } from '../../src/shared/hints';
import type { Raster } from '../../src/engine/types';
import { installColorizer } from '../helpers/models';
import { decode, luma601, saveRaster, tempDir } from '../helpers/images';

/**
 * Colour hints (issue #17) on synthetic pictures whose answer is known: a dark disc on a light
 * ground (a luminance edge that is not aligned with the solve grid), coloured by a model whose
 * chroma is one constant warm colour.
 */
const W = 960;
const H = 720;
const CX = 430;
const CY = 350;
const R = 230;
const DARK = 70;
const LIGHT = 170;

function discPicture(): Raster {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) data[y * W + x] = Math.hypot(x + 0.5 - CX, y + 0.5 - CY) < R ? DARK : LIGHT;
  return { width: W, height: H, channels: 1, depth: 8, data };
}

/** Signed distance of a pixel centre from the disc's rim (negative inside). */
const rim = (x: number, y: number) => Math.hypot(x + 0.5 - CX, y + 0.5 - CY) - R;

/** U, V of a pixel in 8-bit levels (BT.601 analog). */
function uvAt(r: Raster, i: number): [number, number] {
  const [R8, G8, B8] = [r.data[3 * i], r.data[3 * i + 1], r.data[3 * i + 2]];
  const y = luma601(R8, G8, B8);
  return [0.492 * (B8 - y), 0.877 * (R8 - y)];
}

const hueDeg = (u: number, v: number) => (Math.atan2(v, u) * 180) / Math.PI;
const hueGap = (a: number, b: number) => Math.abs(((((a - b) % 360) + 540) % 360) - 180);

describe('colour hints', () => {
  const dir = tempDir();
  let engine: Engine;
  const picture = discPicture();
  let plain: Raster;
  const render = (hints: HintInput[]) =>
    engine.processRaster(picture, ['colorize'], { models: { colorize: 'warm' }, hints: parseHints(hints) });

  beforeAll(async () => {
    // A warm chroma that changes with the grey level (so a sampling shift against the plain merge
    // would show at the disc's rim).
    installColorizer(dir, 'warm', {}, 'uv', [0.04, -0.05], [-0.06, 0.1]);
    engine = new Engine({ modelDirs: [dir] });
    plain = await engine.processRaster(picture, ['colorize'], { models: { colorize: 'warm' } });
  });

  it('turns the hinted region to the hint hue, leaves the other region and the luminance alone', async () => {
    const blue = '#2a5ad8';
    const out = await render([
      {
        points: [
          [CX - 60, CY],
          [CX + 40, CY + 30],
        ],
        radius: 12,
        color: blue,
        strength: 1,
      },
    ]);
    const want = hintChroma(blue);
    const wantHue = hueDeg(want.u, want.v);
    let worstHue = 0;
    let worstOther = 0;
    let worstLuma = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const d = rim(x, y);
        worstLuma = Math.max(
          worstLuma,
          Math.abs(luma601(out.data[3 * i], out.data[3 * i + 1], out.data[3 * i + 2]) - picture.data[i]),
        );
        const [u, v] = uvAt(out, i);
        if (d < -3) worstHue = Math.max(worstHue, hueGap(hueDeg(u, v), wantHue));
        if (d > 3) {
          const [u0, v0] = uvAt(plain, i);
          worstOther = Math.max(worstOther, Math.abs(u - u0), Math.abs(v - v0));
        }
      }
    }
    expect(worstHue).toBeLessThanOrEqual(10);
    expect(worstOther).toBeLessThanOrEqual(2);
    expect(worstLuma).toBeLessThanOrEqual(1);
  });

  it('above the detail size (1024 px) the hint chroma is resolved there and enlarged: same behaviour, edge within a few px', async () => {
    // The disc picture at 1900×1425: the hint's chroma is resolved at 1024×768 (a non-integer
    // ratio) and the merge enlarges it onto the full-size luminance.
    const s = 1900 / W;
    const [BW, BH, BX, BY, BR] = [1900, Math.round(H * s), CX * s, CY * s, R * s];
    const data = new Uint8Array(BW * BH);
    for (let y = 0; y < BH; y++)
      for (let x = 0; x < BW; x++)
        data[y * BW + x] = Math.hypot(x + 0.5 - BX, y + 0.5 - BY) < BR ? DARK : LIGHT;
    const big: Raster = { width: BW, height: BH, channels: 1, depth: 8, data };
    const opts = { models: { colorize: 'warm' } };
    const base = await engine.processRaster(big, ['colorize'], opts);
    const blue = '#2a5ad8';
    const out = await engine.processRaster(big, ['colorize'], {
      ...opts,
      hints: parseHints([{ points: [[BX, BY]], radius: 20, color: blue }]),
    });
    const want = hintChroma(blue);
    let worstHue = 0;
    let worstOther = 0;
    let worstLuma = 0;
    for (let y = 0; y < BH; y += 3) {
      for (let x = 0; x < BW; x += 3) {
        const i = y * BW + x;
        const d = Math.hypot(x + 0.5 - BX, y + 0.5 - BY) - BR;
        const [u, v] = uvAt(out, i);
        worstLuma = Math.max(
          worstLuma,
          Math.abs(luma601(out.data[3 * i], out.data[3 * i + 1], out.data[3 * i + 2]) - data[i]),
        );
        if (d < -5) worstHue = Math.max(worstHue, hueGap(hueDeg(u, v), hueDeg(want.u, want.v)));
        if (d > 5) {
          const [u0, v0] = uvAt(base, i);
          worstOther = Math.max(worstOther, Math.abs(u - u0), Math.abs(v - v0));
        }
      }
    }
    expect(worstHue).toBeLessThanOrEqual(10);
    expect(worstOther).toBeLessThanOrEqual(2);
    expect(worstLuma).toBeLessThanOrEqual(1);
  });

  it('a broad stroke along the edge does not bleed more than a few pixels past it', async () => {
    // The path runs inside the disc 6 px from its rim; the 16 px brush reaches 10 px beyond it.
    const points: [number, number][] = [];
    for (let a = -0.6; a <= 0.6; a += 0.05)
      points.push([CX + (R - 6) * Math.cos(a), CY + (R - 6) * Math.sin(a)]);
    const out = await render([{ points, radius: 16, color: '#30c040' }]);
    const green = hintChroma('#30c040');
    let worstPast = 0;
    let worstHue = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const d = rim(x, y);
        const [u, v] = uvAt(out, i);
        if (d > 3) {
          const [u0, v0] = uvAt(plain, i);
          worstPast = Math.max(worstPast, Math.abs(u - u0), Math.abs(v - v0));
        }
        // Under the path itself, the hint's hue.
        const ang = Math.atan2(y + 0.5 - CY, x + 0.5 - CX);
        if (Math.abs(ang) < 0.5 && d > -9 && d < -3)
          worstHue = Math.max(worstHue, hueGap(hueDeg(u, v), hueDeg(green.u, green.v)));
      }
    }
    expect(worstPast).toBeLessThanOrEqual(2);
    expect(worstHue).toBeLessThanOrEqual(10);
  });

  it('clips hints to the picture: one wholly outside changes nothing, one half outside works', async () => {
    const outside = await render([
      {
        points: [
          [-5000, -400],
          [-20, -30],
        ],
        radius: 8,
        color: '#ff0000',
      },
      { points: [[W + 50, H + 9]], radius: 30, color: '#00ff00' },
    ]);
    let worst = 0;
    for (let i = 0; i < W * H * 3; i++) worst = Math.max(worst, Math.abs(outside.data[i] - plain.data[i]));
    expect(worst).toBeLessThanOrEqual(1);
    const half = await render([
      {
        points: [
          [-300, CY],
          [CX, CY],
        ],
        radius: 10,
        color: '#2a5ad8',
      },
    ]);
    const i = CY * W + CX - 100;
    const [u, v] = uvAt(half, i);
    const want = hintChroma('#2a5ad8');
    expect(hueGap(hueDeg(u, v), hueDeg(want.u, want.v))).toBeLessThanOrEqual(10);
  });

  it('an eraser stroke restores the model colour; strength blends part of the way', async () => {
    const blue = '#2a5ad8';
    const stroke = {
      points: [
        [CX - 100, CY],
        [CX + 100, CY],
      ] as [number, number][],
      radius: 10,
    };
    const erased = await render([
      { ...stroke, color: blue },
      {
        points: [
          [CX, CY - 150],
          [CX, CY + 150],
        ],
        radius: 10,
        erase: true,
      },
    ]);
    // Under the eraser (away from the crossing), the model's colour.
    const i = (CY + 120) * W + CX;
    const [u, v] = uvAt(erased, i);
    const [u0, v0] = uvAt(plain, i);
    expect(Math.max(Math.abs(u - u0), Math.abs(v - v0))).toBeLessThanOrEqual(2);
    const full = await render([{ ...stroke, color: blue }]);
    const half = await render([{ ...stroke, color: blue, strength: 0.5 }]);
    const j = CY * W + CX;
    const [uf, vf] = uvAt(full, j);
    const [uh, vh] = uvAt(half, j);
    const [um, vm] = uvAt(plain, j);
    expect(Math.abs(uh - (uf + um) / 2)).toBeLessThanOrEqual(2);
    expect(Math.abs(vh - (vf + vm) / 2)).toBeLessThanOrEqual(2);
  });

  it('keeps 16-bit luminance and applies the hint the same way', async () => {
    const data = new Uint16Array(W * H);
    for (let i = 0; i < W * H; i++) data[i] = picture.data[i] * 257;
    const deep: Raster = { width: W, height: H, channels: 1, depth: 16, data };
    const out = await engine.processRaster(deep, ['colorize'], {
      models: { colorize: 'warm' },
      hints: parseHints([{ points: [[CX, CY]], radius: 20, color: '#2a5ad8' }]),
    });
    expect(out.depth).toBe(16);
    const i = CY * W + CX;
    const y = luma601(out.data[3 * i], out.data[3 * i + 1], out.data[3 * i + 2]);
    expect(Math.abs(y - data[i])).toBeLessThanOrEqual(257);
    const [u, v] = uvAt(out, i);
    const want = hintChroma('#2a5ad8');
    expect(hueGap(hueDeg(u, v), hueDeg(want.u, want.v))).toBeLessThanOrEqual(10);
  });

  it('re-renders a photo with new hints without running the model again (its colour is cached)', async () => {
    const file = join(dir, 'disc.png');
    await saveRaster(file, picture);
    const job = (n: number, hints: HintInput[]) => ({
      input: file,
      output: join(dir, `disc-${n}.png`),
      ops: ['colorize' as const],
      options: { models: { colorize: 'warm' }, hints: parseHints(hints) },
    });
    const first = await engine.processFile(job(1, []));
    expect(first.ok, first.error).toBe(true);
    expect(first.timings!.inferMs).toBeGreaterThan(0);
    const second = await engine.processFile(job(2, [{ points: [[CX, CY]], radius: 9, color: '#2a5ad8' }]));
    expect(second.ok, second.error).toBe(true);
    expect(second.timings!.inferMs).toBe(0);
    // A changed file is a new photo: its colour is predicted again.
    await saveRaster(file, { ...picture, data: picture.data.map((v) => 255 - v) });
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const third = await engine.processFile(job(3, []));
    expect(third.timings!.inferMs).toBeGreaterThan(0);
  });

  it("a re-render takes the photo's hint guide from the engine's memo: as a new engine renders it, and a changed file gets its own", async () => {
    const file = join(dir, 'guide.png');
    await saveRaster(file, picture);
    const hintsA = parseHints([{ points: [[CX, CY]], radius: 9, color: '#2a5ad8' }]);
    const hintsB = parseHints([
      {
        points: [
          [CX - 100, CY],
          [CX + 100, CY + 30],
        ],
        radius: 12,
        color: '#c03020',
      },
      { points: [[60, 60]], radius: 20, color: '#30a040' },
    ]);
    const render = async (e: Engine, n: string, hints: ReturnType<typeof parseHints>) => {
      const output = join(dir, `guide-${n}.png`);
      const r = await e.processFile({
        input: file,
        output,
        ops: ['colorize'],
        options: { models: { colorize: 'warm' }, hints },
        overwrite: true,
      });
      expect(r.ok, r.error).toBe(true);
      return (await decode(output)).data;
    };
    const kept = new Engine({ modelDirs: [dir] });
    await render(kept, 'a', hintsA);
    const again = await render(kept, 'b', hintsB);
    expect(
      Buffer.compare(
        Buffer.from(again),
        Buffer.from(await render(new Engine({ modelDirs: [dir] }), 'fresh', hintsB)),
      ),
    ).toBe(0);
    // The same path with other pixels: the guide of the old file must not be used.
    // (The disc moved: its edge, which stops the hint colour, is elsewhere.)
    const moved = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) moved[i] = picture.data[i - 120 - 60 * W] ?? LIGHT;
    await saveRaster(file, { ...picture, data: moved });
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const changed = await render(kept, 'c', hintsB);
    expect(Buffer.compare(Buffer.from(changed), Buffer.from(again))).not.toBe(0);
    const fresh = await render(new Engine({ modelDirs: [dir] }), 'fresh2', hintsB);
    expect(Buffer.compare(Buffer.from(changed), Buffer.from(fresh))).toBe(0);
  });

  it('fills a large flat region to its far side at the hint colour, and stops at its edge', async () => {
    // A light field over three quarters of the picture, a dark band on the right; a short stroke
    // near the left border. The field's far side is 600 px (0.6 of the long side) away.
    const EDGE = 720;
    const data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = x < EDGE ? LIGHT : DARK;
    const field: Raster = { width: W, height: H, channels: 1, depth: 8, data };
    const opts = { models: { colorize: 'warm' } };
    const base = await engine.processRaster(field, ['colorize'], opts);
    // A colour the light grey can carry without leaving the RGB cube.
    const brown = '#c08040';
    const out = await engine.processRaster(field, ['colorize'], {
      ...opts,
      hints: parseHints([
        {
          points: [
            [40, H / 2 - 20],
            [60, H / 2 + 20],
          ],
          radius: 10,
          color: brown,
        },
      ]),
    });
    const want = hintChroma(brown);
    const wantHue = hueDeg(want.u, want.v);
    const wantChroma = Math.hypot(want.u, want.v) * 255;
    let worstHue = 0;
    let weakest = Infinity;
    let worstPast = 0;
    for (let y = 0; y < H; y += 4) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const [u, v] = uvAt(out, i);
        if (x >= EDGE - 60 && x < EDGE - 3) {
          worstHue = Math.max(worstHue, hueGap(hueDeg(u, v), wantHue));
          weakest = Math.min(weakest, Math.hypot(u, v) / wantChroma);
        }
        if (x >= EDGE + 3) {
          const [u0, v0] = uvAt(base, i);
          worstPast = Math.max(worstPast, Math.abs(u - u0), Math.abs(v - v0));
        }
      }
    }
    expect(worstHue).toBeLessThanOrEqual(10);
    expect(weakest).toBeGreaterThanOrEqual(0.85);
    expect(worstPast).toBeLessThanOrEqual(2);
  });

  it('refuses invalid hints in the engine with the option named', async () => {
    await expect(
      engine.processRaster(picture, ['colorize'], {
        models: { colorize: 'warm' },
        hints: [{ points: [[1, 2]], radius: -3, color: '#ffffff', strength: 1 }],
      }),
    ).rejects.toThrow(/invalid options: hints\.0\.radius/);
  });
});

describe('hint files', () => {
  const bad = (text: string) => {
    const r = parseHintFile(text);
    expect(r.ok).toBe(false);
    return r.ok ? '' : r.error;
  };
  const one = (h: Record<string, unknown>) =>
    JSON.stringify({ hints: [{ points: [[1, 2]], radius: 4, ...h }] });

  it('reads the documented format, strength defaulting to 1', () => {
    const r = parseHintFile(one({ color: '#12ab9F' }));
    expect(r.ok && r.hints[0].strength).toBe(1);
  });

  it('rejects bad JSON, bad colours, bad radii and strengths, and too many points', () => {
    expect(bad('{"hints": [')).toMatch(/not valid JSON/);
    expect(bad(one({ color: '#12345g' }))).toMatch(/hints\.0\.color/);
    expect(bad(one({ color: 'red' }))).toMatch(/colour like/);
    expect(bad(one({}))).toMatch(/needs a color/);
    expect(bad(one({ color: '#ffffff', radius: -1 }))).toMatch(/hints\.0\.radius/);
    expect(bad(one({ color: '#ffffff', strength: 1.5 }))).toMatch(/hints\.0\.strength/);
    expect(bad(one({ color: '#ffffff', points: [[1, Number.MAX_VALUE]] }))).toMatch(/hints\.0\.points/);
    const many = Array.from({ length: HINT_LIMITS.maxPoints + 1 }, (_, k) => [k, k]);
    expect(bad(one({ color: '#ffffff', points: many }))).toMatch(/hints\.0\.points/);
    expect(bad(JSON.stringify({ hints: [], extra: 1 }))).toMatch(/extra/);
  });
});

function parseHints(hints: HintInput[]) {
  const r = parseHintFile(JSON.stringify({ hints }));
  if (!r.ok) throw new Error(r.error);
  return r.hints;
}
