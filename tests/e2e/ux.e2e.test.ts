import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePhoto } from '../helpers/library-helpers';
import {
  auditA11y,
  clipped,
  describeViolations,
  installSlowModel,
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
 * The app as people use it, in Debian's Chromium against the shipped server: a new project is the
 * one imports go to, cancel stops a running render at once, a superseded preview gives way, an
 * unreadable file cannot be rendered. Screenshots go to test-results/e2e/ux-*.png.
 */

let dir: string;
let server: Server;
let browser: Browser;
let page: Page;
let bigPhoto: string;
let dirs: E2eDirs;
const consoleErrors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `ux-${name}.png`) });

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

interface Project {
  id: number;
  name: string;
}
interface Asset {
  id: number;
  name: string;
  projectId: number;
}

const haveChromium = chromiumHere();

beforeAll(async () => {
  if (!haveChromium) return;
  ({ dir, dirs } = e2eDirs('ux'));
  installSlowModel(dirs.modelsDir);
  await makePhotoFolder(join(dir, 'Box of scans'));
  bigPhoto = join(dir, 'Big', 'wedding.png');
  mkdirSync(join(dir, 'Big'), { recursive: true });
  await writePhoto(bigPhoto, 1600, 1200, 4, true);
  server = await startServer(dirs);
  ({ browser, page } = await openPage(consoleErrors));
}, 120_000);

tearDownE2e('e2e', () => ({ browser, server, dir }));

