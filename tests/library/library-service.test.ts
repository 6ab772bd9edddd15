import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LibraryService } from '../../src/library/service';
import { makeFolder, sharpProcessor, testCatalog, writePhoto } from '../helpers/library-helpers';

let dir: string;
let svc: LibraryService;
let calls: string[];

function open(opts: { delayMs?: number } = {}): LibraryService {
  calls = [];
  const s = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor({ calls, delayMs: opts.delayMs }),
    catalog: testCatalog,
    mode: 'server',
    version: 'test',
  });
  s.start();
  return s;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-lib-'));
  svc = open();
});
afterEach(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('library: import', () => {
  it('imports a folder recursively: photos, a 16-bit stack, a video, a damaged JPEG flagged, other files skipped', async () => {
    const f = await makeFolder(join(dir, 'src'));
    const p = svc.createProject({ name: 'Family' });
    const report = await svc.importAssets({ projectId: p.id, paths: [join(dir, 'src')] });
    expect(report.errors).toEqual([]);
    const byName = Object.fromEntries(report.added.map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'cells.tif',
        'damaged.jpg',
        'portrait.jpg',
        'wedding-01.png',
        'wedding-02.jpg',
        ...(f.video ? ['home-movie.mp4'] : []),
      ].sort(),
    );
    expect(byName['portrait.jpg']).toMatchObject({
      kind: 'photo',
      width: 48,
      height: 64,
      depth: 8,
      status: 'new',
      problem: null,
    });
    expect(byName['cells.tif']).toMatchObject({ kind: 'stack', pages: 3, depth: 16, width: 24, height: 20 });
    expect(byName['damaged.jpg'].status).toBe('unreadable');
    expect(byName['damaged.jpg'].problem).toContain(f.corrupt);
    expect(byName['damaged.jpg'].thumb).toBeNull();
    if (f.video) {
      expect(byName['home-movie.mp4']).toMatchObject({ kind: 'video', width: 64, height: 48 });
      expect(byName['home-movie.mp4'].durationSec).toBeCloseTo(1, 1);
      expect(byName['home-movie.mp4'].fps).toBeCloseTo(5, 3);
    }
    // Thumbnails are real JPEGs no larger than the thumbnail size; the original is referenced, not copied.
    const thumb = svc.resolveMedia(byName['portrait.jpg'].thumb!)!;
    expect(thumb.contentType).toBe('image/jpeg');
    expect((await sharp(thumb.path).metadata()).width).toBe(48);
    expect(byName['portrait.jpg'].path).toBe(f.photos[0]);
    const stackView = await sharp(svc.resolveMedia(byName['cells.tif'].view!)!.path).stats();
    expect(stackView.channels[0].max).toBeGreaterThan(200); // the dim 16-bit stack is stretched to be visible

    // Importing again finds only duplicates (by content, not by name).
    const again = await svc.importAssets({ projectId: p.id, paths: [join(dir, 'src')] });
    expect(again.added).toEqual([]);
    expect(again.duplicates.length).toBe(report.added.length);
  });

  it('reports what it cannot import, naming the file', async () => {
    const p = svc.createProject({ name: 'x' });
    const f = await makeFolder(join(dir, 'src'), { video: false });
    const r = await svc.importAssets({ projectId: p.id, paths: [f.text, join(dir, 'nope.jpg')] });
    expect(r.added).toEqual([]);
    expect(r.errors.map((e) => e.error)).toEqual([
      `${f.text}: not a supported image or video (.txt)`,
      `${join(dir, 'nope.jpg')}: no such file or folder`,
    ]);
  });

  it('searches and filters assets', async () => {
    await makeFolder(join(dir, 'src'), { video: false });
    const p = svc.createProject({ name: 'x' });
    await svc.importAssets({ projectId: p.id, paths: [join(dir, 'src')] });
    const names = (q: Parameters<LibraryService['listAssets']>[0]) => svc.listAssets(q).map((a) => a.name);
    expect(names({ projectId: p.id, query: 'wedding' })).toEqual(['wedding-01.png', 'wedding-02.jpg']);
    expect(names({ projectId: p.id, query: '1952 02' })).toEqual(['wedding-02.jpg']); // words match the folder path too
    expect(names({ projectId: p.id, kind: 'stack' })).toEqual(['cells.tif']);
    expect(names({ projectId: p.id, status: 'unreadable' })).toEqual(['damaged.jpg']);
    expect(names({ projectId: p.id, query: '100%_' })).toEqual([]);
  });

  it('copies originals into the project when the project says so, and never modifies them', async () => {
    const f = await makeFolder(join(dir, 'src'), { video: false });
    const before = readFileSync(f.photos[0]);
    const p = svc.createProject({ name: 'copies', copyOriginals: true });
    const r = await svc.importAssets({ projectId: p.id, paths: [f.photos[0]] });
    const a = r.added[0];
    expect(a.sourcePath).toBe(f.photos[0]);
    expect(a.path).not.toBe(f.photos[0]);
    expect(a.path.startsWith(svc.layout.root)).toBe(true);
    expect(readFileSync(a.path).equals(before)).toBe(true);
    expect(readFileSync(f.photos[0]).equals(before)).toBe(true);
  });
});

