import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { conventionModel } from '../helpers/catalog-fixtures';
import {
  makePhotoFolder,
  openPage,
  type Server,
  SHOTS,
  startServer,
  tearDownE2e,
  chromiumHere,
  e2eDirs,
  type E2eDirs,
} from './fixtures';

/**
 * The renderer, built, in Debian's Chromium, against the shipped headless server (real SQLite, real
 * engine running generated ONNX models). One user session from an empty library to a restart.
 */

let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let folder: { photos: string[]; corrupt: string };
let dirs: E2eDirs;
const consoleErrors: string[] = [];
/** While the server restarts, the old page's event stream reconnecting to a dead port is expected. */
let restarting = false;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

/** Both images of the compare view have decoded pixels. */
async function imagesLoaded(): Promise<{ before: number; after: number; afterSrc: string }> {
  return page.evaluate(async () => {
    const get = (id: string) => document.querySelector<HTMLImageElement>(`[data-testid="${id}"]`);
    for (const img of [get('before-image'), get('after-image')])
      if (img && !img.complete) await img.decode().catch(() => {});
    return {
      before: get('before-image')?.naturalWidth ?? 0,
      after: get('after-image')?.naturalWidth ?? 0,
      afterSrc: get('after-image')?.getAttribute('src') ?? '',
    };
  });
}

const haveChromium = chromiumHere();

beforeAll(async () => {
  if (!haveChromium) return;
  ({ dir, dirs } = e2eDirs(''));
  folder = await makePhotoFolder(join(dir, 'Grandma scans'));
  server = await startServer(dirs);
  ({ browser, page } = await openPage(consoleErrors, () => !restarting));
}, 120_000);

tearDownE2e('e2e', () => ({ browser, server, dir }));

