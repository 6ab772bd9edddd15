import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeStack16 } from '../helpers/library-helpers';
import { installWhiteDetector } from '../helpers/repair';
import {
  auditA11y,
  clipped,
  describeViolations,
  openPage,
  ROOT,
  type Server,
  SHOTS,
  startServer,
  tearDownE2e,
  chromiumHere,
  e2eDirs,
  type E2eDirs,
} from './fixtures';

/**
 * Image stacks (16-bit multi-page TIFF, as microscopes write them) in the app, in Debian's Chromium
 * against the shipped server: the same scrubber as films picks the frame that the "before" image
 * shows and the live preview is made from. Screenshots go to test-results/e2e/stack-*.png.
 */

const W = 160;
const H = 120;
const FRAMES = 6;
/** Frame p: a bright square on a dim field, further right in each frame (like a cell drifting). */
const squareX = (p: number) => Math.round(((p + 0.5) / FRAMES) * W);
const sample = (x: number, y: number, p: number) =>
  Math.abs(x - squareX(p)) < 8 && Math.abs(y - H / 2) < 8 ? 9000 : 1000 + ((x + y) % 50);

let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let stackId: number;
const consoleErrors: string[] = [];
let dirs: E2eDirs;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `stack-${name}.png`) });

/** Where the bright square is in an image of the viewer (its centre, as a fraction of the width). */
const squareAt = (testId: string) =>
  page.getByTestId(testId).evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const luma = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      if (luma > 180) {
        sum += (i / 4) % c.width;
        n++;
      }
    }
    return n > 0 ? sum / n / c.width : -1;
  });

const haveChromium = chromiumHere('e2e stacks');

beforeAll(async () => {
  if (!haveChromium) return;
  ({ dir, dirs } = e2eDirs('stack'));
  // Repair's models, for the mask painted over a frame.
  cpSync(join(ROOT, 'resources', 'models', 'tintype-fill'), join(dirs.modelsDir, 'tintype-fill'), {
    recursive: true,
  });
  installWhiteDetector(dirs.modelsDir);
  mkdirSync(join(dir, 'scope'));
  const stack = join(dir, 'scope', 'cells.tif');
  writeStack16(stack, W, H, FRAMES, sample);
  server = await startServer(dirs);
  const project = await server.api<{ id: number }>('projects.create', { name: 'Microscopy' });
  const report = await server.api<{ added: { id: number; kind: string }[] }>('assets.import', {
    projectId: project.id,
    paths: [stack],
  });
  expect(report.added.map((a) => a.kind)).toEqual(['stack']);
  stackId = report.added[0].id;
  ({ browser, page } = await openPage(consoleErrors));
}, 120_000);

tearDownE2e('e2e stacks', () => ({ browser, server, dir }));

