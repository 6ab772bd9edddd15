import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestModels, makePhotoFolder, requireBuild, ROOT, SHOTS } from './fixtures';

/**
 * The packaged shape of the app, in real Electron: the secure window, the preload bridge, IPC
 * validation in main, the media protocol. It needs the Electron binary, which npm downloads at
 * install time; where that download was impossible the suite is skipped and says why.
 */
function electronBinary(): { path: string | null; reason: string } {
  const require = createRequire(import.meta.url);
  // Requiring "electron" without its binary starts a download: look for the marker file first.
  const marker = join(dirname(require.resolve('electron/package.json')), 'path.txt');
  if (!existsSync(marker) && !process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    return { path: null, reason: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing)' };
  }
  try {
    const path = createRequire(import.meta.url)('electron') as unknown as string;
    if (typeof path === 'string' && existsSync(path)) return { path, reason: '' };
    return { path: null, reason: `the electron package points at ${String(path)}, which does not exist` };
  } catch (err) {
    return { path: null, reason: (err as Error).message.split('\n')[0] };
  }
}

const electron = electronBinary();
if (!electron.path) {
  console.warn(
    `\n[electron e2e] SKIPPED: no Electron binary (${electron.reason}).\n` +
      '[electron e2e] Install it with network access (npm rebuild electron), then run "npx electron-builder install-app-deps" so better-sqlite3 matches Electron.\n',
  );
}

describe.skipIf(!electron.path)('Tintype desktop app (Electron)', () => {
  let dir: string;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'tintype-electron-'));
    installTestModels(join(dir, 'models'));
    await makePhotoFolder(join(dir, 'photos'));
    app = await _electron.launch({
      executablePath: electron.path!,
      args: [join(ROOT, 'out', 'main', 'index.js')],
      env: {
        ...process.env,
        TINTYPE_HOME: join(dir, 'home'),
        TINTYPE_MODELS_DIR: join(dir, 'models'),
        TINTYPE_BUNDLED_MODELS_DIR: join(dir, 'models'),
      },
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens one secure window', async () => {
    expect(await page.title()).toBe('Tintype');
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const w = BrowserWindow.getAllWindows()[0];
      const p = (
        w.webContents as unknown as {
          getLastWebPreferences(): {
            contextIsolation?: boolean;
            nodeIntegration?: boolean;
            sandbox?: boolean;
          } | null;
        }
      ).getLastWebPreferences();
      return {
        count: BrowserWindow.getAllWindows().length,
        contextIsolation: p?.contextIsolation,
        nodeIntegration: p?.nodeIntegration,
        sandbox: p?.sandbox,
      };
    });
    expect(prefs).toEqual({ count: 1, contextIsolation: true, nodeIntegration: false, sandbox: true });
    const globals = await page.evaluate(() => ({
      bridge: Object.keys((window as unknown as { tintype: object }).tintype).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(globals).toEqual({
      bridge: ['invoke', 'onEvent', 'pathForFile', 'startDrag'],
      require: 'undefined',
      process: 'undefined',
    });
  });

  it('validates IPC payloads in main and answers well-formed calls', async () => {
    const r = await page.evaluate(async () => {
      const t = (
        window as unknown as {
          tintype: { invoke(m: string, p: unknown): Promise<{ ok: boolean; error?: { code: string } }> };
        }
      ).tintype;
      return {
        bad: await t.invoke('projects.create', { name: 42 }),
        unknown: await t.invoke('fs.readFile', { path: '/etc/passwd' }),
        good: await t.invoke('projects.create', { name: 'From Electron' }),
      };
    });
    expect(r.bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(r.unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(r.good).toMatchObject({ ok: true });
  });

  it('shows imported photos through tintype-media:// and blocks navigation, popups and the network', async () => {
    const photos = join(dir, 'photos');
    const width = await page.evaluate(async (folder) => {
      type Answer<T> = Promise<{ ok: boolean; value: T }>;
      const t = (window as unknown as { tintype: { invoke<T>(m: string, p: unknown): Answer<T> } }).tintype;
      const projects = (await t.invoke<{ id: number }[]>('projects.list', {})).value;
      const report = (
        await t.invoke<{ added: { thumb: string | null }[] }>('assets.import', {
          projectId: projects[0].id,
          paths: [folder],
        })
      ).value;
      const img = new Image();
      img.src = `tintype-media://media/${report.added.find((a) => a.thumb)!.thumb}`;
      await img.decode();
      return img.naturalWidth;
    }, photos);
    expect(width).toBeGreaterThan(50);
    const before = page.url();
    const blocked = await page.evaluate(async () => {
      const popup = window.open('https://example.com');
      const net = await fetch('https://example.com').then(
        () => 'reached',
        () => 'blocked',
      );
      const file = await fetch('file:///etc/hostname').then(
        () => 'reached',
        () => 'blocked',
      );
      return { popup: popup === null, net, file };
    });
    expect(blocked).toEqual({ popup: true, net: 'blocked', file: 'blocked' });
    await page.evaluate(() => {
      location.href = 'https://example.com';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    await page.screenshot({ path: join(SHOTS, 'electron-window.png') });
  });
});
