import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePhoto } from '../helpers/library-helpers';
import {
  auditA11y,
  describeViolations,
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
 * Working with what is already there, in Chromium against the shipped server: photos that are
 * already in colour are flagged and left out of colorizing, the render history reuses, deletes and
 * compares renders. Screenshots go to test-results/e2e/workflow-*.png.
 */

let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let dirs: E2eDirs;
const consoleErrors: string[] = [];
const photos = { colour: '', grey: '' };
let projectId = 0;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `workflow-${name}.png`) });

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

interface Asset {
  id: number;
  name: string;
  colour: { colour: boolean; reason: string } | null;
}

const card = (name: string) => page.locator(`[data-testid="asset-card"][data-name="${name}"]`);
const openAsset = async (name: string) => {
  await card(name).getByTestId('asset-open').click();
  await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe(name);
};
const audit = async (where: string, found: string[]) => {
  for (const line of describeViolations(await auditA11y(page))) found.push(`${where}: ${line}`);
};

const haveChromium = chromiumHere();

beforeAll(async () => {
  if (!haveChromium) return;
  ({ dir, dirs } = e2eDirs('workflow'));
  photos.colour = join(dir, 'holiday-colour.png');
  photos.grey = join(dir, 'grandma.jpg');
  await writePhoto(photos.colour, 320, 240, 3);
  await writePhoto(photos.grey, 320, 240, 2, true);
  server = await startServer(dirs);
  ({ browser, page } = await openPage(consoleErrors));
  projectId = (await api<{ id: number }>('projects.create', { name: 'Mixed box' })).id;
  await api('assets.import', { projectId, paths: [photos.colour, photos.grey] });
}, 120_000);

tearDownE2e('e2e', () => ({ browser, server, dir }));

