import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatch, serviceHandlers } from '../../src/library/dispatch';
import { LibraryService } from '../../src/library/service';
import { sharpProcessor, testCatalog, writePhoto, writeStack16 } from '../helpers/library-helpers';

/**
 * A stack's frame for the item view's scrubber: each frame as its own display copy (16-bit stretched
 * to be visible), the base of the live preview when chosen; a frame it does not have is refused.
 */

const W = 40;
const H = 30;
/** Frame p is bright in column band p (of 4), dim elsewhere. */
const sample = (x: number, _y: number, p: number) => (Math.floor((x / W) * 4) === p ? 6000 : 500);

let dir: string;
let svc: LibraryService;
let stackId: number;
let photoId: number;

const call = async <T>(method: string, payload: unknown): Promise<T> => {
  const r = await dispatch(serviceHandlers(svc), method, payload, { validateResponses: true });
  if (!r.ok) throw new Error(r.error.message);
  return r.value as T;
};

/** Which quarter of the picture is the bright one. */
async function brightBand(path: string): Promise<number> {
  const { data, info } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
  const sums = [0, 0, 0, 0];
  for (let y = 0; y < info.height; y++)
    for (let x = 0; x < info.width; x++) sums[Math.floor((x / info.width) * 4)] += data[y * info.width + x];
  return sums.indexOf(Math.max(...sums));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-stack-frame-'));
  writeStack16(join(dir, 'cells.tif'), W, H, 4, sample);
  await writePhoto(join(dir, 'photo.png'), 40, 30, 2, true);
  svc = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor(),
    catalog: testCatalog,
    mode: 'server',
    version: 'test',
  });
  svc.start();
  const p = svc.createProject({ name: 'Scope' });
  const r = await svc.importAssets({
    projectId: p.id,
    paths: [join(dir, 'cells.tif'), join(dir, 'photo.png')],
  });
  stackId = r.added.find((a) => a.name === 'cells.tif')!.id;
  photoId = r.added.find((a) => a.name === 'photo.png')!.id;
});
afterAll(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a stack frame for the scrubber', () => {
  it('gives each frame as a stretched display copy', async () => {
    for (const page of [0, 2, 3]) {
      const f = await call<{ media: string; width: number; height: number; page: number }>('stack.frame', {
        assetId: stackId,
        page,
      });
      expect(f).toMatchObject({
        width: W,
        height: H,
        page,
        media: expect.stringMatching(/^preview\/p-s\d+-/),
      });
      const path = svc.resolveMedia(f.media)!.path;
      expect(await brightBand(path)).toBe(page);
      // Stretched: the 16-bit frame's bright band is near white, not the raw 6000/65535 grey.
      expect((await sharp(path).stats()).channels[0].max).toBeGreaterThan(200);
    }
  });

  it('makes the live preview from the chosen frame', async () => {
    const recipe = { ops: ['restore'], options: {}, watermark: false };
    const p = await call<{ media: string; superseded: boolean }>('preview.render', {
      assetId: stackId,
      recipe,
      maxEdge: 64,
      page: 3,
    });
    expect(p.superseded).toBe(false);
    expect(await brightBand(svc.resolveMedia(p.media)!.path)).toBe(3);
    const first = await call<{ media: string }>('preview.render', { assetId: stackId, recipe, maxEdge: 64 });
    expect(first.media).not.toBe(p.media);
    expect(await brightBand(svc.resolveMedia(first.media)!.path)).toBe(0);
  });

  it('refuses a frame the stack does not have, and a photo, naming the file', async () => {
    await expect(call('stack.frame', { assetId: stackId, page: 4 })).rejects.toThrow(
      /cells\.tif: has frames 1 to 4, not 5/,
    );
    await expect(call('stack.frame', { assetId: photoId, page: 0 })).rejects.toThrow(
      /photo\.png: not an image stack \(photo\)/,
    );
    await expect(
      call('preview.render', { assetId: stackId, recipe: { ops: ['restore'] }, atSec: 1, page: 1 }),
    ).rejects.toThrow(/a film time or a stack frame, not both/);
  });
});
