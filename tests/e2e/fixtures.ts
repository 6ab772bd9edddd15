import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach } from 'vitest';
import sharp from 'sharp';
import { GraphBuilder } from '../../tools/onnx/builder';
import { installColorizer, installModel, RGB_01 } from '../helpers/models';
import { writePhoto } from '../helpers/library-helpers';
import { skipWithout } from '../helpers/system-tools';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SERVE = join(ROOT, 'out', 'main', 'serve.js');
export const RENDERER = join(ROOT, 'out', 'renderer', 'index.html');
/** Debian's Chromium (apt install chromium); TINTYPE_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.TINTYPE_CHROMIUM ?? '/usr/bin/chromium';
/** Why the browser tests cannot run here, or null: for skipWithout, which CI turns into a failure. */
export const CHROMIUM_MISSING = existsSync(CHROMIUM)
  ? null
  : `no Chromium at ${CHROMIUM} (apt install chromium, or set TINTYPE_CHROMIUM)`;
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const SHOTS = join(ROOT, 'test-results', 'e2e');

/** The build the e2e tests drive; they exercise what ships, so a missing build is a failure, not a skip. */
/**
 * Whether this file's browser tests run here: false, with the reason printed, without Chromium (or a
 * failure where CI sets TINTYPE_REQUIRE_SYSTEM_TOOLS=1). Called once at a file's top level.
 */
export const chromiumHere = (what = 'e2e'): boolean => !skipWithout(what, CHROMIUM_MISSING);

export interface E2eDirs {
  dataDir: string;
  libraryDir: string;
  modelsDir: string;
}

/**
 * A browser test's set-up before its server starts: the build checked, the screenshots folder made,
 * a fresh folder (tintype-e2e-NAME-…) with the server's data, library and models folders, the
 * test models installed there unless `models` is false (a file that brings its own).
 */
export function e2eDirs(name: string, { models = true } = {}): { dir: string; dirs: E2eDirs } {
  requireBuild();
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), `tintype-e2e-${name ? `${name}-` : ''}`));
  const dirs = {
    dataDir: join(dir, 'data'),
    libraryDir: join(dir, 'library'),
    modelsDir: join(dir, 'models'),
  };
  if (models) installTestModels(dirs.modelsDir);
  return { dir, dirs };
}

export function requireBuild(): void {
  for (const f of [SERVE, RENDERER]) {
    if (!existsSync(f))
      throw new Error(`${f} is missing: run "npm run build" (npm test does) before the e2e tests`);
  }
}

const common = RGB_01;

/** A 3×3 smoothing filter per channel (a tiny "denoise" restorer). */
function smoothGraph(): Uint8Array {
  const g = new GraphBuilder('smooth');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const k = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
  const w = new Float32Array(27);
  for (let c = 0; c < 3; c++) w.set(k, c * 9);
  g.node('Conv', [x, g.constant(w, [3, 1, 3, 3])], { pads: [1, 1, 1, 1], group: 3 }, ['output']);
  g.output('output', [1, 3, 'height', 'width']);
  return g.encode();
}

/** Cubic ×2 enlargement (a tiny "upscaler"). */
function cubicGraph(): Uint8Array {
  const g = new GraphBuilder('cubic2x');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const y = g.node('Resize', [x, '', g.constant([1, 1, 2, 2], [4])], { mode: 'cubic' });
  g.node('Clip', [y, g.constant([0], []), g.constant([1], [])], {}, ['output']);
  g.output('output', [1, 3, 'height2', 'width2']);
  return g.encode();
}

/** Five 3×3 convolutions `width` channels wide: cost per pixel grows with width². */
function heavyGraph(width: number): Uint8Array {
  const g = new GraphBuilder('slow');
  let t = g.input('input', [1, 3, 'height', 'width']);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.1;
  const chans = [3, width, width, width, width, 3];
  for (let i = 0; i < chans.length - 1; i++) {
    const w = new Float32Array(chans[i + 1] * chans[i] * 9).map(rand);
    t = g.node('Conv', [t, g.constant(w, [chans[i + 1], chans[i], 3, 3])], { pads: [1, 1, 1, 1] });
  }
  g.node('Sigmoid', [t], {}, ['output']);
  g.output('output', [1, 3, 'height', 'width']);
  return g.encode();
}

