import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LibraryService } from '../../src/library/service';
import { haveFfmpeg, sharpProcessor, testCatalog, writePhoto, writeVideo } from '../helpers/library-helpers';
import { saveRaster, sepiaPattern } from '../helpers/images';

let dir: string;
let svc: LibraryService;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-colour-lib-'));
  svc = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor({ calls: [] }),
    catalog: testCatalog,
    mode: 'server',
    version: 'test',
  });
  svc.start();
});
afterEach(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

const colorize = { ops: ['colorize' as const], options: {}, watermark: false };

describe('library: inputs already in colour', () => {
  it('import measures each photo; a colorize batch skips colour ones with the reason, unless told to colorize them', async () => {
    const p = svc.createProject({ name: 'mixed' });
    const colour = join(dir, 'colour.png');
    const grey = join(dir, 'grey.jpg');
    const sepia = join(dir, 'sepia.jpg');
    await writePhoto(colour, 64, 48, 2);
    await writePhoto(grey, 64, 48, 3, true);
    await saveRaster(sepia, sepiaPattern(96, 64), 'jpg');
    const report = await svc.importAssets({ projectId: p.id, paths: [colour, grey, sepia] });
    const by = Object.fromEntries(report.added.map((a) => [a.name, a]));
    expect(by['colour.png'].colour).toMatchObject({ colour: true });
    expect(by['colour.png'].colour!.reason).toMatch(/already in colour/);
    expect(by['grey.jpg'].colour).toMatchObject({ colour: false, reason: 'black and white' });
    expect(by['sepia.jpg'].colour).toMatchObject({ colour: false });

    const skipped = await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe: colorize,
      skipDone: true,
    });
    expect(skipped.queued).toBe(2);
    expect(skipped.skippedColour).toEqual([
      { assetId: by['colour.png'].id, name: 'colour.png', reason: by['colour.png'].colour!.reason },
    ]);
    // A recipe that adds no colour is not concerned.
    await svc.idle();
    const restore = await svc.startBatch({
      target: { kind: 'assets', ids: [by['colour.png'].id] },
      recipe: { ops: ['restore'], options: {}, watermark: false },
      skipDone: true,
    });
    expect(restore.skippedColour).toEqual([]);
    expect(restore.queued).toBe(1);
    await svc.idle();
    const anyway = await svc.startBatch({
      target: { kind: 'assets', ids: [by['colour.png'].id] },
      recipe: colorize,
      skipDone: true,
      colourInputs: 'colorize',
    });
    expect(anyway.queued).toBe(1);
    expect(anyway.skippedColour).toEqual([]);
    await svc.idle();
  });

  it('assets imported before the check (no verdict) are measured when opened or batched', async () => {
    const p = svc.createProject({ name: 'old' });
    const colour = join(dir, 'old-colour.png');
    await writePhoto(colour, 64, 48, 5);
    const [a] = (await svc.importAssets({ projectId: p.id, paths: [colour] })).added;
    svc.db.prepare('UPDATE assets SET colour = NULL').run();
    expect(svc.getAsset({ id: a.id }).asset.colour).toBeNull();
    await svc.measureAsset(a.id);
    expect(svc.getAsset({ id: a.id }).asset.colour?.colour).toBe(true);
    svc.db.prepare('UPDATE assets SET colour = NULL').run();
    const r = await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe: colorize,
      skipDone: true,
    });
    expect(r.skippedColour.map((s) => s.name)).toEqual(['old-colour.png']);
    expect(r.batch).toBeNull();
  });

  it.skipIf(!haveFfmpeg())('films are judged from sampled frames at import', async () => {
    const p = svc.createProject({ name: 'film' });
    const film = join(dir, 'home-movie.mp4');
    writeVideo(film);
    const [a] = (await svc.importAssets({ projectId: p.id, paths: [film] })).added;
    expect(a.kind).toBe('video');
    expect(a.colour?.colour).toBe(true);
    expect(a.colour?.reason).toMatch(/sampled frames/);
  });
});