describe.skipIf(!haveChromium)('working with what is already there', () => {
  it('flags a colour photo, keeps it out of colorize unless asked, and skips it in a batch with the reason', async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(2);
    // The card says so; the black-and-white one does not.
    await expect.poll(() => card('holiday-colour.png').getByTestId('colour-badge').count()).toBe(1);
    expect(await card('grandma.jpg').getByTestId('colour-badge').count()).toBe(0);
    await openAsset('holiday-colour.png');
    // The default recipe colorizes: the warning shows and a full render waits for "anyway".
    await expect.poll(() => page.getByTestId('colour-warning').count()).toBe(1);
    expect(await page.getByTestId('colour-warning').textContent()).toMatch(/already in colour/);
    expect(await page.getByTestId('render-button').isDisabled()).toBe(true);
    expect(await page.getByTestId('render-blocked').textContent()).toMatch(/already in colour/);
    const found: string[] = [];
    await audit('colour warning', found);
    await shot('01-colour-flagged');
    await page.getByTestId('colour-anyway').click();
    expect(await page.getByTestId('render-button').isDisabled()).toBe(false);
    await page.keyboard.press('Escape');

    // A batch over the whole project leaves it out and says why.
    await page.getByTestId('batch-button').click();
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    expect(await page.getByTestId('batch-colour-anyway').isChecked()).toBe(false);
    await page.waitForTimeout(400); // the opening transition
    await audit('batch dialog', found);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/batch.start'));
    await page.getByTestId('batch-start').click();
    const started = (
      (await (await answer).json()) as {
        value: { queued: number; skippedColour: { name: string; reason: string }[] };
      }
    ).value;
    expect(started.queued).toBe(1);
    expect(started.skippedColour.map((s) => s.name)).toEqual(['holiday-colour.png']);
    await expect.poll(() => page.getByText(/1 already in colour, left out/).count()).toBeGreaterThan(0);
    expect(await page.getByText(/holiday-colour\.png/).count()).toBeGreaterThan(0);
    await shot('02-batch-skipped-colour');
    expect(found).toEqual([]);
    const [colour] = (await api<Asset[]>('assets.list', { projectId })).filter(
      (a) => a.name === 'holiday-colour.png',
    );
    expect(colour.colour?.colour).toBe(true);
    await expect
      .poll(
        async () =>
          (await api<{ jobs: { status: string }[] }>('jobs.list')).jobs.every((j) => j.status === 'done'),
        { timeout: 60_000 },
      )
      .toBe(true);
  });

  it("render history: reuses a render's settings, compares two renders side by side, deletes one (confirmed)", async () => {
    const [grey] = (await api<Asset[]>('assets.list', { projectId })).filter((a) => a.name === 'grandma.jpg');
    // A second render with other settings (the first came from the batch above).
    const second = { ops: ['colorize'], options: { renderSize: 224, saturation: 1.5 }, watermark: false };
    await api('batch.start', { target: { kind: 'assets', ids: [grey.id] }, recipe: second, skipDone: false });
    type Renders = { renders: { id: number; status: string; recipe: unknown; outputPath: string }[] };
    await expect
      .poll(async () => (await api<Renders>('assets.get', { id: grey.id })).renders.length, {
        timeout: 60_000,
      })
      .toBe(2);
    const [newer, older] = (await api<Renders>('assets.get', { id: grey.id })).renders;
    await page.keyboard.press('Escape');
    await openAsset('grandma.jpg');
    await expect
      .poll(() => page.getByTestId('render-history').locator('[data-testid^="history-"]').count())
      .toBe(2);
    // The newest render is shown; compare the older one with it: side by side, the older as "before".
    await expect
      .poll(() => page.getByTestId('after-image').getAttribute('src'))
      .toContain(`/media/render/${newer.id}`);
    await page.getByTestId(`compare-render-${older.id}`).click();
    await expect.poll(() => page.getByTestId('compare-side').count()).toBe(1);
    expect(await page.getByTestId('before-image').getAttribute('src')).toContain(`/media/render/${older.id}`);
    expect(await page.getByTestId('after-image').getAttribute('src')).toContain(`/media/render/${newer.id}`);
    expect(await page.getByText(`Render #${older.id} colorize`).count()).toBeGreaterThan(0);
    // Zoom is shared by both panes.
    await page.getByTestId('zoom-1to1').click();
    const transforms = await page
      .locator('[data-testid="before-image"], [data-testid="after-image"]')
      .evaluateAll((els) => els.map((e) => getComputedStyle(e).transform));
    expect(transforms[0]).toBe(transforms[1]);
    await page.getByTestId('zoom-fit').click();
    const found: string[] = [];
    await audit('render history', found);
    await shot('03-compare-renders');

    // Reuse: the older render's recipe goes back into the recipe panel (and the stored recipe).
    await page.getByTestId(`reuse-render-${newer.id}`).click();
    await expect
      .poll(() => page.evaluate(() => JSON.parse(localStorage.getItem('tintype.recipe') ?? '{}')))
      .toEqual(newer.recipe);
    expect(await page.getByTestId('saturation-value').textContent()).toBe('×1.50');
    await page.getByTestId(`reuse-render-${older.id}`).click();
    await expect
      .poll(() => page.evaluate(() => JSON.parse(localStorage.getItem('tintype.recipe') ?? '{}')))
      .toEqual(older.recipe);

    // Delete the older one: asked first; a "no" keeps it.
    await page.getByTestId(`delete-render-${older.id}`).click();
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    await page.waitForTimeout(400);
    await audit('delete confirmation', found);
    await shot('04-delete-confirm');
    await page.getByRole('button', { name: 'Cancel' }).last().click();
    expect(existsSync(older.outputPath)).toBe(true);
    await page.getByTestId(`delete-render-${older.id}`).click();
    await page.getByTestId('confirm-button').click();
    await expect.poll(() => page.getByTestId(`history-${older.id}`).count()).toBe(0);
    expect(existsSync(older.outputPath)).toBe(false);
    expect(existsSync(newer.outputPath)).toBe(true);
    expect((await api<Renders>('assets.get', { id: grey.id })).renders.map((r) => r.id)).toEqual([newer.id]);
    // Comparing stopped with it: "before" is the original again.
    expect(await page.getByTestId('before-image').getAttribute('src')).toContain('/media/view/');
    expect(found).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('offers the strongest catalog colorizers while only the built-in one is there; models page; default models', async () => {
    type Row = {
      id: string;
      task: string;
      installed: boolean;
      isDefault: boolean;
      isFilmDefault: boolean;
      recommended: boolean;
      license: string;
    };
    const catalog = (await api<{ models: Row[] }>('models.catalog')).models;
    const recommended = catalog.filter((m) => m.recommended && m.task === 'colorize').map((m) => m.id);
    expect(recommended.sort()).toEqual(['ddcolor', 'deoldify-artistic', 'deoldify-stable']);
    // In the colorize panel of an item: plainly said, with size, licence and one click each.
    await page.keyboard.press('Escape');
    await openAsset('grandma.jpg');
    const offer = page.locator('[data-testid="colorizer-offer"][data-where="recipe"]');
    await expect.poll(() => offer.count()).toBe(1);
    expect(await offer.textContent()).toMatch(/built-in colorizer is a light model that works offline/);
    const offered = await offer
      .getByTestId('colorizer-offer-row')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(offered.sort()).toEqual(recommended.sort());
    const ddcolor = offer.locator('[data-testid="colorizer-offer-row"][data-id="ddcolor"]');
    expect(await ddcolor.textContent()).toMatch(/Apache-2\.0/);
    expect(await ddcolor.textContent()).toMatch(
      /download|size not listed|checking size|size unknown while offline/,
    );
    expect(await ddcolor.getByTestId('colorizer-install').isDisabled()).toBe(false);
    // Offline: it says so, nothing can be started, and the built-in colorizer carries on.
    // Playwright's offline cuts the app's own localhost server too (going offline never does), so
    // the app's polls in that window fail; only those failures are dropped from the console check.
    const beforeOffline = consoleErrors.length;
    await page.context().setOffline(true);
    await expect.poll(() => offer.getByTestId('colorizer-offline').count()).toBe(1);
    expect(await ddcolor.getByTestId('colorizer-install').isDisabled()).toBe(true);
    const found: string[] = [];
    await audit('colorizer offer', found);
    await shot('05-colorizer-offer-offline');
    await page.context().setOffline(false);
    await expect.poll(() => offer.getByTestId('colorizer-offline').count()).toBe(0);
    consoleErrors.splice(
      beforeOffline,
      Infinity,
      ...consoleErrors.slice(beforeOffline).filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)),
    );
    await page.keyboard.press('Escape');

    // Models page: one plain line per model, sizes, and "make default".
    await page.getByTestId('models-button').click();
    await expect.poll(() => page.getByTestId('model-row').count()).toBeGreaterThan(3);
    const texts = await page.getByTestId('model-row').allTextContents();
    for (const t of texts) expect(t).not.toMatch(/parameters|RRDB|RDN|convolution|spectral/i);
    // The real catalog lists no sizes: the page asks the servers, and says plainly when it cannot
    // (offline, as this machine is) instead of leaving "checking" up.
    const sizes = page.getByTestId('model-size');
    await expect
      .poll(async () => (await sizes.allTextContents()).filter((t) => /checking/.test(t)))
      .toEqual([]);
    const sizeRe = /^(\d+(\.\d+)? (B|kB|KB|MB|GB)( download)?|size not listed|size unknown while offline)$/;
    expect((await sizes.allTextContents()).filter((t) => !sizeRe.test(t))).toEqual([]);
    const deoldify = page
      .locator('[data-testid="model-row"][data-id="deoldify-artistic"]')
      .getByTestId('model-size');
    expect(await deoldify.textContent()).toMatch(/^(\d+(\.\d+)? MB download|size unknown while offline)$/);
    const smooth = page.locator('[data-testid="model-row"][data-id="e2e-smooth"]');
    await smooth.getByTestId('model-make-default').click();
    await expect.poll(() => smooth.getByTestId('model-default').count()).toBe(1);
    expect(
      (await api<{ models: Row[] }>('models.catalog')).models.find((m) => m.id === 'e2e-smooth')!.isDefault,
    ).toBe(true);
    await page.waitForTimeout(400);
    await audit('models page', found);
    await shot('06-models-page');
    await page.keyboard.press('Escape');

    // Settings: the default per task, in one aligned row; films' colorizer beside the photos' one
    // once films have a default of their own (as the bundled video colorizer is).
    await api('models.setDefault', { task: 'colorize', id: 'e2e-colorize', film: true });
    await page.getByTestId('settings-button').click();
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    await expect.poll(() => page.getByTestId('default-models').count()).toBe(1);
    expect(await page.getByTestId('default-model-restore').inputValue()).toBe('Smooth');
    expect(await page.getByTestId('default-model-colorize').inputValue()).toBe('');
    expect(await page.getByTestId('default-model-colorize-film').inputValue()).toBe('e2e-colorize');
    await page.waitForTimeout(400);
    await audit('settings', found);
    await shot('07-settings-defaults');
    // Mantine hides its clear button from the accessibility tree: found by its label.
    const clearButton = (label: string) =>
      page.locator(`button[aria-label="${label}: back to the bundled default"]`);
    // The films' choice clears back to the bundled default as a photo one does. This server's bundled
    // folder is its models folder, so no film default is left: films take the photos' default and
    // the films' select goes, the photos' one staying.
    await clearButton('Colorize (films)').click();
    await expect
      .poll(async () =>
        (await api<{ models: Row[] }>('models.catalog')).models
          .filter((m) => m.isFilmDefault)
          .map((m) => m.id),
      )
      .toEqual([]);
    await expect.poll(() => page.getByTestId('default-model-colorize-film').count()).toBe(0);
    expect(await page.getByTestId('default-model-colorize').inputValue()).toBe('');
    expect(await page.getByTestId('default-model-restore').inputValue()).toBe('Smooth');
    // A photo select clears the same way: restore goes back to the first installed.
    await clearButton('Restore (same size)').click();
    await expect
      .poll(
        async () =>
          (await api<{ models: Row[] }>('models.catalog')).models.find((m) => m.id === 'e2e-smooth')!
            .isDefault,
      )
      .toBe(false);
    await expect.poll(() => page.getByTestId('default-model-restore').inputValue()).toBe('');
    await page.keyboard.press('Escape');

    // First launch (no project yet): the same offer; "not now" puts it away for good.
    // Deleted with the page away, as the app's own delete leaves the project first: a page still
    // showing the project would ask for its images after they are gone (a 404 on a loaded machine).
    await page.goto('about:blank');
    await api('projects.delete', { id: projectId });
    await page.goto(server.url);
    const welcome = page.locator('[data-testid="colorizer-offer"][data-where="welcome"]');
    await expect.poll(() => welcome.count()).toBe(1);
    await audit('first launch', found);
    await shot('08-first-launch');
    await page.getByRole('button', { name: /Not now/ }).click();
    await expect.poll(() => welcome.count()).toBe(0);
    await page.reload();
    await expect.poll(() => page.getByTestId('first-project').count()).toBe(1);
    expect(await welcome.count()).toBe(0);
    expect(found).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