/**
 * Two deliberately heavy restorers on 64-px tiles. 'e2e-slow' (96 channels): a megapixel photo
 * takes minutes on two cores while each tile stays short, so a cancel can be seen to stop the work
 * between tiles within seconds. 'e2e-slower' (192 channels, four times the work): a 320-px preview
 * takes several seconds even on an idle machine, so a newer preview can be seen to supersede it.
 */
export function installSlowModel(dir: string): void {
  const tile = { size: 64, overlap: 8 };
  installModel(
    dir,
    { ...common, id: 'e2e-slow', name: 'Slow (test)', task: 'restore', tile },
    heavyGraph(96),
  );
  installModel(
    dir,
    { ...common, id: 'e2e-slower', name: 'Slower (test)', task: 'restore', tile },
    heavyGraph(192),
  );
}

/**
 * Real ONNX models, generated: a colorizer in DeOldify's style (render size 224–360, chroma only,
 * luminance kept), a smoothing restorer and a ×2 upscaler. The engine runs them like any other.
 */
export function installTestModels(dir: string): void {
  mkdirSync(dir, { recursive: true });
  // u, v chroma as a function of the grey level it sees: cool shadows, warm highlights.
  installColorizer(dir, 'e2e-colorize', {}, 'uv', [-0.3, 0.3], [0.12, -0.08], {
    default: 288,
    min: 224,
    max: 360,
  });
  installModel(
    dir,
    { ...common, id: 'e2e-smooth', name: 'Smooth (test)', task: 'restore', tile: { size: 128, overlap: 8 } },
    smoothGraph(),
  );
  installModel(
    dir,
    {
      ...common,
      id: 'e2e-cubic2x',
      name: 'Cubic ×2 (test)',
      task: 'upscale',
      scale: 2,
      tile: { size: 128, overlap: 8 },
    },
    cubicGraph(),
  );
}

/**
 * A folder like a user's: a few black-and-white photos in nested folders (real historical ones from
 * the shared datasets when present, generated otherwise, all small) and one damaged JPEG.
 */
export async function makePhotoFolder(dir: string): Promise<{ photos: string[]; corrupt: string }> {
  mkdirSync(join(dir, '1950s'), { recursive: true });
  const names = [
    join(dir, 'portrait.jpg'),
    join(dir, '1950s', 'beach.jpg'),
    join(dir, '1950s', 'street.jpg'),
  ];
  const real = join(ROOT, '..', 'shared', 'datasets', 'bw', 'deoldify-test-images');
  const sources = existsSync(real)
    ? readdirSync(real)
        .filter((f) => /\.jpe?g$/i.test(f))
        .sort()
        .slice(0, 3)
    : [];
  for (let i = 0; i < names.length; i++) {
    if (sources[i])
      await sharp(join(real, sources[i]))
        .resize(360, 360, { fit: 'inside' })
        .greyscale()
        .jpeg({ quality: 88 })
        .toFile(names[i]);
    else await writePhoto(names[i], 320, 240, i + 1, true);
  }
  const good = await sharp(names[0]).jpeg().toBuffer();
  const corrupt = join(dir, 'damaged.jpg');
  writeFileSync(corrupt, good.subarray(0, Math.floor(good.length * 0.5)));
  return { photos: names, corrupt };
}

export interface Server {
  url: string;
  token: string;
  port: number;
  child: ChildProcess;
  /** What the server logged so far (its log goes to stderr), to print when a test fails. */
  log(): string;
  stop(): Promise<void>;
  /** One API call as the renderer makes it (bearer token, JSON); a refused call throws its message. */
  api<T>(method: string, body?: unknown): Promise<T>;
}