describe('library: projects', () => {
  it('creates, renames and deletes projects; deleting keeps the user originals and removes library files', async () => {
    const f = await makeFolder(join(dir, 'src'), { video: false });
    const a = svc.createProject({ name: 'A' });
    const b = svc.createProject({ name: 'B', copyOriginals: true });
    await svc.importAssets({ projectId: a.id, paths: [join(dir, 'src')] });
    await svc.importAssets({ projectId: b.id, paths: [f.photos[1]] });
    await svc.startBatch({
      target: { kind: 'project', projectId: a.id },
      recipe: { ops: ['colorize'], options: {}, watermark: false },
      skipDone: true,
      colourInputs: 'colorize', // the fixtures include colour pictures
    });
    await svc.idle();
    expect(svc.renameProject({ id: a.id, name: 'Grandma' }).name).toBe('Grandma');
    const listed = svc.listProjects().find((p) => p.id === a.id)!;
    // No render for the damaged JPEG, nor for the stack (this service has no video pipeline).
    expect(listed).toMatchObject({ name: 'Grandma', assetCount: 5, renderedCount: 3 });

    const projectDir = svc.layout.projectDir(a.id);
    expect(existsSync(join(projectDir, 'renders'))).toBe(true);
    const originals = [...f.photos, f.stack, f.corrupt].map((p) => [p, readFileSync(p)] as const);
    const res = await svc.deleteProject({ id: a.id });
    expect(res.removedFiles).toBeGreaterThan(5);
    expect(existsSync(projectDir)).toBe(false);
    for (const [p, bytes] of originals) expect(readFileSync(p).equals(bytes)).toBe(true);
    expect(svc.listProjects().map((p) => p.name)).toEqual(['B']);
    expect(svc.listJobs({ limit: 100 }).jobs).toEqual([]);

    // A project with copies: deleting removes the copies, the source file stays.
    await svc.deleteProject({ id: b.id });
    expect(existsSync(f.photos[1])).toBe(true);
    expect(() => svc.renameProject({ id: b.id, name: 'gone' })).toThrow(/no project with id/);
  });
});