describe.skipIf(!haveChromium)('the app as people use it', () => {
  it('makes a newly created project the current one: the next import lands there', async () => {
    await page.goto(server.url);
    await page.getByTestId('first-project').click();
    await page.getByTestId('project-name').fill('Album one');
    await page.getByTestId('create-project').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Album one');

    await page.getByTestId('new-project').click();
    await page.getByTestId('project-name').fill('Album two');
    await page.getByTestId('create-project').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Album two');
    // It stays current once the reloaded project list arrives (it used to fall back to the first).
    await page.waitForTimeout(500);
    expect(await page.getByTestId('project-title').textContent()).toBe('Album two');

    await page.getByTestId('import-button').click();
    await page.getByTestId('import-paths').fill([join(dir, 'Box of scans'), bigPhoto].join('\n'));
    await page.getByTestId('import-run').click();
    await expect
      .poll(() => page.getByTestId('import-report').textContent(), { timeout: 60_000 })
      .toContain('Imported 5 items');
    await page.keyboard.press('Escape');
    const projects = await api<Project[]>('projects.list');
    const two = projects.find((p) => p.name === 'Album two')!;
    const one = projects.find((p) => p.name === 'Album one')!;
    expect((await api<Asset[]>('assets.list', { projectId: two.id })).length).toBe(5);
    expect((await api<Asset[]>('assets.list', { projectId: one.id })).length).toBe(0);
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(5);
    // "1 item", not "1 items".
    expect(await page.locator('[data-testid="project-item"][data-name="Album one"]').textContent()).toContain(
      '0 items',
    );
    await shot('01-new-project-active');
  });

  it('does not offer to render a file it could not read, and says why', async () => {
    await page
      .locator('[data-testid="asset-card"][data-name="damaged.jpg"] [data-testid="asset-open"]')
      .click();
    await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe('damaged.jpg');
    expect(await page.getByTestId('render-button').isDisabled()).toBe(true);
    expect(await page.getByTestId('render-blocked').textContent()).toMatch(/could not be read/);
    await shot('02-unreadable');
    await page.keyboard.press('Escape');
  });

  it('cancels a running render within 2 s, saying "canceling…", and keeps no output', async () => {
    const projects = await api<Project[]>('projects.list');
    const two = projects.find((p) => p.name === 'Album two')!;
    const big = (await api<Asset[]>('assets.list', { projectId: two.id })).find(
      (a) => a.name === 'wedding.png',
    )!;
    // Minutes of tiles on two cores (the slow model over 1600×1200).
    await api('batch.start', {
      target: { kind: 'assets', ids: [big.id] },
      recipe: { ops: ['restore'], options: { models: { restore: 'e2e-slow' } }, watermark: false },
      skipDone: false,
    });
    // The grid says the file is running (it used to say "queued" until it finished).
    const card = page.locator('[data-testid="asset-card"][data-name="wedding.png"]');
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 30_000 }).toBe('running');
    expect(await card.getByTestId('asset-status').textContent()).toMatch(/running/i);
    const job = page.locator('[data-testid="queue-job"][data-name="wedding.png"]');
    await expect.poll(() => job.getAttribute('data-status'), { timeout: 30_000 }).toBe('running');
    // Real progress first: tiles are being computed.
    await expect
      .poll(async () => (await job.getByTestId('job-progress').textContent()) ?? '', { timeout: 60_000 })
      .toMatch(/restore · [1-9]\d*%/);
    await shot('03-running');
    const t0 = Date.now();
    await job.getByRole('button', { name: 'Cancel wedding.png' }).click();
    const states: string[] = [];
    await expect
      .poll(
        async () => {
          const s = (await job.getAttribute('data-status')) ?? '';
          states.push(s);
          return s;
        },
        { interval: 50 },
      )
      .toBe('canceled');
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(2000);
    expect(states.filter((s) => s !== 'canceled').every((s) => s === 'running' || s === 'canceling')).toBe(
      true,
    );
    await shot('04-canceled');
    const renders = join(dirs.libraryDir, 'projects', String(two.id), 'renders');
    expect(existsSync(renders) ? readdirSync(renders) : []).toEqual([]);
    await expect.poll(() => card.getAttribute('data-status')).toBe('new');
  });

  it('gives the picture the room, with nothing clipped at 1440×900 and 1024×700', async () => {
    const projects = await api<Project[]>('projects.list');
    const two = projects.find((p) => p.name === 'Album two')!;
    const street = (await api<Asset[]>('assets.list', { projectId: two.id })).find(
      (a) => a.name === 'street.jpg',
    )!;
    await api('batch.start', {
      target: { kind: 'assets', ids: [street.id] },
      recipe: { ops: ['colorize', 'upscale'], options: { scale: 2 }, watermark: false },
      skipDone: false,
    });
    await expect
      .poll(
        async () =>
          (await api<{ batches: { finishedAt: number | null }[] }>('jobs.list', { limit: 5 })).batches[0]
            .finishedAt,
        { timeout: 60_000 },
      )
      .not.toBeNull();
    // The queue is a drawer that opened itself when the work started.
    await expect.poll(() => page.getByTestId('queue-panel').count()).toBe(1);
    for (const [w, h] of [
      [1440, 900],
      [1024, 700],
    ]) {
      await page.setViewportSize({ width: w, height: h });
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByTestId('library-view').count()).toBe(1);
      if ((await page.getByTestId('queue-panel').count()) === 0)
        await page.getByTestId('queue-toggle').click();
      await expect.poll(() => page.getByTestId('queue-panel').count()).toBe(1);
      expect(await clipped(page)).toEqual([]);
      await shot(`07-library-${w}x${h}`);
      await page.getByTestId('queue-toggle').click();

      await page
        .locator('[data-testid="asset-card"][data-name="street.jpg"] [data-testid="asset-open"]')
        .click();
      await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe('street.jpg');
      await expect
        .poll(async () => page.getByTestId('after-image').getAttribute('src'), { timeout: 30_000 })
        .toMatch(/\/media\/(render|full)\//);
      // The projects list folds away in the item view: the picture has most of the width.
      const viewer = await page.getByTestId('compare-slider').boundingBox();
      expect(viewer!.width).toBeGreaterThan(w - 330 - 80);
      expect(await clipped(page)).toEqual([]);
      await shot(`08-asset-${w}x${h}`);
      await page.getByText('Side by side').click();
      expect(await clipped(page)).toEqual([]);
      await shot(`09-side-${w}x${h}`);
      await page.getByText('Slider').click();
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('shows "100%" as 1:1 pixels of the full-size result, with "fit" apart', async () => {
    const two = (await api<Project[]>('projects.list')).find((p) => p.name === 'Album two')!;
    const big = (await api<Asset[]>('assets.list', { projectId: two.id })).find(
      (a) => a.name === 'wedding.png',
    )!;
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('library-view').count()).toBe(1);
    // 1600×1200 ×2: a 3200×2400 result, more than its 2048-px display copy holds.
    await api('batch.start', {
      target: { kind: 'assets', ids: [big.id] },
      recipe: { ops: ['upscale'], options: { scale: 2 }, watermark: false },
      skipDone: false,
    });
    await page
      .locator('[data-testid="asset-card"][data-name="wedding.png"] [data-testid="asset-open"]')
      .click();
    await expect
      .poll(() => page.getByTestId('after-image').getAttribute('src'), { timeout: 90_000 })
      .toContain('/media/render/');
    const render = (
      await api<{ renders: { width: number; full: string | null }[] }>('assets.get', { id: big.id })
    ).renders[0];
    expect([render.width, render.full]).toEqual([3200, expect.stringMatching(/^full\//)]);
    const natural = () =>
      page.getByTestId('after-image').evaluate(async (img: HTMLImageElement) => {
        await img.decode();
        return img.naturalWidth;
      });
    expect(await natural()).toBe(2048); // at fit, the display copy is plenty
    expect(Number((await page.getByTestId('zoom-level').textContent())!.replace('%', ''))).toBeLessThan(100);
    await page.getByTestId('zoom-1to1').click();
    await expect.poll(() => page.getByTestId('zoom-level').textContent()).toBe('100%');
    await expect
      .poll(() => page.getByTestId('after-image').getAttribute('src'))
      .toContain(`/media/${render.full}`);
    expect(await natural()).toBe(3200); // the full-size file, not the 2048-px copy
    // 1:1: one output pixel per screen pixel (the image is drawn object-fit: contain in its box).
    const drawn = await page.getByTestId('after-image').evaluate((img: HTMLImageElement) => {
      const r = img.getBoundingClientRect();
      return Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight) * img.naturalWidth;
    });
    expect(Math.abs(drawn - 3200)).toBeLessThan(3);
    await shot('10-one-to-one');
    await page.getByTestId('zoom-fit').click();
    await expect.poll(() => page.getByTestId('after-image').getAttribute('src')).toContain('/media/render/');
    await page.keyboard.press('Escape');
  });

  it('passes an accessibility audit (axe-core, WCAG 2 AA) with no serious violations', async () => {
    await page.keyboard.press('Escape');
    const found: string[] = [];
    const audit = async (where: string) => {
      for (const line of describeViolations(await auditA11y(page))) found.push(`${where}: ${line}`);
    };
    await expect.poll(() => page.getByTestId('library-view').count()).toBe(1);
    if ((await page.getByTestId('queue-panel').count()) === 0) await page.getByTestId('queue-toggle').click();
    await audit('library');
    await shot('11-library-light');
    // Projects open from the keyboard.
    await page.locator('[data-testid="project-item"][data-name="Album one"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Album one');
    await page.locator('[data-testid="project-item"][data-name="Album two"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Album two');
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(5);
    // Photo cards open from the keyboard.
    await page
      .locator('[data-testid="asset-card"][data-name="street.jpg"] [data-testid="asset-open"]')
      .focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe('street.jpg');
    await audit('item view');
    await page.getByText('Side by side').click();
    await audit('side by side');
    await page.keyboard.press('Escape');
    await page.getByTestId('import-button').click();
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    await page.waitForTimeout(400); // the opening transition
    await audit('import dialog');
    await page.keyboard.press('Escape');
    await page.getByTestId('batch-button').click();
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    await page.waitForTimeout(400); // the opening transition
    await audit('batch dialog');
    await page.keyboard.press('Escape');
    await page.getByTestId('settings-button').click();
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    await page.waitForTimeout(400); // the opening transition
    await audit('settings');
    await page.keyboard.press('Escape');
    await page.getByTestId('models-button').click();
    await expect.poll(() => page.getByTestId('model-row').count()).toBeGreaterThan(0);
    await page.getByRole('dialog').last().waitFor({ state: 'visible' });
    await page.waitForTimeout(400); // the opening transition
    await audit('models');
    await page.keyboard.press('Escape');
    await page.getByTestId('theme-toggle').click();
    await page.waitForTimeout(400);
    await audit('dark theme');
    await shot('11-dark');
    await page.getByTestId('theme-toggle').click();
    expect(found).toEqual([]);
  });

  it('uploads photos from the browser (file picker and drag-and-drop) and downloads a render', async () => {
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="project-item"][data-name="Album one"]').click();
    await expect.poll(() => page.getByTestId('project-title').textContent()).toBe('Album one');
    const one = (await api<Project[]>('projects.list')).find((p) => p.name === 'Album one')!;
    const picked = join(dir, 'Box of scans', 'portrait.jpg');
    await page.getByTestId('import-button').click();
    const chooser = page.waitForEvent('filechooser');
    await page.getByTestId('upload-files').click();
    await (await chooser).setFiles(picked);
    await expect
      .poll(() => page.getByTestId('import-report').textContent(), { timeout: 30_000 })
      .toContain('Imported 1 item');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('asset-card').count()).toBe(1);

    // Dropped on the library: the bytes travel, under a hostile name that must stay in its folder.
    const bytes = readFileSync(join(dir, 'Box of scans', '1950s', 'beach.jpg')).toString('base64');
    await page.evaluate(async (b64) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], '../../..\\evil?name.jpg', { type: 'image/jpeg' }));
      const target = document.querySelector('[data-testid="library-view"]')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await expect.poll(() => page.getByTestId('asset-card').count(), { timeout: 30_000 }).toBe(2);
    const names = (await api<Asset[]>('assets.list', { projectId: one.id })).map((a) => a.name).sort();
    expect(names).toEqual(['evil_name.jpg', 'portrait.jpg']);
    const uploads = join(dirs.libraryDir, 'projects', String(one.id), 'uploads');
    expect(readdirSync(uploads).sort()).toEqual(['evil_name.jpg', 'portrait.jpg']); // no temp files left
    expect(readFileSync(join(uploads, 'portrait.jpg')).equals(readFileSync(picked))).toBe(true);
    await shot('12-uploaded');

    // Download: the street photo's render, byte for byte.
    await page.locator('[data-testid="project-item"][data-name="Album two"]').click();
    await page
      .locator('[data-testid="asset-card"][data-name="street.jpg"] [data-testid="asset-open"]')
      .click();
    const two = (await api<Project[]>('projects.list')).find((p) => p.name === 'Album two')!;
    const street = (await api<Asset[]>('assets.list', { projectId: two.id })).find(
      (a) => a.name === 'street.jpg',
    )!;
    const render = (
      await api<{ renders: { id: number; outputPath: string }[] }>('assets.get', { id: street.id })
    ).renders[0];
    const download = page.waitForEvent('download');
    await page.getByTestId(`download-render-${render.id}`).click();
    const d = await download;
    expect(d.suggestedFilename()).toBe('street-tintype.png');
    const saved = join(dir, 'downloaded.png');
    await d.saveAs(saved);
    expect(readFileSync(saved).equals(readFileSync(render.outputPath))).toBe(true);
    await page.keyboard.press('Escape');
  });

  it('gives way to a newer preview while one computes, and says "computing…" meanwhile', async () => {
    // The slower restorer makes a 320-px preview take seconds.
    await page.evaluate(() =>
      localStorage.setItem(
        'tintype.recipe',
        JSON.stringify({
          ops: ['restore'],
          options: { models: { restore: 'e2e-slower' } },
          watermark: false,
        }),
      ),
    );
    await page.reload();
    const answers: { superseded: boolean; media: string | null }[] = [];
    page.on('response', async (r) => {
      if (r.url().endsWith('/api/preview.render'))
        answers.push(((await r.json()) as { value: { superseded: boolean; media: string | null } }).value);
    });
    await page
      .locator('[data-testid="asset-card"][data-name="portrait.jpg"] [data-testid="asset-open"]')
      .click();
    await expect
      .poll(() => page.getByTestId('after-pending').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('computing');
    expect(await page.getByTestId('after-label').textContent()).toBe('Computing preview…');
    // Change the recipe while the first preview computes: colorize on as well.
    await page.getByRole('switch', { name: /Colorize/ }).click();
    await shot('05-computing');
    await expect.poll(() => answers.length, { timeout: 60_000 }).toBe(2);
    expect(answers[0]).toEqual(expect.objectContaining({ superseded: true, media: null }));
    expect(answers[1].superseded).toBe(false);
    await expect.poll(() => page.getByTestId('after-pending').count()).toBe(0);
    expect(await page.getByTestId('after-image').getAttribute('src')).toContain(answers[1].media!);
    await shot('06-preview-landed');
    // Saturation is live too: moving it asks for a new preview with it.
    const asked = page.waitForRequest((r) => r.url().endsWith('/api/preview.render'));
    await page.locator('[data-testid="saturation"] [role="slider"]').focus();
    await page.keyboard.press('ArrowRight');
    expect(
      ((await asked).postDataJSON() as { recipe: { options: { saturation?: number } } }).recipe.options
        .saturation,
    ).toBe(1.05);
    expect(await page.getByTestId('saturation-value').textContent()).toBe('×1.05');
    await page.keyboard.press('Escape');
    expect(consoleErrors).toEqual([]);
  });
});