/** Starts `node out/main/serve.js` (the shipped server) and waits for its URL. */
export async function startServer(opts: {
  dataDir: string;
  libraryDir: string;
  modelsDir: string;
}): Promise<Server> {
  const child = spawn(
    process.execPath,
    [SERVE, '--json', '--data-dir', opts.dataDir, '--library', opts.libraryDir, '--models', opts.modelsDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TINTYPE_MODELS_DIR: opts.modelsDir, TINTYPE_BUNDLED_MODELS_DIR: opts.modelsDir },
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const info = await new Promise<{ url: string; token: string; port: number }>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        ok(JSON.parse(out.slice(0, nl)));
      }
    });
    child.on('exit', (code) => fail(new Error(`server exited (${code}): ${stderr}`)));
  });
  return {
    ...info,
    child,
    log: () => stderr,
    api: async <T>(method: string, body: unknown = {}): Promise<T> => {
      const r = await fetch(`http://127.0.0.1:${info.port}/api/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const j = (await r.json()) as { ok: boolean; value: T; error?: { message: string } };
      if (!j.ok) throw new Error(j.error?.message);
      return j.value;
    },
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; html?: string; failureSummary?: string }[];
}

/**
 * Runs axe-core (WCAG 2 A and AA rules) over the page as it is now and returns the serious and
 * critical violations. axe is evaluated through the debugging protocol, which the page's CSP does
 * not govern, so the app runs under its real CSP while audited.
 */
export async function auditA11y(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = (await page.evaluate(() =>
    (
      window as unknown as {
        axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: AxeViolation[] }> };
      }
    ).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  )) as { violations: AxeViolation[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      ...v,
      nodes: v.nodes
        .slice(0, 5)
        .map((n) => ({ target: n.target, html: n.html?.slice(0, 160), failureSummary: n.failureSummary })),
    }));
}

/** A readable one-line-per-node summary of violations, for an assertion message. */
export function describeViolations(vs: AxeViolation[]): string[] {
  return vs.flatMap((v) =>
    v.nodes.map(
      (n) =>
        `${v.id} (${v.impact}): ${n.target.join(' ')} ${n.html ?? ''} — ${(n.failureSummary ?? v.help).replace(/\s+/g, ' ').slice(0, 160)}`,
    ),
  );
}

/**
 * What is cut off on the page: controls, badges and headings partly outside the window or outside an
 * ancestor that clips them, labels whose text does not fit (an ellipsis), and boxes that scroll
 * sideways. Elements entirely off-screen are a closed drawer, not clipped.
 */
export async function clipped(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const vw = window.innerWidth;
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''} "${(el.textContent ?? el.getAttribute('aria-label') ?? '').trim().slice(0, 30)}"`;
    const sel =
      'button, a, input, [role="switch"], [role="slider"], .mantine-Badge-root, .mantine-Slider-markLabel, h1, h2, h3, h4, h5, label, [data-testid="render-factor"]';
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      if (r.right <= 0 || r.left >= vw) continue;
      if (r.left < -1 || r.right > vw + 1) out.push(`${name(el)} crosses the window edge`);
      for (let a = el.parentElement; a; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.overflowX === 'visible') continue;
        const ar = a.getBoundingClientRect();
        if (r.left < ar.left - 1 || r.right > ar.right + 1) {
          out.push(`${name(el)} is cut by ${name(a).slice(0, 40)}`);
          break;
        }
      }
    }
    for (const el of document.querySelectorAll(
      '.mantine-Badge-label, .mantine-Button-label, h1, h2, h3, h4, [data-testid="asset-title"]',
    )) {
      if (el.getBoundingClientRect().width === 0) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} text does not fit`);
    }
    for (const el of document.querySelectorAll('*')) {
      const cs = getComputedStyle(el);
      if (!['auto', 'scroll'].includes(cs.overflowX) || el.closest('[data-scroll-x]')) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${name(el).slice(0, 40)} scrolls sideways`);
    }
    if (document.documentElement.scrollWidth > vw + 1) out.push('the page scrolls sideways');
    return [...new Set(out)];
  });
}

/**
 * Chromium with one light 1440×900 page whose console errors and page errors go to `errors`, so a
 * test can require the app to have logged none. `keep` drops console errors a test causes on purpose.
 */
export async function openPage(
  errors: string[],
  keep: (text: string) => boolean = () => true,
): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  page.on('console', (m) => {
    if (m.type() === 'error' && keep(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { browser, page };
}

/**
 * The hooks every e2e file needs: after a failed test the server's log (without the server's side a
 * failure of a browser waiting on it is a guess), and at the end the browser, server and temp dir gone.
 */
export function tearDownE2e(
  label: string,
  parts: () => { browser?: Browser; server?: Server; dir?: string },
): void {
  afterEach((ctx) => {
    const { server } = parts();
    if (ctx.task.result?.state === 'fail' && server)
      console.error(`[${label}] server log (last 6,000 characters):\n${server.log().slice(-6000)}`);
  });
  afterAll(async () => {
    const { browser, server, dir } = parts();
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}