describe.skipIf(!haveChromium)('Tintype in a browser against the headless server', () => {
  it('creates a project and imports a folder (recursively, the damaged file flagged)', async () => {
    await page.goto(server.url);
    await page.getByTestId('first-project').click();
    await page.getByTestId('project-name').fill('Grandma’s album');
    await page.getByTestId('create-project').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Grandma’s album');
    // The token left the address bar once read.
    expect(page.url()).not.toContain('token');

    await page.getByTestId('import-button').click();
    await page.getByTestId('import-paths').fill(join(dir, 'Grandma scans'));
    await page.getByTestId('import-run').click();
    await expect
      .poll(() => page.getByTestId('import-report').textContent(), { timeout: 30_000 })
      .toContain('Imported 4 items');
    await shot('01-import-report');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(4);
    expect(
      await page.locator('[data-testid="asset-card"][data-status="unreadable"]').getAttribute('data-name'),
    ).toBe('damaged.jpg');
    // Thumbnails are served through /media and decode.
    const thumbs = await page.locator('[data-testid="asset-card"] img').evaluateAll((imgs) =>
      Promise.all(
        (imgs as HTMLImageElement[]).map((i) =>
          i.decode().then(
            () => i.naturalWidth,
            () => 0,
          ),
        ),
      ),
    );
    expect(thumbs.length).toBe(3);
    expect(thumbs.every((w) => w > 100)).toBe(true);
    await page.getByTestId('search').fill('1950s');
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(2);
    await page.getByTestId('search').fill('');
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(4);
    await shot('02-library');
  });

  it('previews live while the render size moves, sweeps sizes, renders and compares', async () => {
    await page.locator('[data-testid="asset-card"][data-name="portrait.jpg"]').click();
    await expect
      .poll(async () => (await imagesLoaded()).afterSrc, { timeout: 30_000 })
      .toContain('/media/preview/');
    const first = await imagesLoaded();
    expect(first.before).toBeGreaterThan(100);
    expect(first.after).toBeGreaterThan(100);
    expect(await page.getByTestId('render-factor').textContent()).toBe('288 px · render_factor 18');

    // Two steps of 8 px up: a new preview at 304 px (render_factor 19).
    const thumb = page.locator('[data-testid="render-size"] [role="slider"]');
    await thumb.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expect
      .poll(() => page.getByTestId('render-factor').textContent())
      .toBe('304 px · render_factor 19');
    expect(await page.getByTestId('asset-title').textContent()).toBe('portrait.jpg'); // the arrows moved the slider, not to the next photo
    await expect
      .poll(async () => (await imagesLoaded()).afterSrc, { timeout: 30_000 })
      .not.toBe(first.afterSrc);

    await page.getByTestId('sweep-button').click();
    await expect
      .poll(() => page.locator('[data-testid="sweep-strip"] img').count(), { timeout: 60_000 })
      .toBe(5);
    const sweepWidths = await page.locator('[data-testid="sweep-strip"] img').evaluateAll((imgs) =>
      Promise.all(
        (imgs as HTMLImageElement[]).map((i) =>
          i.decode().then(
            () => i.naturalWidth,
            () => 0,
          ),
        ),
      ),
    );
    expect(sweepWidths.every((w) => w > 50)).toBe(true);
    await page.getByTestId('sweep-256').click();
    await expect
      .poll(() => page.getByTestId('render-factor').textContent())
      .toBe('256 px · render_factor 16');
    await shot('03-asset-preview-sweep');

    await page.getByTestId('render-button').click();
    await expect
      .poll(async () => (await imagesLoaded()).afterSrc, { timeout: 60_000 })
      .toContain('/media/render/');
    const rendered = await imagesLoaded();
    expect(rendered.after).toBe(first.before); // full size, same as the original's display copy
    await shot('04-compare-slider');

    await page.getByText('Side by side').click();
    await expect.poll(() => page.getByTestId('compare-side').count()).toBe(1);
    await page.keyboard.press('Equal');
    await page.keyboard.press('Equal');
    await shot('05-compare-side-zoomed');
    // Zoom is one state for both panes: both images carry the same transform.
    const transforms = await page
      .locator('[data-testid="compare-side"] [data-layer]')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    expect(transforms.length).toBe(2);
    expect(transforms[0]).toBe(transforms[1]);
    expect(transforms[0]).toContain('scale(1.5625)');
  });

  it('exports the render as a 16-bit TIFF', async () => {
    const exportDir = join(dir, 'exported');
    await page.locator('[data-testid^="export-render-"]').first().click();
    await page.getByTestId('export-format').click();
    await page.getByRole('option', { name: 'TIFF, 16-bit' }).click();
    await page.getByTestId('export-folder').fill(exportDir);
    await page.getByTestId('export-run').click();
    await expect
      .poll(() => page.getByTestId('export-result').textContent(), { timeout: 30_000 })
      .toContain('1 file written');
    await shot('06-export');
    const file = join(exportDir, 'portrait-tintype.tif');
    expect(existsSync(file)).toBe(true);
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.depth, meta.channels]).toEqual(['tiff', 'ushort', 3]);
    await page.keyboard.press('Escape');
  });

  it('batches the project: done items skipped, the damaged file fails alone', async () => {
    await page.keyboard.press('Escape'); // back to the library
    await expect.poll(() => page.getByTestId('library-view').count()).toBe(1);
    await api('app.stats', { reset: true });
    // Any queue snapshot asked for once the batch starts answers late, after the batch has finished: the
    // panel must still end on the finished state the events carried (an older panel reloaded on every
    // event, let the stale answer land last and froze the batch as running; CI caught it under load).
    let lateAnswer: Promise<void> | null = null;
    await page.route('**/api/jobs.list', async (route) => {
      const response = await route.fetch().catch(() => null);
      if (!response) return; // the page went on without it
      if (!lateAnswer && (route.request().postDataJSON() as { limit?: number }).limit !== 1) {
        lateAnswer = new Promise((r) => setTimeout(r, 2500));
        await lateAnswer;
      }
      // A request still in here when the route is removed below was already let through by unroute.
      await route.fulfill({ response }).catch(() => {});
    });
    await page.getByTestId('batch-button').click();
    await page.getByText('Whole project').click();
    await page.getByTestId('batch-start').click();
    // The single render from the asset view was the first batch; this one lands on top of it.
    await expect.poll(() => page.getByTestId('queue-batch').count(), { timeout: 10_000 }).toBe(2);
    const batch = page.locator('[data-testid="queue-batch"]').first();
    expect(await batch.getByText('colorize · 3 files').count()).toBe(1);
    await expect.poll(() => batch.getAttribute('data-finished'), { timeout: 60_000 }).toBe('true');
    // The late snapshot has landed and been drawn; the batch must still read finished.
    await lateAnswer;
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 100))));
    await page.unroute('**/api/jobs.list');
    expect(await batch.getAttribute('data-finished')).toBe('true');
    expect(await batch.getAttribute('data-done')).toBe('2');
    expect(await batch.getAttribute('data-failed')).toBe('1');
    const failed = page.locator('[data-testid="queue-job"][data-status="failed"]');
    expect(await failed.getAttribute('data-name')).toBe('damaged.jpg');
    expect(await failed.getByTestId('job-error').textContent()).toContain(folder.corrupt);
    await expect
      .poll(() => page.locator('[data-testid="asset-card"][data-status="rendered"]').count())
      .toBe(3);
    await shot('07-batch-done');

    // How responsive the server stayed while the batch rendered (the goal, p99 ≤ 50 ms, is tracked in docs/app.md).
    const stats = await api<{ eventLoop: { p99Ms: number; maxMs: number; samples: number } }>('app.stats');
    expect(stats.eventLoop.samples).toBeGreaterThan(0);
    writeFileSync(join(SHOTS, 'event-loop-during-batch.json'), JSON.stringify(stats, null, 2));
  });

  it('restarts the server and finds the library intact', async () => {
    restarting = true;
    await server.stop();
    server = await startServer(dirs);
    await page.goto(server.url);
    restarting = false;
    await expect
      .poll(() => page.getByTestId('project-title').textContent(), { timeout: 30_000 })
      .toBe('Grandma’s album');
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(4);
    expect(await page.locator('[data-testid="asset-card"][data-status="rendered"]').count()).toBe(3);
    expect(await page.locator('[data-testid="asset-card"][data-status="unreadable"]').count()).toBe(1);
    await page.locator('[data-testid="asset-card"][data-name="portrait.jpg"]').click();
    await expect
      .poll(async () => (await imagesLoaded()).afterSrc, { timeout: 30_000 })
      .toContain('/media/render/');
    expect(
      await page.locator('[data-testid^="history-"]').filter({ hasText: 'colorize' }).count(),
    ).toBeGreaterThanOrEqual(1);
    await page.getByTestId('theme-toggle').click();
    await shot('08-after-restart-dark');
  });

  it('shows installed models and the catalog in the model manager', async () => {
    await page.getByTestId('models-button').click();
    const rows = page.getByTestId('model-row');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    for (const id of ['e2e-colorize', 'e2e-smooth', 'e2e-cubic2x']) {
      expect(
        await page.locator(`[data-testid="model-row"][data-id="${id}"]`).getByText('installed').count(),
      ).toBe(1);
    }
    // Catalog entries not on disk offer an install (not clicked: this machine has no internet).
    expect(await page.getByTestId('model-install').count()).toBeGreaterThan(0);
    await shot('09-models');
    await page.keyboard.press('Escape');
    expect(consoleErrors).toEqual([]);
  });

  it('imports a custom .onnx through the wizard, with errors shown inline', async () => {
    expect(consoleErrors).toEqual([]);
    const junk = join(dir, 'notes.onnx');
    writeFileSync(junk, 'not a model');
    const file = join(dir, 'My Restorer.onnx');
    writeFileSync(file, conventionModel({ inRange: [0, 1], out: 'rgb', outRange: [0, 1], multiple: 8 }));
    await page.getByTestId('models-button').click();
    await page.getByTestId('models-import-onnx').click();
    await page.getByTestId('onnx-path').fill(junk);
    await page.getByTestId('onnx-probe').click();
    await expect.poll(() => page.getByTestId('onnx-error').textContent()).toContain(junk);

    await page.getByTestId('onnx-path').fill(file);
    await page.getByTestId('onnx-probe').click();
    await expect
      .poll(() => page.getByTestId('onnx-id').inputValue(), { timeout: 30_000 })
      .toBe('my-restorer');
    expect(await page.getByTestId('onnx-task').inputValue()).toMatch(/restore/i);
    await shot('10-import-onnx');
    // A size rule the model does not follow is refused with the reason; fixed, it imports.
    await page.getByTestId('onnx-multiple').fill('12');
    await page.getByTestId('onnx-import').click();
    await expect.poll(() => page.getByTestId('onnx-error').textContent()).toMatch(/fails to run/);
    await page.getByTestId('onnx-multiple').fill('8');
    await page.getByTestId('onnx-license').fill('MIT');
    await page.getByTestId('onnx-import').click();
    await expect.poll(() => page.getByTestId('models-imported').textContent()).toContain('My Restorer');
    const row = page.locator('[data-testid="model-row"][data-id="my-restorer"]');
    await expect.poll(() => row.getByText('installed').count()).toBe(1);
    expect(await row.getByText('MIT').count()).toBe(1);
    await page.keyboard.press('Escape');
    // The browser logs the two refusals above (HTTP 500 answers); nothing else went wrong.
    expect(consoleErrors.splice(0)).toEqual([
      expect.stringMatching(/status of 500/),
      expect.stringMatching(/status of 500/),
    ]);
  });
});