describe('library: batch, queue and export', () => {
  it('renders a batch; files that fail are reported by name without stopping the rest; done files are skipped next time', async () => {
    const f = await makeFolder(join(dir, 'src'), { video: false });
    const p = svc.createProject({ name: 'x' });
    const recipe = { ops: ['colorize' as const], options: { renderSize: 288 }, watermark: false };
    const started = await svc.startBatch({
      target: { kind: 'folder', projectId: p.id, path: join(dir, 'src') },
      recipe,
      skipDone: true,
      colourInputs: 'colorize', // the fixtures include colour pictures
    });
    expect(started.import!.added.length).toBe(5);
    expect(started.queued).toBe(5);
    const events: string[] = [];
    svc.on((e) => {
      if (e.type === 'batch-done') events.push(`done ${e.batch.done}/${e.batch.failed}`);
    });
    await svc.idle();
    expect(events).toEqual(['done 3/2']);
    const { jobs, batches } = svc.listJobs({ limit: 100 });
    expect(batches[0]).toMatchObject({ total: 5, done: 3, failed: 2, queued: 0, running: 0 });
    expect(batches[0].finishedAt).not.toBeNull();
    expect(batches[0].itemsPerSec).toBeGreaterThan(0);
    const failed = jobs
      .filter((j) => j.status === 'failed')
      .sort((a, b) => a.assetName.localeCompare(b.assetName));
    expect(failed.map((j) => j.assetName)).toEqual(['cells.tif', 'damaged.jpg']);
    expect(failed[0].error).toBe(
      `${f.stack}: rendering stacks needs the video pipeline, which this build does not include`,
    );
    expect(failed[1].error).toContain(f.corrupt);

    const assets = svc.listAssets({ projectId: p.id });
    const portrait = assets.find((a) => a.name === 'portrait.jpg')!;
    expect(portrait.status).toBe('rendered');
    const render = portrait.latestRender!;
    expect(render).toMatchObject({ status: 'done', models: ['test-colorize@1.0.0'], width: 48, height: 64 });
    expect(render.recipe).toEqual(recipe);
    const out = await sharp(render.outputPath!).stats();
    expect(out.isOpaque).toBe(true);
    expect(svc.resolveMedia(render.view!)).not.toBeNull();

    // Same recipe again: everything done is skipped, only the two failures are tried again.
    const again = await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe,
      skipDone: true,
      colourInputs: 'colorize', // the fixtures include colour pictures
    });
    expect(again).toMatchObject({ queued: 2, skipped: 3 });
    await svc.idle();
    // A different recipe is not "done".
    const other = await svc.startBatch({
      target: { kind: 'assets', ids: [portrait.id] },
      recipe: { ops: ['restore'], options: {}, watermark: false },
      skipDone: true,
    });
    expect(other.queued).toBe(1);
    await svc.idle();
    expect(svc.getAsset({ id: portrait.id }).renders.length).toBe(2);
  });

  it('cancels queued and running jobs and retries them', async () => {
    await svc.close();
    svc = open({ delayMs: 300 });
    const f = await makeFolder(join(dir, 'src'), { video: false });
    const p = svc.createProject({ name: 'x' });
    await svc.importAssets({ projectId: p.id, paths: f.photos });
    const { batch } = await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe: { ops: ['upscale'], options: { scale: 2 }, watermark: false },
      skipDone: true,
    });
    await new Promise((r) => setTimeout(r, 50));
    const running = svc.listJobs({ limit: 10 }).jobs.filter((j) => j.status === 'running');
    expect(running.length).toBe(1);
    expect(svc.cancelJobs({ batchId: batch!.id }).canceled).toBe(3);
    await svc.idle();
    const after = svc.listJobs({ limit: 10 });
    expect(after.jobs.map((j) => j.status)).toEqual(['canceled', 'canceled', 'canceled']);
    expect(after.batches[0].finishedAt).not.toBeNull();
    // The canceled running job left no render and no output file behind.
    expect(svc.listAssets({ projectId: p.id }).every((a) => a.latestRender === null)).toBe(true);
    expect(
      existsSync(join(svc.layout.projectDir(p.id), 'renders'))
        ? statSync(join(svc.layout.projectDir(p.id), 'renders')).isDirectory()
        : true,
    ).toBe(true);

    expect(svc.retryJobs({ batchId: batch!.id }).requeued).toBe(3);
    await svc.idle();
    const retried = svc.listJobs({ limit: 10 });
    expect(retried.jobs.map((j) => j.status)).toEqual(['done', 'done', 'done']);
    expect(retried.jobs.every((j) => j.attempts >= 1)).toBe(true);
    const up = svc.listAssets({ projectId: p.id }).find((a) => a.name === 'portrait.jpg')!.latestRender!;
    expect([up.width, up.height]).toEqual([96, 128]);
    expect(svc.clearFinished().removed).toBe(3);
  });

  it('exports JPEG, PNG and 16-bit TIFF without replacing existing files', async () => {
    const p = svc.createProject({ name: 'x' });
    const photo = join(dir, 'old.jpg');
    await writePhoto(photo, 40, 30, 5, true);
    await svc.importAssets({ projectId: p.id, paths: [photo] });
    await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe: { ops: ['colorize'], options: {}, watermark: false },
      skipDone: true,
      colourInputs: 'colorize', // the fixtures include colour pictures
    });
    await svc.idle();
    const render = svc.listAssets({ projectId: p.id })[0].latestRender!;
    const folder = join(dir, 'export');
    for (const format of ['jpg', 'png', 'tif'] as const) {
      const r = await svc.exportRenders({ renderIds: [render.id], folder, format, overwrite: false });
      expect(r.errors).toEqual([]);
      expect(r.files[0].path).toBe(join(folder, `old-tintype.${format}`));
    }
    const tif = await sharp(join(folder, 'old-tintype.tif')).metadata();
    expect([tif.format, tif.depth, tif.width]).toEqual(['tiff', 'ushort', 40]);
    const second = await svc.exportRenders({
      renderIds: [render.id],
      folder,
      format: 'jpg',
      overwrite: false,
    });
    expect(second.files[0].path).toBe(join(folder, 'old-tintype-2.jpg'));
    const bad = await svc.exportRenders({ renderIds: [render.id], folder, format: 'mp4', overwrite: false });
    expect(bad.errors[0].error).toBe('old.jpg is an image: export it as jpg, png or tif');
    // A folder under a file: said in words, naming the file (not "ENOTDIR").
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    const under = join(dir, 'not-a-folder', 'sub');
    const err = await svc
      .exportRenders({ renderIds: [render.id], folder: under, format: 'jpg', overwrite: false })
      .catch((e: unknown) => e as Error);
    const errorText = (e: unknown) => (e instanceof Error ? e.message : JSON.stringify(e));
    expect(errorText(err)).toContain(`${join(dir, 'not-a-folder')} is a file, not a folder`);
  });

  it('stops a running render within moments of cancel, saying "canceling" meanwhile, and keeps no output', async () => {
    await svc.close();
    svc = open({ delayMs: 20_000 });
    const events: { canceling: boolean; status: string }[] = [];
    svc.on((e) => {
      if (e.type === 'job') events.push({ canceling: e.job.canceling, status: e.job.status });
    });
    const photo = join(dir, 'slow.jpg');
    await writePhoto(photo, 64, 48);
    const p = svc.createProject({ name: 'x' });
    await svc.importAssets({ projectId: p.id, paths: [photo] });
    await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe: { ops: ['upscale'], options: { scale: 2 }, watermark: false },
      skipDone: false,
    });
    await new Promise((r) => setTimeout(r, 100));
    const [job] = svc.listJobs({ limit: 1 }).jobs;
    expect(job.status).toBe('running');
    const t0 = Date.now();
    svc.cancelJobs({ jobIds: [job.id] });
    expect(svc.listJobs({ limit: 1 }).jobs[0].canceling).toBe(true);
    await svc.idle();
    expect(Date.now() - t0).toBeLessThan(2000); // not the 20 s the render would have taken
    expect(events).toContainEqual({ canceling: true, status: 'running' });
    expect(svc.listJobs({ limit: 1 }).jobs[0].status).toBe('canceled');
    const renders = join(svc.layout.projectDir(p.id), 'renders');
    expect(existsSync(renders) ? readdirSync(renders) : []).toEqual([]);
  });

  it('a newer live preview supersedes the one still computing', async () => {
    await svc.close();
    svc = open({ delayMs: 1500 });
    const photo = join(dir, 'p.jpg');
    await writePhoto(photo, 200, 150, 2, true);
    const p = svc.createProject({ name: 'x' });
    const [asset] = (await svc.importAssets({ projectId: p.id, paths: [photo] })).added;
    const recipe = (renderSize: number) => ({
      ops: ['colorize' as const],
      options: { renderSize },
      watermark: false,
    });
    const t0 = Date.now();
    const old = svc.preview({ assetId: asset.id, recipe: recipe(256), maxEdge: 128 });
    await new Promise((r) => setTimeout(r, 200));
    const now = svc.preview({ assetId: asset.id, recipe: recipe(288), maxEdge: 128 });
    const first = await old;
    expect(first).toMatchObject({ superseded: true, media: null });
    expect(Date.now() - t0).toBeLessThan(1200); // answered when superseded, not after its render
    const second = await now;
    expect(second.superseded).toBe(false);
    expect(svc.resolveMedia(second.media!)?.contentType).toBe('image/jpeg');
  });

  it('previews at a small size and sweeps render sizes', async () => {
    const p = svc.createProject({ name: 'x' });
    const photo = join(dir, 'big.jpg');
    await writePhoto(photo, 400, 300, 2, true);
    const [asset] = (await svc.importAssets({ projectId: p.id, paths: [photo] })).added;
    const recipe = { ops: ['colorize' as const], options: { renderSize: 256 }, watermark: false };
    const pv = await svc.preview({ assetId: asset.id, recipe, maxEdge: 128 });
    expect([pv.width, pv.height]).toEqual([128, 96]);
    expect(svc.resolveMedia(pv.media!)?.contentType).toBe('image/jpeg');
    const n = calls.length;
    await svc.preview({ assetId: asset.id, recipe, maxEdge: 128 });
    expect(calls.length).toBe(n); // served from the cache
    const sweep = await svc.sweep({ assetId: asset.id, recipe, sizes: [224, 288, 352], maxEdge: 96 });
    expect(sweep.items.map((i) => i.renderSize)).toEqual([224, 288, 352]);
    expect(new Set(sweep.items.map((i) => i.media)).size).toBe(3);
  });

  it('keeps settings in the library and the library location in config.json', async () => {
    expect(svc.getSettings()).toMatchObject({
      executionProvider: 'auto',
      outputFormat: 'jpg',
      restartRequired: false,
    });
    const s = await svc.updateSettings({ theme: 'dark', threads: 2, libraryDir: join(dir, 'elsewhere') });
    expect(s).toMatchObject({
      theme: 'dark',
      threads: 2,
      libraryDir: join(dir, 'elsewhere'),
      restartRequired: true,
    });
    await svc.close();
    svc = open();
    expect(svc.layout.root).toBe(join(dir, 'elsewhere'));
    expect(svc.getSettings()).toMatchObject({ theme: 'auto', restartRequired: false }); // a new, empty library
  });
});
