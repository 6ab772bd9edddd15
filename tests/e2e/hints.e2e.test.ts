import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveRaster } from '../helpers/images';
import { openPage, type Server, SHOTS, startServer, tearDownE2e, chromiumHere, e2eDirs } from './fixtures';

/**
 * Colour hints in the app (issue #17), in Debian's Chromium against the shipped server: paint a
 * stroke on the photo, see the live preview change where it was painted (and not elsewhere),
 * render, and find the hint in the render's history; pick a colour with the eyedropper from a
 * reference colour photo opened beside the picture, paint with it, hide and show the strokes.
 * Screenshots: test-results/e2e/hints-*.png.
 */
let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let assetId = 0;
/** A second copy of the picture, for the eyedropper test (its own hints and renders). */
let refAssetId = 0;
const consoleErrors: string[] = [];
const W = 640;
const H = 480;

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

const haveChromium = chromiumHere();

beforeAll(async () => {
  if (!haveChromium) return;
  const { dirs, dir: made } = e2eDirs('hints');
  dir = made;
  // Left half dark, right half light: the test colorizer makes them cool and warm.
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = x < W / 2 ? 70 : 190;
  mkdirSync(join(dir, 'photos'));
  await saveRaster(join(dir, 'photos', 'halves.png'), { width: W, height: H, channels: 1, depth: 8, data });
  // Its sibling for the eyedropper test (its own hints and renders), a little different so the
  // library does not take it for the same photo.
  await saveRaster(join(dir, 'photos', 'eyedropper.png'), {
    width: W,
    height: H,
    channels: 1,
    depth: 8,
    data: data.map((v) => v + 4),
  });
  server = await startServer(dirs);
  const project = await api<{ id: number }>('projects.create', { name: 'Hints' });
  const report = await api<{ added: { id: number }[] }>('assets.import', {
    projectId: project.id,
    paths: [join(dir, 'photos', 'halves.png')],
  });
  assetId = report.added[0].id;
  const second = await api<{ added: { id: number }[] }>('assets.import', {
    projectId: project.id,
    paths: [join(dir, 'photos', 'eyedropper.png')],
  });
  refAssetId = second.added[0].id;
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

/** Mean sRGB of the painting surface's picture over a box given in fractions of it. */
function meanRgb(box: [number, number, number, number]): Promise<[number, number, number]> {
  return page.evaluate(async ([x0, y0, x1, y1]) => {
    const img = document.querySelector('[data-testid="hint-image"]') as HTMLImageElement;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const s = [0, 0, 0];
    let n = 0;
    for (let y = Math.floor(y0 * c.height); y < y1 * c.height; y++)
      for (let x = Math.floor(x0 * c.width); x < x1 * c.width; x++) {
        const i = (y * c.width + x) * 4;
        for (let k = 0; k < 3; k++) s[k] += d[i + k];
        n++;
      }
    return s.map((v) => v / n) as [number, number, number];
  }, box);
}

/** Hue angle (degrees) of an sRGB colour's chroma in BT.601 (B − Y, R − Y). */
function hue([r, g, b]: [number, number, number]): number {
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  return (Math.atan2(r - y, b - y) * 180) / Math.PI;
}
const hueGap = (a: number, b: number) => Math.abs(((((a - b) % 360) + 540) % 360) - 180);

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];

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

  it('picks a colour from a reference photo with the eyedropper, paints with it, hides and shows the strokes', async () => {
    // From the first test's photo back to the library, and into the second photo.
    await page.getByTestId('back-to-library').click();
    await page
      .locator('[data-testid="asset-card"][data-name="eyedropper.png"] [data-testid="asset-open"]')
      .click();
    await expect.poll(() => page.getByTestId('after-image').count(), { timeout: 60_000 }).toBe(1);
    await page.getByTestId('hint-paint').click();
    await expect.poll(() => page.getByTestId('hint-image').getAttribute('src')).toContain('preview');
    expect(await page.getByTestId('hint-count').textContent()).toBe('0 strokes');

    // A reference colour photo, opened beside the picture: blue on its left half, red on its right.
    const [blue, red] = ['#3366cc', '#cc3333'];
    const RW = 200;
    const RH = 120;
    const ref = Buffer.alloc(RW * RH * 3);
    for (let y = 0; y < RH; y++)
      for (let x = 0; x < RW; x++) ref.set(hex(x < RW / 2 ? blue : red), (y * RW + x) * 3);
    const png = await sharp(ref, { raw: { width: RW, height: RH, channels: 3 } })
      .png()
      .toBuffer();
    await page
      .getByTestId('hint-reference-file')
      .setInputFiles({ name: 'reference.png', mimeType: 'image/png', buffer: png });
    const reference = page.getByTestId('hint-reference');
    await expect
      .poll(() => reference.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth))
      .toBe(RW);
    // It opens at the foot of the side panel, which scrolls to show it whole.
    await expect
      .poll(async () => {
        const r = (await reference.boundingBox())!;
        return r.y >= 0 && r.y + r.height <= page.viewportSize()!.height;
      })
      .toBe(true);
    const picked = async (fx: number, fy: number) => {
      const r = (await reference.boundingBox())!;
      await page.mouse.click(r.x + r.width * fx, r.y + r.height * fy);
      return hex(await page.getByTestId('hint-colour').inputValue());
    };
    const near = (got: number[], want: number[]) =>
      expect(Math.max(...got.map((v, k) => Math.abs(v - want[k]))), `${got} vs ${want}`).toBeLessThanOrEqual(
        2,
      );
    // Each half gives its own colour: the red one first, so the blue is a pick, not the default.
    near(await picked(0.8, 0.6), hex(red));
    near(await picked(0.2, 0.3), hex(blue));
    await page.screenshot({ path: join(SHOTS, 'hints-03-reference.png') });

    // Paint the picked blue on the right (light, warm) half: the preview turns blue there.
    const right: [number, number, number, number] = [0.6, 0.3, 0.9, 0.7];
    const left: [number, number, number, number] = [0.1, 0.3, 0.4, 0.7];
    const before = { right: await meanRgb(right), left: await meanRgb(left) };
    const firstSrc = await page.getByTestId('hint-image').getAttribute('src');
    const box = (await page.getByTestId('hint-surface').boundingBox())!;
    const stroke = async (fx: number, fy: number) => {
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
      await page.mouse.down();
      for (let k = 1; k <= 10; k++)
        await page.mouse.move(box.x + box.width * (fx + 0.02 * k), box.y + box.height * (fy + 0.01 * k));
      await page.mouse.up();
    };
    await stroke(0.65, 0.45);
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 stroke');
    await expect
      .poll(() => page.getByTestId('hint-image').getAttribute('src'), { timeout: 60_000 })
      .not.toBe(firstSrc);
    const painted = await meanRgb(right);
    const pickedHue = hue(hex(blue));
    // Before, the right half was the model's warm colour (far from blue); now it has the blue's hue,
    // its own brightness, and the left half kept its colour.
    expect(hueGap(hue(before.right), pickedHue)).toBeGreaterThan(90);
    expect(hueGap(hue(painted), pickedHue), `hue ${hue(painted)} vs ${pickedHue}`).toBeLessThan(10);
    expect(painted[2] - painted[0]).toBeGreaterThan(before.right[2] - before.right[0] + 40);
    const left1 = await meanRgb(left);
    expect(Math.max(...left1.map((v, k) => Math.abs(v - before.left[k])))).toBeLessThan(8);
    await page.screenshot({ path: join(SHOTS, 'hints-04-picked-painted.png') });
    const strokes = page.locator('[data-testid="hint-surface"] polyline');
    expect(await strokes.count()).toBe(1);
    expect(await strokes.first().getAttribute('stroke')).toBe(blue);

    // Undo and redo by the stroke count: a second stroke, undone, redone, undone again.
    await stroke(0.7, 0.2);
    expect(await page.getByTestId('hint-count').textContent()).toBe('2 strokes');
    expect(await strokes.count()).toBe(2);
    await page.getByTestId('hint-undo').click();
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 stroke');
    expect(await strokes.count()).toBe(1);
    await page.getByTestId('hint-redo').click();
    expect(await page.getByTestId('hint-count').textContent()).toBe('2 strokes');
    await page.getByTestId('hint-undo').click();
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 stroke');
    expect(await page.getByTestId('hint-redo').isEnabled()).toBe(true);
    await expect
      .poll(async () => hueGap(hue(await meanRgb(right)), pickedHue), { timeout: 60_000 })
      .toBeLessThan(10);

    // Hide the strokes: the overlay is empty, the hint stays (count, preview, render).
    await page.getByTestId('hint-show').click();
    expect(await page.getByTestId('hint-show').textContent()).toBe('Show strokes');
    expect(await strokes.count()).toBe(0);
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 stroke');
    expect(hueGap(hue(await meanRgb(right)), pickedHue)).toBeLessThan(10);
    await page.getByTestId('render-button').click();
    await expect
      .poll(
        async () =>
          (await api<{ renders: { status: string }[] }>('assets.get', { id: refAssetId })).renders[0]?.status,
        { timeout: 60_000 },
      )
      .toBe('done');
    const { renders } = await api<{
      renders: { recipe: { options: { hints?: { color?: string }[] } } }[];
    }>('assets.get', { id: refAssetId });
    expect(renders[0].recipe.options.hints?.map((h) => h.color)).toEqual([blue]);
    // Show them again: the same stroke is back over the picture.
    await page.getByTestId('hint-show').click();
    expect(await page.getByTestId('hint-show').textContent()).toBe('Hide strokes');
    expect(await strokes.count()).toBe(1);
    expect(await strokes.first().getAttribute('stroke')).toBe(blue);
    expect(consoleErrors).toEqual([]);
  }, 240_000);
});
