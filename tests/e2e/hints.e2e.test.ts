import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveRaster } from '../helpers/images';
import {
  installTestModels,
  openPage,
  requireBuild,
  type Server,
  SHOTS,
  startServer,
  tearDownE2e,
  CHROMIUM_MISSING,
} from './fixtures';
import { skipWithout } from '../helpers/system-tools';

/**
 * Colour hints in the app (issue #17), in Debian's Chromium against the shipped server: paint a
 * stroke on the photo, see the live preview change where it was painted (and not elsewhere),
 * render, and find the hint in the render's history. Screenshot: test-results/e2e/hints-*.png.
 */
let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let assetId = 0;
const consoleErrors: string[] = [];
const W = 640;
const H = 480;

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

const haveChromium = !skipWithout('e2e', CHROMIUM_MISSING);

beforeAll(async () => {
  if (!haveChromium) return;
  requireBuild();
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'tintype-e2e-hints-'));
  const dirs = {
    dataDir: join(dir, 'data'),
    libraryDir: join(dir, 'library'),
    modelsDir: join(dir, 'models'),
  };
  installTestModels(dirs.modelsDir);
  // Left half dark, right half light: the test colorizer makes them cool and warm.
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = x < W / 2 ? 70 : 190;
  mkdirSync(join(dir, 'photos'));
  await saveRaster(join(dir, 'photos', 'halves.png'), { width: W, height: H, channels: 1, depth: 8, data });
  server = await startServer(dirs);
  const project = await api<{ id: number }>('projects.create', { name: 'Hints' });
  const report = await api<{ added: { id: number }[] }>('assets.import', {
    projectId: project.id,
    paths: [join(dir, 'photos', 'halves.png')],
  });
  assetId = report.added[0].id;
  ({ browser, page } = await openPage(consoleErrors));
}, 120_000);

tearDownE2e('e2e', () => ({ browser, server, dir }));

/** Mean R − B of the painting surface's picture over a box given in fractions of it. */
function warmth(box: [number, number, number, number]): Promise<number> {
  return page.evaluate(async ([x0, y0, x1, y1]) => {
    const img = document.querySelector('[data-testid="hint-image"]') as HTMLImageElement;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let s = 0;
    let n = 0;
    for (let y = Math.floor(y0 * c.height); y < y1 * c.height; y++)
      for (let x = Math.floor(x0 * c.width); x < x1 * c.width; x++) {
        const i = (y * c.width + x) * 4;
        s += d[i] - d[i + 2];
        n++;
      }
    return s / n;
  }, box);
}

describe.skipIf(!haveChromium)('colour hints in the photo view', () => {
  it('paints a stroke, the live preview changes there, the render keeps the hint in its history', async () => {
    await page.goto(server.url);
    await page.evaluate(() =>
      localStorage.setItem(
        'tintype.recipe',
        JSON.stringify({
          ops: ['colorize'],
          options: { models: { colorize: 'e2e-colorize' } },
          watermark: false,
        }),
      ),
    );
    await page.reload();
    await page
      .locator('[data-testid="asset-card"][data-name="halves.png"] [data-testid="asset-open"]')
      .click();
    // The first live preview lands, then the hint tool paints over it.
    await expect.poll(() => page.getByTestId('after-image').count(), { timeout: 60_000 }).toBe(1);
    await page.getByTestId('hint-paint').click();
    await expect.poll(() => page.getByTestId('hint-image').getAttribute('src')).toContain('preview');
    const firstSrc = await page.getByTestId('hint-image').getAttribute('src');
    const left: [number, number, number, number] = [0.1, 0.3, 0.4, 0.7];
    const right: [number, number, number, number] = [0.6, 0.3, 0.9, 0.7];
    const before = { left: await warmth(left), right: await warmth(right) };

    const colour = page.getByTestId('hint-colour');
    await colour.fill('#e02010');
    await colour.press('Enter');
    const box = (await page.getByTestId('hint-surface').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.15, box.y + box.height * 0.5);
    await page.mouse.down();
    for (let k = 1; k <= 10; k++)
      await page.mouse.move(box.x + box.width * (0.15 + 0.02 * k), box.y + box.height * (0.5 + 0.01 * k));
    await page.mouse.up();
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 stroke');
    await expect
      .poll(() => page.getByTestId('hint-image').getAttribute('src'), { timeout: 60_000 })
      .not.toBe(firstSrc);
    const after = { left: await warmth(left), right: await warmth(right) };
    // The painted (left) half turned red; the other half kept its colour.
    expect(after.left - before.left).toBeGreaterThan(40);
    expect(Math.abs(after.right - before.right)).toBeLessThan(8);
    await page.screenshot({ path: join(SHOTS, 'hints-01-painted.png') });

    // Undo takes the stroke away, redo brings it back.
    await page.getByTestId('hint-undo').click();
    expect(await page.getByTestId('hint-count').textContent()).toBe('0 strokes');
    await page.getByTestId('hint-redo').click();
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 stroke');

    await page.getByTestId('render-button').click();
    await expect
      .poll(
        async () =>
          (await api<{ renders: { status: string }[] }>('assets.get', { id: assetId })).renders[0]?.status,
        {
          timeout: 60_000,
        },
      )
      .toBe('done');
    const { renders } = await api<{
      renders: { id: number; recipe: { options: { hints?: { points: number[][]; color?: string }[] } } }[];
    }>('assets.get', { id: assetId });
    const hints = renders[0].recipe.options.hints!;
    expect(hints.length).toBe(1);
    expect(hints[0].color).toBe('#e02010');
    // In the picture's own pixels: the stroke started at 15 % of its width, mid-height.
    expect(hints[0].points[0][0]).toBeCloseTo(W * 0.15, -1);
    expect(hints[0].points[0][1]).toBeCloseTo(H * 0.5, -1);
    await expect
      .poll(() => page.getByTestId(`history-${renders[0].id}`).textContent(), { timeout: 20_000 })
      .toContain('1 hint');
    await page.screenshot({ path: join(SHOTS, 'hints-02-history.png') });
    // "Reuse these settings" brings the render's hints back to the photo.
    await page.getByTestId('hint-clear').click();
    expect(await page.getByTestId('hint-count').textContent()).toBe('0 strokes');
    await page.getByTestId(`reuse-render-${renders[0].id}`).click();
    await expect.poll(() => page.getByTestId('hint-count').textContent()).toBe('1 stroke');
    expect(consoleErrors).toEqual([]);
  }, 180_000);
});
