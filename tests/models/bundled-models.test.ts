import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, operations, sha256File, type OpName } from '../../src/engine';
import { ModelRegistry } from '../../src/engine/models/registry';
import { sepiaPattern } from '../helpers/images';
import { scalesOf } from '../../src/shared/manifest';

const BUNDLED = join(import.meta.dirname, '..', '..', 'resources', 'models');

/** What ships in resources/models: every manifest valid, every file the one its hash names, every model runnable. */
describe('bundled models', () => {
  const registry = new ModelRegistry({ dirs: [BUNDLED] });

  it('every bundled model has a valid manifest whose sha256 matches its .onnx', async () => {
    const models = await registry.list();
    expect(models.length).toBeGreaterThanOrEqual(5);
    for (const m of models) {
      expect(await sha256File(m.modelPath), m.id).toBe(m.sha256);
      expect(m.license, m.id).toBeTruthy();
      expect(m.source, m.id).toBeTruthy();
    }
  });

  it('defaults.json names bundled models of the right task and scale', async () => {
    const defaults = JSON.parse(readFileSync(join(BUNDLED, 'defaults.json'), 'utf8')) as {
      restore?: string;
      colorize?: string;
      upscale?: Record<string, string>;
      film?: { colorize?: string };
    };
    if (defaults.restore) expect((await registry.get(defaults.restore)).task).toBe('restore');
    if (defaults.colorize) expect((await registry.get(defaults.colorize)).task).toBe('colorize');
    // Films: the steadier video colorizer (issue 14: the photo one flickers 1.95x as much as 0.1).
    if (defaults.film?.colorize) {
      expect((await registry.get(defaults.film.colorize)).task).toBe('colorize');
      expect((await registry.resolve('colorize', { film: true })).id).toBe(defaults.film.colorize);
    }
    for (const [scale, id] of Object.entries(defaults.upscale ?? {})) {
      const m = await registry.get(id);
      expect([m.task, scalesOf(m).includes(Number(scale))]).toEqual(['upscale', true]);
      expect((await registry.resolve('upscale', { scale: Number(scale) })).id).toBe(id);
    }
  });

  it('each bundled model runs through the engine on an odd-sized photo', async () => {
    const engine = new Engine({ modelDirs: [BUNDLED], ep: 'cpu' });
    const img = sepiaPattern(27, 19);
    for (const m of await registry.list()) {
      // The op that runs the model's task (a filler, task inpaint, runs inside repair: tests/engine/repair*).
      if (m.task === 'inpaint') continue;
      const op = operations().find((o) => o.task === m.task)?.name as OpName | undefined;
      if (!op) throw new Error(`no operation runs ${m.task} models (${m.id})`);
      const out = await engine.processRaster(img, [op], { models: { [op]: m.id }, scale: m.scale });
      expect([out.width, out.height], m.id).toEqual([27 * m.scale, 19 * m.scale]);
      // Not a pass-through and not a blank: the output varies and differs from a plain resize of nothing.
      let lo = 255;
      let hi = 0;
      for (const v of out.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(hi - lo, m.id).toBeGreaterThan(20);
    }
  });

  it('the default colorizer is bundled: a grey scene gets colour and keeps its luminance', async () => {
    const defaults = JSON.parse(readFileSync(join(BUNDLED, 'defaults.json'), 'utf8')) as {
      colorize?: string;
    };
    expect(defaults.colorize, 'defaults.json names a bundled colorizer').toBeTruthy();
    const engine = new Engine({ modelDirs: [BUNDLED], ep: 'cpu' });
    const scene = greyScene(120, 80);
    const out = await engine.processRaster(scene, ['colorize'], {});
    expect([out.width, out.height, out.channels]).toEqual([120, 80, 3]);
    let lumaErr = 0;
    let chroma = 0;
    for (let i = 0; i < scene.width * scene.height; i++) {
      const [r, g, b] = [out.data[i * 3], out.data[i * 3 + 1], out.data[i * 3 + 2]];
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      lumaErr = Math.max(lumaErr, Math.abs(y - scene.data[i]));
      chroma +=
        Math.abs(-0.168736 * r - 0.331264 * g + 0.5 * b) + Math.abs(0.5 * r - 0.418688 * g - 0.081312 * b);
    }
    expect(lumaErr).toBeLessThanOrEqual(2);
    // Mean |Cb| + |Cr| in 8-bit levels: a colourless answer would be ~0.
    expect(chroma / (scene.width * scene.height)).toBeGreaterThan(2);
  });
});

/** A grey "landscape": a bright smooth sky over darker, textured ground. */
function greyScene(width: number, height: number) {
  const data = new Uint8Array(width * height);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sky = y < height * 0.45;
      const v = sky ? 215 - (40 * y) / height : 70 + 30 * Math.sin(x / 3) * Math.cos(y / 4) + 30 * rand();
      data[y * width + x] = Math.round(v);
    }
  }
  return { width, height, channels: 1 as const, depth: 8 as const, data };
}
