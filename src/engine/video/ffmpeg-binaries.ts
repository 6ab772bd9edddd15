import { spawn } from 'node:child_process';
import { access, chmod, constants, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join } from 'node:path';
import { VideoError } from '../errors';

/**
 * The one place the whole app finds ffmpeg and ffprobe (the video pipeline, the library's
 * thumbnails and probes, the CLI). Order, first usable wins:
 *   1. the app setting / --ffmpeg, --ffprobe;
 *   2. FFMPEG_PATH / FFPROBE_PATH (TINTYPE_FFMPEG / TINTYPE_FFPROBE, older names, are still read);
 *   3. the binaries npm shipped with Tintype (@ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe:
 *      the executables are inside per-platform npm tarballs, so no download at install time);
 *   4. ffmpeg-static / ffprobe-static, if someone installed them (their binary download often fails);
 *   5. ffmpeg / ffprobe on PATH.
 * ffprobe is also looked for beside the chosen ffmpeg, since distributions ship them together.
 */
export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where each came from, for logs and the about box. */
  source: { ffmpeg: string; ffprobe: string };
}

export interface ResolveFfmpegOptions {
  /** The app setting (or --ffmpeg): tried first. */
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Skip the npm-shipped and ffmpeg-static binaries (tests of the setting / env / PATH order). */
  skipPackaged?: boolean;
}

interface Candidate {
  path: string;
  from: string;
}

/** Names the npm-shipped binaries report as their source. */
export const PACKAGED_SOURCES = { ffmpeg: '@ffmpeg-installer/ffmpeg', ffprobe: '@ffprobe-installer/ffprobe' };

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (await isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

const requireHere = createRequire(import.meta.url);

/** A packaged app keeps native binaries beside the asar archive (electron-builder asarUnpack). */
function outsideAsar(path: string): string {
  return path.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

/**
 * A package's binary path, or undefined when the package (or its per-platform part) is absent:
 * every package here is optional in practice (another platform, a production install without it).
 */
function packagePath(name: string): string | undefined {
  try {
    const mod = requireHere(name) as { path?: unknown; default?: unknown };
    const value = typeof mod === 'string' ? mod : (mod.path ?? mod.default);
    const path = typeof value === 'string' ? value : (value as { path?: unknown } | undefined)?.path;
    return typeof path === 'string' ? outsideAsar(path) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * npm 11 runs no dependency install scripts unless package.json allows them, and the installer
 * packages' only script is "chmod u+x": the tarball modes usually survive, but restore the bit when
 * they did not (a package unpacked by a tool that drops modes).
 */
async function ensureExecutable(path: string): Promise<void> {
  if (process.platform === 'win32' || (await isExecutable(path))) return;
  try {
    const s = await stat(path);
    if (s.isFile()) await chmod(path, s.mode | 0o755);
  } catch {
    // Not there or not ours to change: the caller reports it as not found.
  }
}

async function packagedCandidates(skip: boolean): Promise<{ ffmpeg: Candidate[]; ffprobe: Candidate[] }> {
  if (skip) return { ffmpeg: [], ffprobe: [] };
  const ffmpeg: Candidate[] = [];
  const ffprobe: Candidate[] = [];
  const add = async (list: Candidate[], pkg: string) => {
    const path = packagePath(pkg);
    if (!path) return;
    await ensureExecutable(path);
    list.push({ path, from: pkg });
  };
  await add(ffmpeg, PACKAGED_SOURCES.ffmpeg);
  await add(ffprobe, PACKAGED_SOURCES.ffprobe);
  await add(ffmpeg, 'ffmpeg-static');
  await add(ffprobe, 'ffprobe-static');
  return { ffmpeg, ffprobe };
}

async function pick(
  name: 'ffmpeg' | 'ffprobe',
  candidates: Candidate[],
  env: NodeJS.ProcessEnv,
): Promise<Candidate> {
  const tried: string[] = [];
  for (const c of candidates) {
    const path = isAbsolute(c.path) ? c.path : ((await findOnPath(c.path, env)) ?? c.path);
    if (await isExecutable(path)) return { path, from: c.from };
    tried.push(`${c.from} (${c.path}: not found or not executable)`);
  }
  const onPath = await findOnPath(name, env);
  if (onPath) return { path: onPath, from: 'PATH' };
  tried.push(`${name} on PATH (not found)`);
  const envName = name === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  throw new VideoError(
    `${name} was not found. Tried: ${tried.join('; ')}. Reinstall Tintype's npm dependencies (npm install), install ffmpeg (e.g. apt install ffmpeg), or set ${envName} or the ${name} path in the settings.`,
    'FFMPEG_NOT_FOUND',
  );
}

function envCandidates(env: NodeJS.ProcessEnv, names: string[]): Candidate[] {
  return names.filter((n) => env[n]).map((n) => ({ path: env[n]!, from: n }));
}

export async function resolveFfmpeg(opts: ResolveFfmpegOptions = {}): Promise<FfmpegBinaries> {
  const env = opts.env ?? process.env;
  const packaged = await packagedCandidates(opts.skipPackaged ?? false);

  const ffmpegCandidates: Candidate[] = [];
  if (opts.ffmpegPath) ffmpegCandidates.push({ path: opts.ffmpegPath, from: 'setting' });
  ffmpegCandidates.push(...envCandidates(env, ['FFMPEG_PATH', 'TINTYPE_FFMPEG']), ...packaged.ffmpeg);
  const ffmpeg = await pick('ffmpeg', ffmpegCandidates, env);

  const probeCandidates: Candidate[] = [];
  if (opts.ffprobePath) probeCandidates.push({ path: opts.ffprobePath, from: 'setting' });
  probeCandidates.push(...envCandidates(env, ['FFPROBE_PATH', 'TINTYPE_FFPROBE']));
  const sibling = ffmpeg.path.replace(
    /ffmpeg(\.exe)?$/i,
    (_m, ext: string | undefined) => `ffprobe${ext ?? ''}`,
  );
  if (sibling !== ffmpeg.path) probeCandidates.push({ path: sibling, from: `beside ${ffmpeg.from} ffmpeg` });
  probeCandidates.push(...packaged.ffprobe);
  const ffprobe = await pick('ffprobe', probeCandidates, env);
  return {
    ffmpeg: ffmpeg.path,
    ffprobe: ffprobe.path,
    source: { ffmpeg: ffmpeg.from, ffprobe: ffprobe.from },
  };
}

/**
 * Runs `ffmpeg ARGS` (an option that prints and exits); resolves to its stdout and stderr, or a
 * VideoError if the binary does not run.
 */
function infoRun(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) =>
      reject(new VideoError(`${bin} does not run: ${err.message}`, 'FFMPEG_NOT_FOUND', bin)),
    );
    child.on('close', (code) =>
      code === 0
        ? resolvePromise({ stdout, stderr })
        : reject(new VideoError(`${bin} ${args.join(' ')} exited with ${code}`, 'FFMPEG_NOT_FOUND', bin)),
    );
  });
}

