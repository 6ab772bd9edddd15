import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveRaster } from '../helpers/images';
import { installWhiteDetector } from '../helpers/repair';
import {
  openPage,
  ROOT,
  type Server,
  SHOTS,
  startServer,
  tearDownE2e,
  chromiumHere,
  e2eDirs,
} from './fixtures';

/**
 * The repair mask tool in the app (issue #19), in Debian's Chromium against the shipped server: the
 * mask repair found is laid over the photo, a brush stroke adds to it, an eraser stroke takes part
 * of it away, each edit's live preview answers the new mask, and the render is made with the edited
 * mask and records the strokes in its history. Nothing waits on slowness: every step polls for the
 * state it needs. Models: the bundled classical fill and the test-only white detector (it marks
 * pure white, which is the scratch drawn here). Screenshots: test-results/e2e/mask-*.png.
 */
let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let assetId = 0;
let photo = '';
const consoleErrors: string[] = [];
const W = 640;
const H = 480;
// A white scratch across the middle (rows 238..242) and a dark speck the detector does not see.
const SCRATCH = { y0: 238, y1: 243, x0: 60, x1: 580 };
const SPECK = { x: 160, y: 120, r: 4 };

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

const haveChromium = chromiumHere();

beforeAll(async () => {
  if (!haveChromium) return;
  const { dirs, dir: made } = e2eDirs('mask', { models: false });
  dir = made;
  mkdirSync(dirs.modelsDir, { recursive: true });
  cpSync(join(ROOT, 'resources', 'models', 'tintype-fill'), join(dirs.modelsDir, 'tintype-fill'), {
    recursive: true,
  });
  installWhiteDetector(dirs.modelsDir);
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = 110 + Math.round(30 * Math.sin(x / 40) * Math.cos(y / 50));
      const white = y >= SCRATCH.y0 && y < SCRATCH.y1 && x >= SCRATCH.x0 && x < SCRATCH.x1;
      const speck = Math.hypot(x - SPECK.x, y - SPECK.y) <= SPECK.r;
      const px = white ? [255, 255, 255] : speck ? [15, 15, 15] : [v, v - 8, v - 16];
      data.set(px, (y * W + x) * 3);
    }
  mkdirSync(join(dir, 'photos'));
  photo = join(dir, 'photos', 'scratched.png');
  await saveRaster(photo, { width: W, height: H, channels: 3, depth: 8, data });
  server = await startServer(dirs);
  const project = await api<{ id: number }>('projects.create', { name: 'Mask' });
  const report = await api<{ added: { id: number }[] }>('assets.import', {
    projectId: project.id,
    paths: [photo],
  });
  assetId = report.added[0].id;
  ({ browser, page } = await openPage(consoleErrors));
}, 120_000);

tearDownE2e('e2e', () => ({ browser, server, dir }));

/** The overlay's alpha (the mask, 0..255) at points given in the photo's pixels, once it has loaded. */
function maskAt(points: [number, number][]): Promise<number[]> {
  return page.evaluate(
    async ([pts, w, h]) => {
      const img = document.querySelector('[data-testid="brush-overlay"]') as HTMLImageElement;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      return pts.map(([x, y]) => {
        const px = Math.floor((x / w) * c.width);
        const py = Math.floor((y / h) * c.height);
        return g.getImageData(px, py, 1, 1).data[3];
      });
    },
    [points, W, H] as const,
  );
}

/** A drag across the painting surface between two points in the photo's pixels. */
async function drag(from: [number, number], to: [number, number]): Promise<void> {
  const box = (await page.getByTestId('hint-surface').boundingBox())!;
  const at = ([x, y]: [number, number]) =>
    [box.x + (x / W) * box.width, box.y + (y / H) * box.height] as const;
  await page.mouse.move(...at(from));
  await page.mouse.down();
  for (let k = 1; k <= 10; k++)
    await page.mouse.move(
      ...at([from[0] + ((to[0] - from[0]) * k) / 10, from[1] + ((to[1] - from[1]) * k) / 10]),
    );
  await page.mouse.up();
}

const overlaySrc = () => page.getByTestId('brush-overlay').getAttribute('src');

