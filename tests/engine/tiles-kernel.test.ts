import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { runTiled } from '../../src/engine/ops/tiled';
import type { Raster } from '../../src/engine/types';
import { convGraph, frameSelectGraph, installModel, RGB_01 } from '../helpers/models';
import { tempDir } from '../helpers/images';
import { runTiledReference } from '../helpers/tiled-reference';

/** Random samples (a fixed seed), so every value of the range and every tile edge is exercised. */
function noise(width: number, height: number, channels: 1 | 3, depth: 8 | 16, seed: number): Raster {
  let s = seed;
  const n = width * height * channels;
  const data = depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  const max = depth === 16 ? 65536 : 256;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s >>> 8) % max;
  }
  return { width, height, channels, depth, data };
}

// The WebAssembly tiler (native/tiles.ts) against the JavaScript loops it replaced: the same
// samples bit for bit, for 8 and 16 bits, colour and grey, ×1 and ×2, a mirrored pad, a fixed
// input size, a grey model over RGB, a 3-frame model, and the one-channel (mask) result.
describe('tile kernel against the plain reference', () => {
  const dir = tempDir();
  let engine: Engine;
  beforeAll(() => {
    const c = RGB_01;
    installModel(dir, { ...c, id: 'k-x1', task: 'restore', scale: 1, tile: { size: 40, overlap: 12 } }, convGraph({ scale: 1, seed: 5 }));
    installModel(dir, { ...c, id: 'k-x2', task: 'upscale', scale: 2, tile: { size: 36, overlap: 16 } }, convGraph({ scale: 2, seed: 9 }));
    installModel(dir, { ...c, id: 'k-pad', task: 'restore', scale: 1, tile: { size: 32, overlap: 8, pad: 6 } }, convGraph({ scale: 1, seed: 2 }));
    installModel(
      dir,
      { ...c, id: 'k-fixed', task: 'restore', scale: 1, size: { kind: 'fixed', value: 32 }, tile: { size: 32, overlap: 12 } },
      convGraph({ scale: 1, seed: 3 }),
    );
    installModel(
      dir,
      { ...c, id: 'k-grey', task: 'restore', scale: 1, input: { ...c.input, channels: 1 }, tile: { size: 30, overlap: 10 } },
      convGraph({ channels: 1, scale: 1, seed: 4 }),
    );
    installModel(
      dir,
      { ...c, id: 'k-frames', task: 'restore', scale: 1, input: { ...c.input, frames: 3 }, tile: { size: 32, overlap: 8 } },
      frameSelectGraph(2),
    );
    engine = new Engine({ modelDirs: [dir] });
  });

  const cases: [string, 1 | 3, 8 | 16][] = [
    ['k-x1', 3, 8],
    ['k-x1', 3, 16],
    ['k-x1', 1, 8],
    ['k-x2', 3, 8],
    ['k-x2', 1, 16],
    ['k-pad', 3, 16],
    ['k-fixed', 3, 8],
    ['k-grey', 3, 8],
    ['k-grey', 1, 16],
  ];
  for (const [id, channels, depth] of cases) {
    it(`${id}, ${channels} channel(s), ${depth}-bit, edge tiles`, async () => {
      const model = await engine.sessions.get(await engine.registry.get(id));
      // 97×61: neither side a whole number of tiles, so the last tiles sit flush with the edge.
      const img = noise(97, 61, channels, depth, channels * depth + id.length);
      const got = await runTiled(img, model);
      const want = await runTiledReference(img, model);
      expect([got.width, got.height, got.channels, got.depth]).toEqual([want.width, want.height, want.channels, want.depth]);
      expect(Buffer.from(got.data.buffer).equals(Buffer.from(want.data.buffer))).toBe(true);
    });
  }

  it('a 3-frame model with neighbours, and the one-channel (mask) result of an RGB model', async () => {
    const frames = await engine.sessions.get(await engine.registry.get('k-frames'));
    const [a, b, c] = [1, 2, 3].map((s) => noise(45, 70, 3, 8, s));
    const opts = { neighbours: [a, c] as [Raster, Raster] };
    expect(Buffer.from((await runTiled(b, frames, opts)).data).equals(Buffer.from((await runTiledReference(b, frames, opts)).data))).toBe(true);
    const x1 = await engine.sessions.get(await engine.registry.get('k-x1'));
    const img = noise(83, 50, 3, 16, 11);
    const got = await runTiled(img, x1, { mask: true });
    const want = await runTiledReference(img, x1, { mask: true });
    expect(got.channels).toBe(1);
    expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
  });

  it('two calls interleaved on one thread do not share buffers', async () => {
    const model = await engine.sessions.get(await engine.registry.get('k-x2'));
    const a = noise(70, 44, 3, 8, 21);
    const b = noise(51, 66, 3, 8, 22);
    const [ga, gb] = await Promise.all([runTiled(a, model), runTiled(b, model)]);
    expect(Buffer.from(ga.data).equals(Buffer.from((await runTiledReference(a, model)).data))).toBe(true);
    expect(Buffer.from(gb.data).equals(Buffer.from((await runTiledReference(b, model)).data))).toBe(true);
  });
});