/** `ffmpeg -version`'s first line, or a VideoError if the binary does not run. */
export async function ffmpegVersion(bin: string): Promise<string> {
  return (await infoRun(bin, ['-hide_banner', '-version'])).stdout.split('\n')[0] ?? '';
}

export interface FfmpegCapabilities {
  version: string;
  /** libavutil's version: unlike the release number it is also printed by git builds ("N-47683-…"). */
  avutil: [number, number];
  encoders: Set<string>;
  /** ffmpeg ≥ 6.1 (libavutil 58.29) sets rotation with -display_rotation (the rotate tag no longer works there). */
  displayRotationOption: boolean;
  /** ffmpeg ≥ 5.1 (libavutil 57.28) has -fps_mode; older ones (the npm-shipped 4.x build) only -vsync. */
  fpsModeOption: boolean;
  /** The MP4/MOV muxer's -movie_timescale (ffmpeg ≥ 4.4); older ones keep their default movie time scale. */
  movieTimescaleOption: boolean;
}

/** A command's stdout ('' when it does not run: the caller treats that as "feature absent"). */
function outputOf(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(text));
  });
}

const capsCache = new Map<string, Promise<FfmpegCapabilities>>();

const atLeast = (v: [number, number], major: number, minor: number) =>
  v[0] > major || (v[0] === major && v[1] >= minor);

/** Version and encoder list of an ffmpeg binary (cached): builds differ (libx265, prores_ks, options). */
export function ffmpegCapabilities(bin: string): Promise<FfmpegCapabilities> {
  let p = capsCache.get(bin);
  if (!p) {
    p = (async () => {
      // One run for both: the encoder list on stdout, and before it on stderr the banner that
      // `-version` prints (version line, library versions).
      const { stdout: list, stderr: text } = await infoRun(bin, ['-encoders']);
      const m = /libavutil\s+(\d+)\.\s*(\d+)/.exec(text);
      // No libavutil line at all: an unknown wrapper; assume a current ffmpeg.
      const avutil: [number, number] = m ? [Number(m[1]), Number(m[2])] : [99, 0];
      const encoders = new Set<string>();
      for (const line of list.split('\n')) {
        const e = /^\s*[VAS][.A-Z]{5}\s+(\S+)/.exec(line);
        if (e) encoders.add(e[1]);
      }
      const mp4Help = await outputOf(bin, ['-hide_banner', '-h', 'muxer=mp4']);
      return {
        version: text.split('\n').find((l) => l.trim()) ?? '',
        avutil,
        encoders,
        displayRotationOption: atLeast(avutil, 58, 29),
        fpsModeOption: atLeast(avutil, 57, 28),
        movieTimescaleOption: mp4Help.includes('-movie_timescale'),
      };
    })();
    capsCache.set(bin, p);
    p.catch(() => capsCache.delete(bin));
  }
  return p;
}

/** The frame-rate mode option in the spelling this ffmpeg understands. */
export function fpsModeArgs(
  caps: Pick<FfmpegCapabilities, 'fpsModeOption'>,
  mode: 'cfr' | 'vfr' | 'passthrough',
): string[] {
  return caps.fpsModeOption ? ['-fps_mode', mode] : ['-vsync', mode];
}