describe.skipIf(!haveChromium)('the repair mask tool in the photo view', () => {
  it('shows the found mask, adds with the brush, removes with the eraser, renders with the edits', async () => {
    await page.goto(server.url);
    await page.evaluate(() =>
      localStorage.setItem(
        'tintype.recipe',
        JSON.stringify({ ops: ['repair'], options: {}, watermark: false }),
      ),
    );
    await page.reload();
    await page
      .locator('[data-testid="asset-card"][data-name="scratched.png"] [data-testid="asset-open"]')
      .click();
    await expect.poll(() => page.getByTestId('after-image').count(), { timeout: 60_000 }).toBe(1);
    await page.getByTestId('mask-edit').click();
    await expect.poll(() => page.getByTestId('brush-overlay').count(), { timeout: 60_000 }).toBe(1);

    // The detected mask: the scratch is in it, the speck and the plain picture are not.
    const scratchLeft: [number, number] = [200, 240];
    const scratchRight: [number, number] = [500, 240];
    const speck: [number, number] = [SPECK.x, SPECK.y];
    const plain: [number, number] = [320, 400];
    expect(await maskAt([scratchLeft, scratchRight, speck, plain])).toEqual([255, 255, 0, 0]);
    await page.screenshot({ path: join(SHOTS, 'mask-01-found.png') });

    // A brush stroke over the speck adds it.
    let before = await overlaySrc();
    await drag([SPECK.x - 20, SPECK.y], [SPECK.x + 20, SPECK.y]);
    await expect.poll(() => page.getByTestId('mask-count').textContent()).toBe('1 added · 0 erased');
    await expect.poll(overlaySrc, { timeout: 60_000 }).not.toBe(before);
    expect(await maskAt([scratchLeft, scratchRight, speck, plain])).toEqual([255, 255, 255, 0]);

    // The eraser over the right part of the scratch takes it out of the mask.
    await page.getByTestId('mask-mode').getByText('Eraser: keep').click();
    before = await overlaySrc();
    await drag([440, 240], [560, 240]);
    await expect.poll(() => page.getByTestId('mask-count').textContent()).toBe('1 added · 1 erased');
    await expect.poll(overlaySrc, { timeout: 60_000 }).not.toBe(before);
    expect(await maskAt([scratchLeft, scratchRight, speck, plain])).toEqual([255, 0, 255, 0]);
    await page.screenshot({ path: join(SHOTS, 'mask-02-edited.png') });

    await page.getByTestId('render-button').click();
    await expect
      .poll(
        async () =>
          (await api<{ renders: { status: string }[] }>('assets.get', { id: assetId })).renders[0]?.status,
        { timeout: 60_000 },
      )
      .toBe('done');
    const { renders } = await api<{
      renders: {
        id: number;
        outputPath: string;
        recipe: { options: { maskEdits?: { points: number[][]; erase?: boolean }[] } };
      }[];
    }>('assets.get', { id: assetId });
    const edits = renders[0].recipe.options.maskEdits!;
    expect(edits.map((s) => !!s.erase)).toEqual([false, true]);
    // In the photo's own pixels: the brush started 20 px left of the speck.
    expect(edits[0].points[0][0]).toBeCloseTo(SPECK.x - 20, -1);
    expect(edits[0].points[0][1]).toBeCloseTo(SPECK.y, -1);
    await expect
      .poll(() => page.getByTestId(`history-${renders[0].id}`).textContent(), { timeout: 20_000 })
      .toContain('1 stroke, 1 erased');

    // The render used the edited mask: the speck and the left of the scratch are filled, the erased
    // right part of the scratch is kept as it was.
    const out = await sharp(renders[0].outputPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const px = ([x, y]: [number, number]) => out.data[(y * out.info.width + x) * out.info.channels];
    expect([out.info.width, out.info.height]).toEqual([W, H]);
    expect(px(scratchLeft)).toBeLessThan(200);
    expect(px(speck)).toBeGreaterThan(60);
    expect(px(scratchRight)).toBe(255);
    await page.screenshot({ path: join(SHOTS, 'mask-03-rendered.png') });
    expect(consoleErrors).toEqual([]);
  }, 180_000);
});
