import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultFor,
  defaultsFor,
  mergeDefaults,
  parseDefaults,
  withDefault,
  withoutModel,
} from '../../src/engine/models/defaults';
import { ModelRegistry } from '../../src/engine/models/registry';
import { resolveModelChain } from '../../src/engine/ops/chain';
import { tempDir } from '../helpers/images';
import { installColorizer } from '../helpers/models';

/** defaults.json: the default per task, per scale, and for films (what goes through the video pipeline). */

describe('model defaults', () => {
  it('parses a film section beside the per-task defaults, and refuses a malformed one', () => {
    const d = parseDefaults(
      JSON.stringify({
        colorize: 'photo-c',
        upscale: { '4': 'x4' },
        film: { colorize: 'film-c', upscale: { '2': 'film-x2' } },
      }),
    );
    expect(defaultFor(d, 'colorize')).toBe('photo-c');
    expect(defaultFor(d, 'colorize', undefined, true)).toBe('film-c');
    expect(defaultFor(d, 'upscale', 2, true)).toBe('film-x2');
    expect(defaultFor(d, 'upscale', 4, true)).toBeUndefined();
    expect(defaultFor(d, 'restore', undefined, true)).toBeUndefined();
    // A film tries its own default first, then the photo one; a photo only its own.
    expect(defaultsFor(d, 'colorize', undefined, true)).toEqual(['film-c', 'photo-c']);
    expect(defaultsFor(d, 'colorize')).toEqual(['photo-c']);
    expect(defaultsFor(d, 'upscale', 4, true)).toEqual(['x4']);
    expect(() => parseDefaults(JSON.stringify({ film: { colorize: 3 } }))).toThrow();
    expect(() => parseDefaults(JSON.stringify({ film: 'tintype-colorize-video' }))).toThrow();
  });

  it("merges the user's defaults over the bundled ones per key, films apart", () => {
    const bundled = parseDefaults(
      JSON.stringify({ colorize: 'c', restore: 'r', film: { colorize: 'c-video', restore: 'r-film' } }),
    );
    expect(mergeDefaults(bundled, {})).toEqual(bundled);
    // The user's photo default leaves the bundled film default in place, and the other way round.
    expect(mergeDefaults(bundled, { colorize: 'mine' })).toEqual({
      colorize: 'mine',
      restore: 'r',
      film: { colorize: 'c-video', restore: 'r-film' },
    });
    expect(mergeDefaults(bundled, { film: { colorize: 'mine' } })).toEqual({
      colorize: 'c',
      restore: 'r',
      film: { colorize: 'mine', restore: 'r-film' },
    });
    expect(mergeDefaults({ colorize: 'c' }, { film: { upscale: { '2': 'a' } } })).toEqual({
      colorize: 'c',
      film: { upscale: { '2': 'a' } },
    });
  });

  it('sets and clears a film default without touching the photo one', () => {
    let d = withDefault({ colorize: 'c' }, 'colorize', 'v', undefined, true);
    expect(d).toEqual({ colorize: 'c', film: { colorize: 'v' } });
    d = withDefault(d, 'upscale', 'x2', 2, true);
    expect(d.film).toEqual({ colorize: 'v', upscale: { '2': 'x2' } });
    d = withDefault(d, 'colorize', 'c2');
    expect(d).toEqual({ colorize: 'c2', film: { colorize: 'v', upscale: { '2': 'x2' } } });
    d = withDefault(d, 'colorize', null, undefined, true);
    expect(d).toEqual({ colorize: 'c2', film: { upscale: { '2': 'x2' } } });
    // Nothing left for films: no empty section either.
    expect(
      withDefault({ colorize: 'c', film: { colorize: 'v' } }, 'colorize', null, undefined, true),
    ).toEqual({
      colorize: 'c',
    });
  });

  it('a removed model leaves the film defaults too', () => {
    expect(withoutModel({ colorize: 'c', film: { colorize: 'v' } }, 'v')).toEqual({ colorize: 'c' });
    expect(withoutModel({ colorize: 'v', film: { colorize: 'v', restore: 'r' } }, 'v')).toEqual({
      film: { restore: 'r' },
    });
    expect(withoutModel({ colorize: 'c', film: { colorize: 'v' } }, 'c')).toEqual({
      film: { colorize: 'v' },
    });
    expect(withoutModel({ colorize: 'c', film: { colorize: 'v' } }, 'other')).toBeNull();
  });

  it('the registry resolves a film to the film default, a photo to the photo default, a named model over both', async () => {
    const dir = tempDir();
    installColorizer(dir, 'photo-c', {}, 'rgb', [0, 0, 0], [0.8, 0.4, 0.2]);
    installColorizer(dir, 'film-c', {}, 'rgb', [0, 0, 0], [0.2, 0.4, 0.8]);
    writeFileSync(
      join(dir, 'defaults.json'),
      JSON.stringify({ colorize: 'photo-c', film: { colorize: 'film-c' } }),
    );
    const registry = new ModelRegistry({ dirs: [dir] });
    expect((await registry.resolve('colorize')).id).toBe('photo-c');
    expect((await registry.resolve('colorize', { film: true })).id).toBe('film-c');
    expect((await registry.resolve('colorize', { film: true, id: 'photo-c' })).id).toBe('photo-c');
    // The chain of a film names its models in the options every frame gets (a frame resolves alone).
    const film = await resolveModelChain(registry, ['colorize'], {}, { film: true });
    expect(film.models.map((m) => m.manifest.id)).toEqual(['film-c']);
    expect(film.options.models).toEqual({ colorize: 'film-c' });
    const photo = await resolveModelChain(registry, ['colorize'], {});
    expect(photo.models.map((m) => m.manifest.id)).toEqual(['photo-c']);
    expect(photo.options.models).toBeUndefined();
    const named = await resolveModelChain(
      registry,
      ['colorize'],
      { models: { colorize: 'photo-c' } },
      { film: true },
    );
    expect(named.models.map((m) => m.manifest.id)).toEqual(['photo-c']);

    // A film default that is not installed: films fall back to the photo default.
    writeFileSync(
      join(dir, 'defaults.json'),
      JSON.stringify({ colorize: 'photo-c', film: { colorize: 'gone' } }),
    );
    await registry.refresh();
    expect((await registry.resolve('colorize', { film: true })).id).toBe('photo-c');
  });

  it('the bundled defaults give films the steadier video colorizer', async () => {
    const bundled = join(import.meta.dirname, '..', '..', 'resources', 'models');
    const registry = new ModelRegistry({ dirs: [bundled] });
    expect((await registry.resolve('colorize')).id).toBe('tintype-colorize');
    expect((await registry.resolve('colorize', { film: true })).id).toBe('tintype-colorize-video');
  });
});
