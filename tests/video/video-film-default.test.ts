import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerVideoCommand } from '../../src/cli/video-command';
import { Engine } from '../../src/engine';
import { greyPattern } from '../helpers/images';
import { installColorizer } from '../helpers/models';
import { makeClip, tempDir } from '../helpers/video-fixtures';

/**
 * Films are colorized with the film default (defaults.json's `film`, the steadier video colorizer
 * as bundled), photos with the photo default, and a model named on the command line wins over both.
 * Two colorizers tell which one ran by the hue of every frame: warm for photos, cool for films.
 */

let dir: string;
let models: string;
let clip: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  models = join(dir, 'models');
  installColorizer(models, 'fx-photo', {}, 'rgb', [0, 0, 0], [0.8, 0.45, 0.2]);
  installColorizer(models, 'fx-film', {}, 'rgb', [0, 0, 0], [0.2, 0.45, 0.8]);
  writeFileSync(
    join(models, 'defaults.json'),
    JSON.stringify({ colorize: 'fx-photo', film: { colorize: 'fx-film' } }),
  );
  clip = await makeClip(join(dir, 'grey.mp4'), { size: '48x32', seconds: 1, grey: true });
});
afterAll(() => cleanup());

async function video(out: string, extra: string[] = []): Promise<{ frames: number; models: string[] }> {
  const p = new Command('tintype').exitOverride();
  registerVideoCommand(p);
  const printed: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    await p.parseAsync(
      [
        'video',
        clip,
        '-o',
        out,
        '--duration',
        '0.2',
        '--models-dir',
        models,
        '--json',
        '--threads',
        '1',
        ...extra,
      ],
      { from: 'user' },
    );
  } finally {
    write.mockRestore();
  }
  return JSON.parse(printed.join('').trim().split('\n').pop() ?? '{}') as {
    frames: number;
    models: string[];
  };
}

/** Mean red minus mean blue of every frame written into `folder`. */
async function warmth(folder: string): Promise<number[]> {
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.png'))
    .sort();
  return Promise.all(
    files.map(async (f) => {
      const s = await sharp(join(folder, f)).stats();
      return s.channels[0].mean - s.channels[2].mean;
    }),
  );
}

describe('film defaults', () => {
  it('a photo with no model named is colorized by the photo default', async () => {
    const r = await new Engine({ modelDirs: [models] }).run(greyPattern(48, 32), ['colorize']);
    expect(r.models).toEqual(['fx-photo']);
  });

  it('a film with no --model is colorized by the film default, on every frame; --model wins', async () => {
    const byDefault = await video(join(dir, 'default', 'f_%04d.png'));
    expect(byDefault.models).toEqual(['fx-film']);
    const cool = await warmth(join(dir, 'default'));
    expect(cool.length).toBe(byDefault.frames);
    expect(cool.length).toBeGreaterThan(0);
    for (const w of cool) expect(w).toBeLessThan(-20);

    const named = await video(join(dir, 'named', 'f_%04d.png'), ['--model', 'fx-photo']);
    expect(named.models).toEqual(['fx-photo']);
    const warm = await warmth(join(dir, 'named'));
    expect(warm.length).toBe(named.frames);
    for (const w of warm) expect(w).toBeGreaterThan(20);
  });
});
