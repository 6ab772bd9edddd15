import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { featherWeights, runTiled, tileStarts } from '../../src/engine/ops/tiled';
import { convGraph, frameSelectGraph, installModel, invertGraph, RGB_01 } from '../helpers/models';
import { greyPattern, sepiaPattern, tempDir } from '../helpers/images';

describe('tiled restore and upscale', () => {
  const dir = tempDir();
  let engine: Engine;

  beforeAll(() => {
    const common = RGB_01;
    installModel(
      dir,
      { ...common, id: 'conv-x1', task: 'restore', scale: 1, tile: { size: 48, overlap: 16 } },
      convGraph({ scale: 1 }),
    );
    installModel(
      dir,
      { ...common, id: 'conv-x2', task: 'upscale', scale: 2, tile: { size: 40, overlap: 16 } },
      convGraph({ scale: 2, seed: 7 }),
    );
    installModel(
      dir,
      { ...common, id: 'invert', task: 'restore', scale: 1, tile: { size: 32, overlap: 8 } },
      invertGraph(),
    );
    installModel(
      dir,
      {
        ...common,
        id: 'invert-grey',
        task: 'restore',
        scale: 1,
        input: { ...common.input, channels: 1 },
        tile: { size: 32, overlap: 8 },
      },
      invertGraph(1),
    );
    installModel(
      dir,
      {
        ...common,
        id: 'conv-fixed',
        task: 'restore',
        scale: 1,
        size: { kind: 'fixed', value: 32 },
        tile: { size: 32, overlap: 12 },
      },
      (() => {
        return convGraph({ scale: 1, seed: 3 });
      })(),
    );
    for (const pick of [0, 2] as const) {
      installModel(
        dir,
        {
          ...common,
          id: `frame-${pick}`,
          task: 'restore',
          scale: 1,
          input: { ...common.input, frames: 3 },
          tile: { size: 32, overlap: 8 },
        },
        frameSelectGraph(pick),
      );
    }
    engine = new Engine({ modelDirs: [dir] });
  });

  it('feeds a 3-frame model t-1, t, t+1 in order, and a still image as itself three times', async () => {
    const prev = sepiaPattern(45, 37);
    const cur = { ...prev, data: prev.data.map((v) => 255 - v) };
    const next = { ...prev, data: prev.data.map((v) => (v * 3) % 256) };
    const first = await engine.processWindow([prev, cur, next], ['restore'], {
      models: { restore: 'frame-0' },
    });
    const last = await engine.processWindow([prev, cur, next], ['restore'], {
      models: { restore: 'frame-2' },
    });
    const still = await engine.processRaster(cur, ['restore'], { models: { restore: 'frame-0' } });
    const diff = (a: Uint8Array | Uint16Array, b: Uint8Array | Uint16Array) => {
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
      return m;
    };
    expect(diff(first.data, prev.data)).toBeLessThanOrEqual(1);
    expect(diff(last.data, next.data)).toBeLessThanOrEqual(1);
    expect(diff(still.data, cur.data)).toBeLessThanOrEqual(1);
    expect(await engine.framesWanted(['restore'], { models: { restore: 'frame-0' } })).toBe(3);
  });

  it('tile origins cover the image and end flush with the edge', () => {
    expect(tileStarts(100, 48, 16)).toEqual([0, 32, 52]);
    expect(tileStarts(30, 48, 16)).toEqual([0]);
    const w = featherWeights(48, 16, true, true);
    expect(w[0]).toBe(0);
    expect(w[3]).toBe(0);
    expect(w[24]).toBe(1);
    expect(w[47]).toBe(0);
  });

  it('tiled equals untiled within 1/255 for a fully convolutional model (×1 and ×2)', async () => {
    const img = sepiaPattern(131, 97);
    for (const id of ['conv-x1', 'conv-x2']) {
      const model = await engine.sessions.get(await engine.registry.get(id));
      const tiled = await runTiled(img, model);
      const whole = await runTiled(img, model, { tileSize: 1000 });
      expect(tiled.width).toBe(whole.width);
      expect(tiled.width).toBe(131 * model.manifest.scale);
      expect(tiled.height).toBe(97 * model.manifest.scale);
      let worst = 0;
      for (let i = 0; i < whole.data.length; i++)
        worst = Math.max(worst, Math.abs(tiled.data[i] - whole.data[i]));
      expect(worst, id).toBeLessThanOrEqual(1);
      // The same tiles without overlap show seams: the comparison above can fail.
      const seams = await runTiled(img, model, { overlap: 0 });
      let seamWorst = 0;
      for (let i = 0; i < whole.data.length; i++)
        seamWorst = Math.max(seamWorst, Math.abs(seams.data[i] - whole.data[i]));
      expect(seamWorst, id).toBeGreaterThan(1);
    }
  });

  it('runs every pixel through the model exactly (inversion), colour and grey, any size', async () => {
    const rgb = sepiaPattern(77, 45);
    const out = await engine.processRaster(rgb, ['restore'], { models: { restore: 'invert' } });
    for (let i = 0; i < rgb.data.length; i++)
      expect(Math.abs(out.data[i] - (255 - rgb.data[i]))).toBeLessThanOrEqual(1);
    // An RGB photo through a one-channel model runs once per channel.
    const out1 = await engine.processRaster(rgb, ['restore'], { models: { restore: 'invert-grey' } });
    for (let i = 0; i < rgb.data.length; i++)
      expect(Math.abs(out1.data[i] - (255 - rgb.data[i]))).toBeLessThanOrEqual(1);
    // A grey image stays grey.
    const grey = greyPattern(50, 33);
    const g = await engine.processRaster(grey, ['restore'], { models: { restore: 'invert' } });
    expect(g.channels).toBe(1);
    for (let i = 0; i < grey.data.length; i++)
      expect(Math.abs(g.data[i] - (255 - grey.data[i]))).toBeLessThanOrEqual(1);
  });

  it('pads edge tiles for a fixed-size model and keeps 16-bit samples', async () => {
    const img = greyPattern(70, 41, 16);
    const out = await engine.processRaster(img, ['restore'], { models: { restore: 'conv-fixed' } });
    expect(out.width).toBe(70);
    expect(out.height).toBe(41);
    expect(out.depth).toBe(16);
  });

  it('chains restore → upscale in one pass', async () => {
    const img = sepiaPattern(40, 30);
    const out = await engine.processRaster(img, ['upscale', 'restore'], {
      models: { restore: 'invert', upscale: 'conv-x2' },
    });
    expect(out.width).toBe(80);
    expect(out.height).toBe(60);
  });
});