describe.skipIf(!haveChromium)('image stacks in the app', () => {
  it('picks the frame of a stack for "before" and the live preview with the scrubber', async () => {
    await page.goto(server.url);
    await page
      .locator('[data-testid="asset-card"][data-name="cells.tif"] [data-testid="asset-open"]')
      .click();
    await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe('cells.tif');
    const bar = page.getByTestId('stack-scrubber-bar');
    const readout = page.getByTestId('stack-scrubber-readout');
    await expect.poll(() => bar.count()).toBe(1);
    expect(await page.getByTestId('film-scrubber-bar').count()).toBe(0);
    expect(await readout.textContent()).toBe(`frame 1 / ${FRAMES}`);
    const slider = bar.getByRole('slider');
    expect(await slider.getAttribute('aria-labelledby')).toBe('stack-scrubber-label');
    expect(await page.locator('#stack-scrubber-label').textContent()).toBe('Frame for the preview');
    // At first: the display copy, frame 1, and a live preview of it.
    await expect.poll(() => squareAt('before-image'), { timeout: 30_000 }).toBeCloseTo(squareX(0) / W, 1);
    await expect
      .poll(async () => (await page.getByTestId('after-image').getAttribute('src')) ?? '', {
        timeout: 60_000,
      })
      .toContain('/media/preview/');
    await expect.poll(() => squareAt('after-image'), { timeout: 30_000 }).toBeCloseTo(squareX(0) / W, 1);
    await shot('01-first-frame');

    // To the last frame from the keyboard: "before" is that frame, and the preview is made from it.
    const asked = page.waitForRequest((r) => r.url().endsWith('/api/preview.render'), { timeout: 30_000 });
    await slider.focus();
    await page.keyboard.press('End');
    expect(await readout.textContent()).toBe(`frame ${FRAMES} / ${FRAMES}`);
    expect(await slider.getAttribute('aria-valuetext')).toBe(`frame ${FRAMES} of ${FRAMES}`);
    expect(((await asked).postDataJSON() as { page?: number }).page).toBe(FRAMES - 1);
    const last = new RegExp(`/media/preview/p-s${stackId}-[0-9a-f]{8}-n${FRAMES - 1}\\.jpg`);
    await expect
      .poll(async () => (await page.getByTestId('before-image').getAttribute('src')) ?? '', {
        timeout: 30_000,
      })
      .toMatch(last);
    expect(await squareAt('before-image')).toBeCloseTo(squareX(FRAMES - 1) / W, 1);
    await expect
      .poll(async () => (await page.getByTestId('after-image').getAttribute('src')) ?? '', {
        timeout: 60_000,
      })
      .toMatch(new RegExp(`/media/preview/p-${stackId}-s${stackId}-[0-9a-f]{8}-n${FRAMES - 1}-`));
    await expect.poll(() => page.getByTestId('after-pending').count(), { timeout: 60_000 }).toBe(0);
    expect(await squareAt('after-image')).toBeCloseTo(squareX(FRAMES - 1) / W, 1);
    await shot('02-last-frame');

    // One back: frame 5.
    await page.keyboard.press('ArrowLeft');
    expect(await readout.textContent()).toBe(`frame ${FRAMES - 1} / ${FRAMES}`);
    await expect
      .poll(() => squareAt('before-image'), { timeout: 30_000 })
      .toBeCloseTo(squareX(FRAMES - 2) / W, 1);
    await expect
      .poll(async () => (await page.getByTestId('after-image').getAttribute('src')) ?? '', {
        timeout: 60_000,
      })
      .toMatch(new RegExp(`-n${FRAMES - 2}-`));
    await expect
      .poll(() => squareAt('after-image'), { timeout: 30_000 })
      .toBeCloseTo(squareX(FRAMES - 2) / W, 1);

    // A frame the stack does not have is refused by the API with the file named.
    await expect(server.api('stack.frame', { assetId: stackId, page: FRAMES })).rejects.toThrow(
      new RegExp(`cells\\.tif: has frames 1 to ${FRAMES}, not ${FRAMES + 1}`),
    );

    // Nothing cut off at the smallest supported window, and no serious accessibility problem.
    await page.setViewportSize({ width: 1024, height: 700 });
    try {
      await expect.poll(() => clipped(page)).toEqual([]);
      await shot('03-1024x700');
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
    const serious = await auditA11y(page);
    expect(serious, describeViolations(serious).join('\n')).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('paints the repair mask over the frame the scrubber chose, which the preview is made from', async () => {
    await page.goto(server.url);
    await page.evaluate(() =>
      localStorage.setItem(
        'tintype.recipe',
        JSON.stringify({ ops: ['repair'], options: {}, watermark: false }),
      ),
    );
    await page.reload();
    await page
      .locator('[data-testid="asset-card"][data-name="cells.tif"] [data-testid="asset-open"]')
      .click();
    const slider = page.getByTestId('stack-scrubber-bar').getByRole('slider');
    await expect.poll(() => slider.count()).toBe(1);
    await slider.focus();
    await page.keyboard.press('End');
    await expect
      .poll(() => squareAt('before-image'), { timeout: 30_000 })
      .toBeCloseTo(squareX(FRAMES - 1) / W, 1);
    await page.getByTestId('mask-edit').click();
    await expect.poll(() => page.getByTestId('hint-image').count(), { timeout: 30_000 }).toBe(1);
    // The painting surface shows the last frame (its square far right), not the display copy's
    // first frame; the live preview of the repair is made from that frame too.
    await expect
      .poll(() => squareAt('hint-image'), { timeout: 30_000 })
      .toBeCloseTo(squareX(FRAMES - 1) / W, 1);
    await shot('04-mask-on-last-frame');
  });
});
