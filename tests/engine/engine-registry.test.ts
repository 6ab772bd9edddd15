import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { looksLikeOutput } from '../../src/cli/files';
import { main } from '../../src/cli/index';
import { parseOps } from '../../src/cli/options';
import {
  Engine,
  OPS,
  operations,
  orderedOps,
  registerOperation,
  withOpDefaults,
  type OpName,
} from '../../src/engine';
import { decode, greyPattern, saveRaster, tempDir } from '../helpers/images';
import { invertOp } from '../helpers/invert-op';
import { invertGraph, installModel, RGB_01 } from '../helpers/models';

describe('the operation registry', () => {
  let invert: OpName;
  const models = tempDir();

  beforeAll(() => {
    // The one registry line a new operation needs.
    invert = registerOperation(invertOp);
    installModel(
      models,
      { ...RGB_01, id: 'rest', task: 'restore', tile: { size: 64, overlap: 8 } },
      invertGraph(),
    );
  });

  it('the built-ins come from the registry in pipeline order', () => {
    expect(OPS).toEqual(['repair', 'restore', 'colorize', 'upscale']);
    expect(orderedOps(['upscale', 'restore', 'colorize'])).toEqual(['restore', 'colorize', 'upscale']);
    expect(withOpDefaults(['upscale'], {})).toEqual({ scale: 4 });
    expect(withOpDefaults(['colorize'], {})).toEqual({});
  });

  it('refuses a second operation of the same name, or one with nothing to run', () => {
    expect(() => registerOperation(invertOp)).toThrow(/already registered/);
    expect(() => registerOperation({ ...invertOp, name: 'nothing', run: undefined })).toThrow(
      /neither a model task nor code/,
    );
  });

  it('a registered operation runs in the engine, in its place in the pipeline', async () => {
    expect(operations().map((o) => o.name)).toEqual(['repair', 'invert', 'restore', 'colorize', 'upscale']);
    expect(orderedOps(['restore', invert])).toEqual(['invert', 'restore']);
    const engine = new Engine({ modelDirs: [models] });
    const input = greyPattern(32, 24);
    const once = await engine.run(input, [invert]);
    expect(once.models).toEqual([]);
    expect(Array.from(once.raster.data.slice(0, 50))).toEqual(
      Array.from(input.data.slice(0, 50), (v) => 255 - v),
    );
    // Inverting, then the restore model (which also inverts): the picture comes back.
    const twice = await engine.run(input, ['restore', invert]);
    expect(twice.models).toEqual(['rest']);
    let worst = 0;
    for (let i = 0; i < input.data.length; i++)
      worst = Math.max(worst, Math.abs(twice.raster.data[i] - input.data[i]));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('the engine checks the options of the ops it runs with the one schema, whoever calls it', async () => {
    const engine = new Engine({ modelDirs: [models] });
    const input = greyPattern(8, 8);
    await expect(engine.run(input, ['colorize'], { renderSize: 20 })).rejects.toThrow(
      /invalid options: renderSize: .*64/,
    );
    await expect(engine.run(input, ['upscale'], { scale: 9 })).rejects.toThrow(/invalid options: scale/);
    // An option that no op in the chain reads changes nothing and is not checked.
    await expect(engine.run(input, [invert], { scale: 1 })).resolves.toBeTruthy();
  });

  it('the CLI offers it as a command, accepts it in --ops and skips its outputs on a rescan', async () => {
    expect(parseOps('invert,restore')).toEqual(['invert', 'restore']);
    expect(() => parseOps('invert,nonsense')).toThrow(
      /operations are repair, invert, restore, colorize, upscale/,
    );
    expect(looksLikeOutput('/photos/grandma.invert.png')).toBe(true);
    expect(looksLikeOutput('/photos/grandma.invert-restore.png')).toBe(true);
    expect(looksLikeOutput('/photos/grandma.inverted.png')).toBe(false);

    const dir = tempDir();
    const src = await saveRaster(join(dir, 'in.png'), greyPattern(20, 16));
    const out = join(dir, 'out.png');
    expect(await main(['invert', src, '-o', out, '--quiet', '--models-dir', models])).toBe(0);
    const back = await decode(out);
    const orig = await decode(src);
    expect(back.width).toBe(20);
    expect(back.data[0]).toBe(255 - orig.data[0]);
    expect(back.data[137]).toBe(255 - orig.data[137]);
  });
});
