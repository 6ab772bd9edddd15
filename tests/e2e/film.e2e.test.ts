import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { haveFfmpeg } from '../helpers/library-helpers';
import { makeClip } from '../helpers/video-fixtures';
import {
  auditA11y,
  CHROMIUM,
  CHROMIUM_ARGS,
  clipped,
  describeViolations,
  type Server,
  SHOTS,
  startServer,
  tearDownE2e,
  e2eDirs,
  type E2eDirs,
} from './fixtures';

/**
 * Films in the app, in Debian's Chromium against the shipped server: the source plays and seeks
 * (byte ranges), the scrubber picks the frame the live preview is made from, a range preview is
 * rendered and played, a finished film batch is announced through the browser's Notification API
 * (permission granted to the page), and the render plays through its playable copy. Screenshots go
 * to test-results/e2e/film-*.png.
 */

let dir: string;
let server: Server;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let filmId: number;
let colourFilmId: number;
let dirs: E2eDirs;
const consoleErrors: string[] = [];
/** Statuses of the answers to the film's media requests (206 = a byte range). */
const mediaStatuses: number[] = [];

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `film-${name}.png`) });

/** Nothing cut off at the smallest supported window either (then back to 1440×900). */
async function fitsSmallWindow(name: string): Promise<void> {
  await page.setViewportSize({ width: 1024, height: 700 });
  try {
    await expect.poll(() => clipped(page)).toEqual([]);
    await shot(name);
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}

const api = <T>(method: string, body: unknown = {}) => server.api<T>(method, body);

/** The <video>'s state, read in the page. */
const videoState = () =>
  page.getByTestId('film-video').evaluate((v: HTMLVideoElement) => ({
    media: v.dataset.media ?? '',
    readyState: v.readyState,
    currentTime: v.currentTime,
    duration: v.duration,
    width: v.videoWidth,
    error: v.error?.message ?? null,
  }));

const haveChromium = existsSync(CHROMIUM);
const ready = haveChromium && haveFfmpeg();
if (!ready)
  console.warn(
    `\n[e2e films] SKIPPED: ${haveChromium ? 'no ffmpeg (npm-shipped, FFMPEG_PATH or PATH)' : `no Chromium at ${CHROMIUM}`}.\n`,
  );

beforeAll(async () => {
  if (!ready) return;
  ({ dir, dirs } = e2eDirs('film'));
  mkdirSync(join(dir, 'films'));
  // A grey 4-second clip with sound (testsrc2 draws a frame counter: every frame differs).
  const film = await makeClip(join(dir, 'films', 'reel.mp4'), {
    size: '240x160',
    seconds: 4,
    grey: true,
    audio: [440],
    video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25'],
  });
  server = await startServer(dirs);
  const project = await api<{ id: number }>('projects.create', { name: 'Home movies' });
  const report = await api<{ added: { id: number }[] }>('assets.import', {
    projectId: project.id,
    paths: [film],
  });
  filmId = report.added[0].id;
  // A colour film (testsrc2's colour bars): colorize would replace its colours, so it is flagged.
  const colourFilm = await makeClip(join(dir, 'films', 'holiday.mp4'), { size: '160x96', seconds: 2 });
  colourFilmId = (
    await api<{ added: { id: number }[] }>('assets.import', { projectId: project.id, paths: [colourFilm] })
  ).added[0].id;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  await context.grantPermissions(['notifications'], { origin: new URL(server.url).origin });
  // Notifications the page shows are recorded (and still shown): the test reads what was announced.
  await context.addInitScript(() => {
    const w = window as unknown as { __notes: { title: string; body: string }[] };
    w.__notes = [];
    const Native = window.Notification;
    window.Notification = class extends Native {
      constructor(title: string, opts?: NotificationOptions) {
        super(title, opts);
        w.__notes.push({ title, body: opts?.body ?? '' });
      }
    } as typeof Notification;
  });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('response', (r) => {
    if (/\/media\/(source|play)\//.test(r.url())) mediaStatuses.push(r.status());
  });
}, 120_000);

tearDownE2e('e2e films', () => ({ browser, server, dir }));

describe.skipIf(!ready)('films in the app', () => {
  it('plays the source film, and seeks in it through byte ranges', async () => {
    await page.goto(server.url);
    await page.locator('[data-testid="asset-card"][data-name="reel.mp4"] [data-testid="asset-open"]').click();
    await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe('reel.mp4');
    await page.getByTestId('film-mode').getByText('Watch').click();
    await expect.poll(async () => (await videoState()).media, { timeout: 30_000 }).toBe(`source/${filmId}`);
    await expect.poll(async () => (await videoState()).readyState, { timeout: 30_000 }).toBeGreaterThan(0);
    expect((await videoState()).duration).toBeCloseTo(4, 0);

    // Plays: the time moves on by itself (muted, as a page may start playback without a gesture).
    await page.getByTestId('film-video').evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      await v.play();
    });
    await expect.poll(async () => (await videoState()).currentTime, { timeout: 30_000 }).toBeGreaterThan(0.5);
    await shot('01-playing');

    // Seeks to a point it has not loaded: the frame there is decoded and shown.
    const seeked = await page.getByTestId('film-video').evaluate(
      (v: HTMLVideoElement) =>
        new Promise<{ t: number; ready: number }>((ok) => {
          v.pause();
          v.addEventListener('seeked', () => ok({ t: v.currentTime, ready: v.readyState }), { once: true });
          v.currentTime = 3.2;
        }),
    );
    expect(seeked.t).toBeCloseTo(3.2, 1);
    expect(seeked.ready).toBeGreaterThanOrEqual(2);
    expect(mediaStatuses).toContain(206);
    expect(mediaStatuses.every((s) => s === 200 || s === 206)).toBe(true);
    await shot('02-seeked');

    const serious = await auditA11y(page);
    expect(serious, describeViolations(serious).join('\n')).toEqual([]);
  });

  it('hands the paused time to the scrubber, and the live preview is made from that frame', async () => {
    await page.getByTestId('film-use-frame').click();
    await expect
      .poll(() => page.getByTestId('film-scrubber-readout').textContent())
      .toMatch(/^0:03\.[12]\d \//);
    const at = (src: string | null) => Number(/-t(\d+)[.-]/.exec(src ?? '')?.[1] ?? NaN);
    const before = page.getByTestId('before-image');
    const after = page.getByTestId('after-image');
    await expect
      .poll(async () => at(await before.getAttribute('src')), { timeout: 30_000 })
      .toBeGreaterThan(3100);
    await expect
      .poll(async () => at(await after.getAttribute('src')), { timeout: 60_000 })
      .toBe(at(await before.getAttribute('src')));
    await shot('03-frame-from-player');

    // The scrubber itself: to the start, and the preview follows.
    await page.getByTestId('film-scrubber-bar').getByRole('slider').focus();
    await page.keyboard.press('Home');
    await expect.poll(() => page.getByTestId('film-scrubber-readout').textContent()).toMatch(/^0:00\.00 \//);
    await expect.poll(async () => at(await before.getAttribute('src')), { timeout: 30_000 }).toBe(0);
    await expect.poll(async () => at(await after.getAttribute('src')), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('after-pending').count(), { timeout: 60_000 }).toBe(0);
    await shot('04-scrubbed-to-start');
    await fitsSmallWindow('04b-frame-1024x700');

    const serious = await auditA11y(page);
    expect(serious, describeViolations(serious).join('\n')).toEqual([]);
  });

  it('renders a range preview with the recipe, plays it, and beside the source in step', async () => {
    // From 0.40 s: ten frames on (1/25 s each).
    await page.getByTestId('film-scrubber-bar').getByRole('slider').focus();
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('film-scrubber-readout').textContent()).toMatch(/^0:00\.40 \//);
    await page.getByTestId('clip-button').click();
    await expect
      .poll(async () => (await page.getByTestId('film-video').count()) && (await videoState()).media, {
        timeout: 120_000,
      })
      .toMatch(/^play\/c-\d+-400-3000-320-/);
    await expect.poll(async () => (await videoState()).readyState, { timeout: 30_000 }).toBeGreaterThan(0);
    const s = await videoState();
    expect(s.error).toBeNull();
    expect(s.duration).toBeGreaterThan(2.5);
    expect(s.duration).toBeLessThan(3.5);
    expect(await page.getByTestId('film-source').inputValue()).toBe('Range preview');
    await page.getByTestId('film-video').evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      await v.play();
    });
    await expect.poll(async () => (await videoState()).currentTime, { timeout: 30_000 }).toBeGreaterThan(0.3);
    // At most 320 px, never enlarged: the 240-px source stays 240 px.
    expect((await videoState()).width).toBe(240);
    await shot('05-range-preview');

    // Beside the source: the source follows the preview's time, 0.40 s later in the film.
    await page.getByTestId('film-beside').check();
    const follower = page.getByTestId('film-video-source');
    await expect.poll(() => follower.count(), { timeout: 30_000 }).toBe(1);
    await expect
      .poll(() => follower.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await page.getByTestId('film-video').evaluate(
      (v: HTMLVideoElement) =>
        new Promise<void>((ok) => {
          v.pause();
          v.addEventListener('seeked', () => ok(), { once: true });
          v.currentTime = 1;
        }),
    );
    await expect
      .poll(() => follower.evaluate((v: HTMLVideoElement) => [v.paused, Math.round(v.currentTime * 10) / 10]))
      .toEqual([true, 1.4]);
    await page.getByTestId('film-video').evaluate((v: HTMLVideoElement) => v.play());
    await expect.poll(() => follower.evaluate((v: HTMLVideoElement) => v.paused)).toBe(false);
    await page.getByTestId('film-video').evaluate((v: HTMLVideoElement) => v.pause());
    await expect.poll(() => follower.evaluate((v: HTMLVideoElement) => v.paused)).toBe(true);
    const [lead, follow] = await Promise.all([
      page.getByTestId('film-video').evaluate((v: HTMLVideoElement) => v.currentTime),
      follower.evaluate((v: HTMLVideoElement) => v.currentTime),
    ]);
    expect(follow - lead).toBeCloseTo(0.4, 1);
    await shot('05c-beside-source');
    await fitsSmallWindow('05b-watch-1024x700');
    const serious = await auditA11y(page);
    expect(serious, describeViolations(serious).join('\n')).toEqual([]);
  });

  it('announces the end of a film batch through the Notification API, then plays the render', async () => {
    const bell = page.getByTestId('notify-toggle');
    await expect.poll(() => bell.getAttribute('data-state')).toBe('on');
    await page.getByTestId('render-button').click();
    await expect
      .poll(
        async () =>
          (await api<{ batches: { finishedAt: number | null }[] }>('jobs.list', { limit: 5 })).batches[0]
            ?.finishedAt ?? null,
        { timeout: 180_000 },
      )
      .not.toBeNull();
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __notes: unknown[] }).__notes), {
        timeout: 30_000,
      })
      .toEqual([{ title: 'Batch finished: colorize · 1 file', body: expect.stringMatching(/^1 done · \d/) }]);

    // The render: the viewer plays it through an H.264 copy of the lossless master.
    const render = (await api<{ renders: { id: number }[] }>('assets.get', { id: filmId })).renders[0];
    await page.getByTestId('film-source').click();
    await page.getByRole('option', { name: new RegExp(`^Render #${render.id}`) }).click();
    await expect
      .poll(async () => (await page.getByTestId('film-video').count()) && (await videoState()).media, {
        timeout: 120_000,
      })
      .toMatch(new RegExp(`^play/r-${render.id}-[0-9a-z]+\\.mp4$`));
    await expect.poll(async () => (await videoState()).readyState, { timeout: 30_000 }).toBeGreaterThan(0);
    expect((await videoState()).duration).toBeCloseTo(4, 0);
    await shot('06-render-playing');

    // Off again: the preference sticks across a reload.
    await bell.click();
    await expect.poll(() => bell.getAttribute('data-state')).toBe('off');
    await page.reload();
    await expect.poll(() => page.getByTestId('notify-toggle').getAttribute('data-state')).toBe('off');
    expect(consoleErrors).toEqual([]);
  });

  it('drags a render out of the window as a download, and a stray file drop does not replace the app', async () => {
    await page.goto(server.url);
    const card = page.locator('[data-testid="asset-card"][data-name="reel.mp4"] [data-testid="asset-open"]');
    expect(await card.getAttribute('draggable')).toBe('true');
    const dragged = await card.evaluate((el) => {
      const dt = new DataTransfer();
      el.dispatchEvent(new DragEvent('dragstart', { dataTransfer: dt, bubbles: true, cancelable: true }));
      return dt.getData('DownloadURL');
    });
    const m =
      /^application\/octet-stream:reel-tintype\.mkv:(http:\/\/127\.0\.0\.1:\d+\/download\/\d+\?token=.+)$/.exec(
        dragged,
      );
    expect(m, dragged).not.toBeNull();
    // What a drop on the desktop downloads: the render's file under that name.
    const download = await fetch(m![1]);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toContain('reel-tintype.mkv');
    expect((await download.arrayBuffer()).byteLength).toBeGreaterThan(1000);

    // A file let go on the header (outside the library's drop zone) is not opened in place of the app.
    const prevented = await page.locator('header').evaluate((el) => {
      const dt = new DataTransfer();
      dt.items.add(new File(['not a photo'], 'note.txt', { type: 'text/plain' }));
      const over = new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true });
      const drop = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
      el.dispatchEvent(over);
      el.dispatchEvent(drop);
      return [over.defaultPrevented, drop.defaultPrevented];
    });
    expect(prevented).toEqual([true, true]);
    expect(consoleErrors).toEqual([]);
  });

  it('warns that a colour film is already in colour, blocks colorizing it, and a batch leaves it out', async () => {
    await page.goto(server.url);
    const card = page.locator('[data-testid="asset-card"][data-name="holiday.mp4"]');
    // The verdict comes from frames sampled across the film, after the import.
    await expect.poll(() => card.getByTestId('colour-badge').count(), { timeout: 60_000 }).toBe(1);
    expect(
      await page
        .locator('[data-testid="asset-card"][data-name="reel.mp4"]')
        .getByTestId('colour-badge')
        .count(),
    ).toBe(0);
    await card.getByTestId('asset-open').click();
    await expect.poll(() => page.getByTestId('asset-title').textContent()).toBe('holiday.mp4');
    // The recipe colorizes (the default one): the warning names a film, and Render waits for "anyway".
    expect(await page.getByRole('switch', { name: /Colorize/ }).isChecked()).toBe(true);
    const warning = page.getByTestId('colour-warning');
    await expect.poll(() => warning.count()).toBe(1);
    expect(await warning.textContent()).toMatch(/^This film is already in colour/);
    expect(await page.getByTestId('render-button').isDisabled()).toBe(true);
    expect(await page.getByTestId('render-blocked').textContent()).toMatch(/already in colour/);
    const serious = await auditA11y(page);
    expect(serious, describeViolations(serious).join('\n')).toEqual([]);
    await shot('07-colour-film-warning');
    await fitsSmallWindow('07b-colour-film-1024x700');
    // Asked for explicitly, it may be colorized; without colorize in the recipe there is nothing to warn about.
    await page.getByTestId('colour-anyway').click();
    expect(await page.getByTestId('render-button').isDisabled()).toBe(false);
    await page.getByRole('switch', { name: /Colorize/ }).click();
    await expect.poll(() => warning.count()).toBe(0);
    await page.getByRole('switch', { name: /Colorize/ }).click();

    // A batch that colorizes leaves it out by default, with the reason; told to, it takes it.
    const recipe = { ops: ['colorize'], options: {}, watermark: false };
    const skipped = await api<{ queued: number; skippedColour: { assetId: number; reason: string }[] }>(
      'batch.start',
      { target: { kind: 'assets', ids: [colourFilmId] }, recipe, skipDone: false },
    );
    expect(skipped.queued).toBe(0);
    expect(skipped.skippedColour).toEqual([
      { assetId: colourFilmId, name: 'holiday.mp4', reason: expect.stringMatching(/colour/) },
    ]);
    expect(consoleErrors).toEqual([]);
  });
});
