import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { VideoError } from '../errors';

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
  /** Skip ffmpeg-static (tests of the "nothing found" path). */
  skipStatic?: boolean;
}

interface Candidate {
  path: string;
  from: string;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
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

/**
 * ffmpeg-static is optional: its postinstall download often fails (offline machines, CI), and then
 * the module exists but the binary does not. Either way we just move on to PATH.
 */
async function staticBinaries(): Promise<{ ffmpeg?: string; ffprobe?: string }> {
  const load = async (name: string): Promise<string | undefined> => {
    try {
      const mod = (await import(/* @vite-ignore */ name)) as { default?: unknown; path?: unknown };
      const value = mod.default ?? mod;
      const path = typeof value === 'string' ? value : (value as { path?: unknown }).path;
      return typeof path === 'string' ? path : undefined;
    } catch {
      return undefined;
    }
  };
  return { ffmpeg: await load('ffmpeg-static'), ffprobe: await load('ffprobe-static') };
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
  throw new VideoError(
    `${name} was not found. Tried: ${tried.join('; ')}. Install ffmpeg (e.g. apt install ffmpeg) or set ${name === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'} or the ${name} path in the settings.`,
    'FFMPEG_NOT_FOUND',
  );
}

/**
 * Finds ffmpeg and ffprobe: explicit setting, then FFMPEG_PATH/FFPROBE_PATH, then ffmpeg-static,
 * then PATH. ffprobe also looks beside the chosen ffmpeg, since distributions ship them together.
 */
export async function resolveFfmpeg(opts: ResolveFfmpegOptions = {}): Promise<FfmpegBinaries> {
  const env = opts.env ?? process.env;
  const stat = opts.skipStatic ? {} : await staticBinaries();
  const ffmpegCandidates: Candidate[] = [];
  if (opts.ffmpegPath) ffmpegCandidates.push({ path: opts.ffmpegPath, from: 'setting' });
  if (env.FFMPEG_PATH) ffmpegCandidates.push({ path: env.FFMPEG_PATH, from: 'FFMPEG_PATH' });
  if (stat.ffmpeg) ffmpegCandidates.push({ path: stat.ffmpeg, from: 'ffmpeg-static' });
  const ffmpeg = await pick('ffmpeg', ffmpegCandidates, env);

  const probeCandidates: Candidate[] = [];
  if (opts.ffprobePath) probeCandidates.push({ path: opts.ffprobePath, from: 'setting' });
  if (env.FFPROBE_PATH) probeCandidates.push({ path: env.FFPROBE_PATH, from: 'FFPROBE_PATH' });
  const sibling = ffmpeg.path.replace(
    /ffmpeg(\.exe)?$/i,
    (_m, ext: string | undefined) => `ffprobe${ext ?? ''}`,
  );
  if (sibling !== ffmpeg.path) probeCandidates.push({ path: sibling, from: `beside ${ffmpeg.from} ffmpeg` });
  if (stat.ffprobe) probeCandidates.push({ path: stat.ffprobe, from: 'ffprobe-static' });
  const ffprobe = await pick('ffprobe', probeCandidates, env);
  return {
    ffmpeg: ffmpeg.path,
    ffprobe: ffprobe.path,
    source: { ffmpeg: ffmpeg.from, ffprobe: ffprobe.from },
  };
}

/** `ffmpeg -version`'s first line, or a VideoError if the binary does not run. */
export function ffmpegVersion(bin: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) =>
      reject(new VideoError(`${bin} does not run: ${err.message}`, 'FFMPEG_NOT_FOUND', bin)),
    );
    child.on('close', (code) =>
      code === 0
        ? resolvePromise(out.split('\n')[0] ?? '')
        : reject(new VideoError(`${bin} -version exited with ${code}`, 'FFMPEG_NOT_FOUND', bin)),
    );
  });
}

export interface FfmpegCapabilities {
  version: string;
  major: number;
  minor: number;
  encoders: Set<string>;
  /** ffmpeg ≥ 6.1 sets rotation with -display_rotation (the rotate tag no longer works there). */
  displayRotationOption: boolean;
}

const capsCache = new Map<string, Promise<FfmpegCapabilities>>();

/** Version and encoder list of an ffmpeg binary (cached): distribution builds differ (libx265, prores_ks). */
export function ffmpegCapabilities(bin: string): Promise<FfmpegCapabilities> {
  let p = capsCache.get(bin);
  if (!p) {
    p = (async () => {
      const version = await ffmpegVersion(bin);
      const m = /version\s+n?(\d+)\.(\d+)/.exec(version);
      const major = m ? Number(m[1]) : 0;
      const minor = m ? Number(m[2]) : 0;
      const encoders = new Set<string>();
      const out = await new Promise<string>((resolve) => {
        const child = spawn(bin, ['-hide_banner', '-encoders'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.on('error', () => resolve(''));
        child.on('close', () => resolve(text));
      });
      for (const line of out.split('\n')) {
        const e = /^\s*[VAS][.A-Z]{5}\s+(\S+)/.exec(line);
        if (e) encoders.add(e[1]);
      }
      // Git builds report "N-xxxxx": treat them as new.
      const git = /version\s+N-/.test(version);
      return {
        version,
        major,
        minor,
        encoders,
        displayRotationOption: git || major > 6 || (major === 6 && minor >= 1),
      };
    })();
    capsCache.set(bin, p);
    p.catch(() => capsCache.delete(bin));
  }
  return p;
}
