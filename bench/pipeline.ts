/**
 * Pipeline benchmark (issue "Pipeline speed"): with a model that costs almost nothing (one 3×3
 * convolution, bench/models.ts), how close do photos and films come to the floor every tool pays,
 * decoding and encoding? Floor and Tintype run side by side in one run:
 *   - photos: 12 MP greyscale JPEGs made from real photos (../shared/datasets); floor = sharp
 *     decode + encode (RGB JPEG at Tintype's settings) of the same files, one after another in one
 *     process; Tintype = `tintype colorize <dir> -o <out>` (the whole CLI process);
 *   - one 12 MP photo: the CLI's --json timings per stage against the floor's decode and encode;
 *   - film: clips made with ffmpeg from real photos (slow zoom, temporal grain): SD 768×576,
 *     1080p and a greyscale (gray pix_fmt) SD source; floor = `ffmpeg -i clip -c:v libx264 -preset
 *     medium -crf 18 -an out.mp4`; Tintype = `tintype video clip -o out.mp4` (same encoder
 *     settings) for colorize, and restore/upscale ×2 on SD (upscale's floor encodes the ×2 frames).
 * Run: npm run bench -- pipeline [--only=photos|film] [--photos=6] [--reps=3] [--seconds=10] [--baseline=DIR]
 *   [--films=sd,hd,grey,restore,upscale] (the film rows to run; default all)
 * --baseline: another built checkout (a git worktree of an older commit after `npm run build`),
 * timed the same way in the same run, so before/after ratios share the machine's load.
 * Prints Markdown tables; keep them in docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { sharedDatasets } from './_photo';
import { installTinyModels } from './models';
import { ffmpegCapabilities, resolveFfmpeg } from '../src/engine/video/ffmpeg-binaries';

sharp.cache(false);
const root = join(import.meta.dirname, '..');
const arg = (name: string, dflt: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const only = arg('only', 'all');
const nPhotos = Number(arg('photos', '6'));
const films = new Set(arg('films', 'sd,hd,grey,restore,upscale').split(','));
const seconds = Number(arg('seconds', '10'));
const reps = Number(arg('reps', '3'));
const data = sharedDatasets(root);
if (!data) {
  console.error('../shared/datasets not found: the benchmark makes its photos and clips from real photos');
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), 'tintype-pipeline-'));
const models = join(work, 'models');
const ids = installTinyModels(models);
const cli = join(root, 'bin', 'tintype.js');
const baselineDir = arg('baseline', '');
/** The CLIs timed: this checkout, and with --baseline another built one, in the same run. */
const clis: [string, string][] = [
  ['Tintype', cli],
  ...(baselineDir ? [['baseline', join(baselineDir, 'bin', 'tintype.js')] as [string, string]] : []),
];
const f0 = (n: number) => n.toFixed(0);
const f2 = (n: number) => n.toFixed(2);

/** What `tintype colorize --json` prints for one file, as far as the bench reads it. */
interface OneResult {
  ms: number;
  inferenceMs?: number;
  timings?: Record<string, number | undefined>;
}

interface Timed {
  ms: number;
  /** CPU time (user + system) of the process and its children: steadier than wall time on a shared machine. */
  cpuMs: number;
  rssMb: number;
  stdout: string;
}

/** Runs a command to completion; its wall time and peak RSS (GNU time, when present). */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Timed {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M CPU_S=%U+%S', cmd, ...args], {
    env: { ...process.env, TINTYPE_MODELS_DIR: models, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  const c = /CPU_S=([\d.]+)\+([\d.]+)/.exec(r.stderr);
  const cpuMs = c ? (Number(c[1]) + Number(c[2])) * 1000 : NaN;
  return { ms, cpuMs, rssMb: m ? Number(m[1]) / 1024 : NaN, stdout: r.stdout };
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}:\n${r.stderr}`);
}

function realPhotos(n: number): string[] {
  const dir = join(data!, 'train', 'wallpapers');
  const files = readdirSync(dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();
  // Spread over the folder (different scenes), deterministic.
  return Array.from({ length: n }, (_, i) => join(dir, files[Math.floor((i * files.length) / n)]));
}

/** A 12 MP greyscale "scan" of a real photo: enlarged, with grain so it decodes like a photo. */
async function makeScan(src: string, out: string): Promise<void> {
  const W = 4000;
  const H = 3000;
  const grain = await sharp({
    create: {
      width: W,
      height: H,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 18 },
    },
  })
    .greyscale()
    .png({ compressionLevel: 0 })
    .toBuffer();
  await sharp(src)
    .resize(W, H, { fit: 'cover', kernel: 'lanczos3' })
    .greyscale()
    .composite([{ input: grain, blend: 'overlay' }])
    .jpeg({ quality: 90 })
    .toFile(out);
}

/** The floor: decode each file, encode it as an RGB JPEG with Tintype's settings, write it. */
async function photoFloor(
  files: string[],
  outDir: string,
): Promise<{ ms: number; cpuMs: number; decodeMs: number; encodeMs: number }> {
  mkdirSync(outDir, { recursive: true });
  let decodeMs = 0;
  let encodeMs = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const f of files) {
    const a = performance.now();
    const { data: px, info } = await sharp(f).raw().toBuffer({ resolveWithObject: true });
    const b = performance.now();
    const jpg = await sharp(px, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .toColourspace('srgb')
      .jpeg({ quality: 92, chromaSubsampling: '4:4:4', optimiseCoding: false })
      .toBuffer();
    writeFileSync(join(outDir, `${f.split('/').pop()}`), jpg);
    const c = performance.now();
    decodeMs += b - a;
    encodeMs += c - b;
  }
  const c = process.cpuUsage(c0);
  return {
    ms: performance.now() - t0,
    cpuMs: (c.user + c.system) / 1000,
    decodeMs: decodeMs / files.length,
    encodeMs: encodeMs / files.length,
  };
}

const machine = `${cpus().length}× ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const load = () => loadavg()[0].toFixed(1);
console.log(`\nTintype pipeline benchmark — ${machine}; load average at start ${load()}`);
console.log('models: near-zero (one 3×3 convolution), onnxruntime-node CPU\n');

if (only === 'all' || only === 'photos') {
  const inDir = join(work, 'photos');
  mkdirSync(inDir);
  const sources = realPhotos(nPhotos);
  const files: string[] = [];
  for (const [i, s] of sources.entries()) {
    const out = join(inDir, `scan-${i + 1}.jpg`);
    await makeScan(s, out);
    files.push(out);
  }
  // A 64×48 photo costs a run its start-up (Node, modules, model session) and next to no pixels:
  // subtracting its CPU time leaves what one 12 MP photo costs, comparable with the floor's.
  const tiny = join(work, 'tiny.jpg');
  await sharp(files[0]).resize(64, 48).jpeg().toFile(tiny);
  const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const range = (xs: number[]) => `${f2(Math.min(...xs))}–${f2(Math.max(...xs))}`;
  const colorize = (bin: string, input: string, out: string, extra: string[]) =>
    timed(process.execPath, [
      bin,
      'colorize',
      input,
      '-o',
      out,
      '--model',
      ids.colorize,
      '--overwrite',
      ...extra,
    ]);
  // `reps` rounds; in each, the floor and every CLI run one after another, so each ratio is taken
  // against a floor measured under the same load. Medians (and the range of the ratios) are shown.
  type Round = {
    floor: Awaited<ReturnType<typeof photoFloor>>;
    single: Awaited<ReturnType<typeof photoFloor>>;
  };
  const rounds: Round[] = [];
  const per = new Map<string, { batch: Timed; one: Timed & { res: OneResult }; tiny: Timed }[]>(
    clis.map(([l]) => [l, []]),
  );
  for (let r = 0; r < reps; r++) {
    const round: Round = {
      floor: await photoFloor(files, join(work, 'floor-out')),
      single: await photoFloor([files[0]], join(work, 'floor-one')),
    };
    rounds.push(round);
    for (const [label, bin] of clis) {
      const batch = colorize(bin, inDir, join(work, 'tt-out'), ['-q']);
      const one = colorize(bin, files[0], join(work, 'one.jpg'), ['--json']);
      const tinyRun = colorize(bin, tiny, join(work, 'tiny-out.jpg'), ['-q']);
      per.get(label)!.push({
        batch,
        one: { ...one, res: JSON.parse(one.stdout.trim().split('\n').pop()!) as OneResult },
        tiny: tinyRun,
      });
    }
  }
  const floorMs = medianOf(rounds.map((x) => x.floor.ms));
  const floorCpu = medianOf(rounds.map((x) => x.floor.cpuMs));
  const readMs = medianOf(rounds.map((x) => x.single.decodeMs));
  const writeMs = medianOf(rounds.map((x) => x.single.encodeMs));
  const singleCpu = medianOf(rounds.map((x) => x.single.cpuMs));
  console.log(`${reps} rounds; medians, ratios: median (range) of the rounds' own ratios\n`);
  console.log(`| work | floor | Tintype (near-zero model) | ratio |`);
  console.log(`|---|---|---|---|`);
  const stages: string[] = [];
  for (const [label] of clis) {
    const runs = per.get(label)!;
    const wallR = runs.map((x, i) => x.batch.ms / rounds[i].floor.ms);
    const cpuR = runs.map((x, i) => x.batch.cpuMs / rounds[i].floor.cpuMs);
    console.log(
      `| ${nPhotos} photos, 12 MP JPEG in → JPEG out | sharp decode + encode, one process, one after another: ${f2(floorMs / 1000)} s (CPU ${f2(floorCpu / 1000)} s) | ${label}: \`tintype colorize dir -o out\` ${f2(medianOf(runs.map((x) => x.batch.ms)) / 1000)} s (CPU ${f2(medianOf(runs.map((x) => x.batch.cpuMs)) / 1000)} s, peak RSS ${f0(medianOf(runs.map((x) => x.batch.rssMb)))} MB) | wall ${f2(medianOf(wallR))}× (${range(wallR)}), CPU ${f2(medianOf(cpuR))}× (${range(cpuR)}) |`,
    );
    const nonModel = (x: (typeof runs)[number]) => {
      const t = x.one.res.timings ?? {};
      return x.one.res.ms - (t.modelsMs ?? 0) - (x.one.res.inferenceMs ?? 0);
    };
    const nmR = runs.map((x, i) => nonModel(x) / (rounds[i].single.decodeMs + rounds[i].single.encodeMs));
    const oneCpu = runs.map((x) => x.one.cpuMs - x.tiny.cpuMs);
    const oneR = runs.map((x, i) => oneCpu[i] / rounds[i].single.cpuMs);
    console.log(
      `| one 12 MP photo (\`--json\` timings, wall) | read ${f0(readMs)} ms + write ${f0(writeMs)} ms | ${label}: non-model ${f0(medianOf(runs.map(nonModel)))} ms (engine less model load and inference; whole process ${f0(medianOf(runs.map((x) => x.one.ms)))} ms, peak RSS ${f0(medianOf(runs.map((x) => x.one.rssMb)))} MB) | ${f2(medianOf(nmR))}× (${range(nmR)}) |`,
    );
    console.log(
      `| one 12 MP photo, CPU time | decode + encode in one process: ${f0(singleCpu)} ms | ${label}: whole process less a 64×48 photo's run (start-up, modules, session: ${f0(medianOf(runs.map((x) => x.tiny.cpuMs)))} ms) = ${f0(medianOf(oneCpu))} ms | CPU ${f2(medianOf(oneR))}× (${range(oneR)}) |`,
    );
    const m = (k: string) => f0(medianOf(runs.map((x) => x.one.res.timings?.[k] ?? NaN)));
    stages.push(
      `${label}, stages of one 12 MP photo (ms, wall, medians): decode ${m('readMs')}, model load (overlaps decode) ${m('modelsMs')}, prepare ${m('prepareMs')}, infer ${m('inferMs')}, merge ${m('mergeMs')}, encode+write ${m('writeMs')}`,
    );
  }
  console.log(`\n${stages.join('\n')}\nload average now ${load()}\n`);
}

if (only === 'all' || only === 'film') {
  const photos = realPhotos(5);
  const makeClip = (name: string, w: number, h: number, fps: number, grey: boolean): string => {
    const per = Math.max(1, Math.round((seconds * fps) / photos.length));
    // A greyscale scan is kept lossless (FFV1 gray): H.264's monochrome profile decodes as 4:2:0.
    const out = join(work, `${name}.${grey ? 'mkv' : 'mp4'}`);
    const inputs = photos.flatMap((p) => [
      '-loop',
      '1',
      '-framerate',
      String(fps),
      '-t',
      String(per / fps),
      '-i',
      p,
    ]);
    const chains = photos
      .map(
        (_, i) =>
          `[${i}:v]scale=${w * 1.25}:${h * 1.25}:force_original_aspect_ratio=increase,crop=${w * 1.25}:${h * 1.25},` +
          `zoompan=z='1+0.2*on/${per}':d=1:s=${w}x${h}:fps=${fps},setsar=1[v${i}]`,
      )
      .join(';');
    const concat = `${photos.map((_, i) => `[v${i}]`).join('')}concat=n=${photos.length}:v=1:a=0,noise=alls=8:allf=t${grey ? ',format=gray' : ',format=yuv420p'}[out]`;
    ffmpeg([
      ...inputs,
      '-filter_complex',
      `${chains};${concat}`,
      '-map',
      '[out]',
      ...(grey ? ['-c:v', 'ffv1'] : ['-c:v', 'libx264', '-preset', 'fast', '-crf', '20']),
      out,
    ]);
    return out;
  };
  // Only the clips the chosen rows need (the 1080p one takes a while to make).
  const clipOf = {
    sd: () => ({ label: 'SD 768×576, 25 fps', file: makeClip('sd', 768, 576, 25, false) }),
    hd: () => ({ label: '1080p, 24 fps', file: makeClip('hd', 1920, 1080, 24, false) }),
    grey: () => ({ label: 'greyscale SD 768×576 (FFV1 gray)', file: makeClip('grey', 768, 576, 25, true) }),
  };
  const made = new Map<keyof typeof clipOf, { label: string; file: string }>();
  const clip = (k: keyof typeof clipOf) => made.get(k) ?? made.set(k, clipOf[k]()).get(k)!;
  const frames = (file: string) =>
    Number(
      spawnSync(
        'ffprobe',
        [
          '-v',
          'error',
          '-count_packets',
          '-select_streams',
          'v:0',
          '-show_entries',
          'stream=nb_read_packets',
          '-of',
          'csv=p=0',
          file,
        ],
        {
          encoding: 'utf8',
        },
      ).stdout.trim(),
    );
  // Floor and Tintype run the same ffmpeg build (the one Tintype finds: FFMPEG_PATH, else the
  // npm-installed binary), so "the same encoder settings" is also the same x264. Tintype's ffmpeg
  // and ffprobe children run through wrappers that log each one's CPU time (GNU time), which splits
  // Tintype's CPU into decode, encode, the small runs (probe, capabilities, segment check, join) and
  // Node (start-up, pipes, resize, model, chroma), the rest.
  const bins = await resolveFfmpeg({});
  const wrapDir = join(work, 'ffwrap');
  mkdirSync(wrapDir);
  const ffLog = join(work, 'ff.log');
  for (const [name, target] of [
    ['ffmpeg', bins.ffmpeg],
    ['ffprobe', bins.ffprobe],
  ] as const) {
    writeFileSync(
      join(wrapDir, name),
      `#!/bin/sh\nexec /usr/bin/time -a -o "$TINTYPE_BENCH_FFLOG" -f "CPU %U %S %C" ${JSON.stringify(target)} "$@"\n`,
      { mode: 0o755 },
    );
  }
  const wrapped = {
    FFMPEG_PATH: join(wrapDir, 'ffmpeg'),
    FFPROBE_PATH: join(wrapDir, 'ffprobe'),
    TINTYPE_BENCH_FFLOG: ffLog,
  };
  /** CPU seconds of the logged ffmpeg/ffprobe runs, by role. */
  const split = (): { decode: number; encode: number; other: number; runs: number } => {
    const r = { decode: 0, encode: 0, other: 0, runs: 0 };
    let text = '';
    try {
      text = readFileSync(ffLog, 'utf8');
    } catch {
      return r;
    }
    for (const line of text.split('\n')) {
      const m = /^CPU ([\d.]+) ([\d.]+) (.*)$/.exec(line);
      if (!m) continue;
      const cpu = Number(m[1]) + Number(m[2]);
      if (/ pipe:1$/.test(m[3])) r.decode += cpu;
      else if (/ -i pipe:0 /.test(m[3])) r.encode += cpu;
      else {
        r.other += cpu;
        r.runs += 1;
      }
    }
    return r;
  };
  console.log(
    `ffmpeg for floor and Tintype: ${bins.ffmpeg} (${(await ffmpegCapabilities(bins.ffmpeg)).version}); ${reps} rounds, medians; ratios: median (range) of the rounds' own ratios\n`,
  );
  console.log(
    `| film (near-zero model) | frames | floor: ffmpeg libx264 -preset medium -crf 18, CPU (wall) | Tintype, CPU (wall) | CPU ratio | wall ratio | Tintype peak RSS |`,
  );
  console.log(`|---|---|---|---|---|---|---|`);
  const forcesColour = (bin: string) =>
    spawnSync(process.execPath, [bin, 'video', '--help'], { encoding: 'utf8' }).stdout.includes(
      '--force-colour',
    );
  const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const range = (xs: number[]) => `${f2(Math.min(...xs))}–${f2(Math.max(...xs))}`;
  const s2 = (ms: number) => f2(ms / 1000);
  interface Row {
    label: string;
    file: string;
    ops: string;
    model: string;
    floorArgs: string[];
    extra: string[];
    n: number;
    floors: Timed[];
    runs: Map<string, (Timed & { split: ReturnType<typeof split>; startCpuMs: number })[]>;
  }
  const rows: Row[] = [];
  const addRow = (
    label: string,
    file: string,
    ops: string,
    model: string,
    floorArgs: string[] = [],
    extra: string[] = [],
  ) =>
    rows.push({
      label,
      file,
      ops,
      model,
      floorArgs,
      extra,
      n: frames(file),
      floors: [],
      runs: new Map(clis.map(([w]) => [w, []])),
    });
  for (const k of ['sd', 'hd', 'grey'] as const)
    if (films.has(k)) addRow(clip(k).label, clip(k).file, 'colorize', ids.colorize);
  if (films.has('restore')) addRow(clip('sd').label, clip('sd').file, 'restore', ids.restore);
  if (films.has('upscale'))
    addRow(
      clip('sd').label,
      clip('sd').file,
      'upscale',
      ids.upscale,
      ['-vf', 'scale=iw*2:ih*2:flags=bicubic'],
      ['--scale', '2'],
    );
  const forced = new Map(clis.map(([w, bin]) => [w, forcesColour(bin)]));
  const out = join(work, 'tt.mp4');
  for (let r = 0; r < reps; r++) {
    for (const row of rows) {
      row.floors.push(
        timed(bins.ffmpeg, [
          '-hide_banner',
          '-loglevel',
          'error',
          '-y',
          '-i',
          row.file,
          ...row.floorArgs,
          '-c:v',
          'libx264',
          '-preset',
          'medium',
          '-crf',
          '18',
          '-an',
          join(work, 'floor.mp4'),
        ]),
      );
      for (const [who, bin] of clis) {
        rmSync(out, { force: true });
        rmSync(ffLog, { force: true });
        // What a bare start costs (Node, modules): part of the Node share below.
        const start = timed(process.execPath, [bin, 'video', '--help']);
        const tt = timed(
          process.execPath,
          [
            bin,
            'video',
            row.file,
            '-o',
            out,
            '--ops',
            row.ops,
            '--model',
            row.model,
            '-q',
            '--overwrite',
            ...row.extra,
            // The SD and 1080p clips are made from colour photos, which colorize skips unless forced
            // (a baseline from before the colour check has no such flag and colorizes them anyway).
            ...(row.ops === 'colorize' && forced.get(who) ? ['--force-colour'] : []),
          ],
          wrapped,
        );
        row.runs.get(who)!.push({ ...tt, split: split(), startCpuMs: start.cpuMs });
      }
    }
  }
  const splits: string[] = [];
  for (const row of rows) {
    const fl = row.floors;
    for (const [who] of clis) {
      const runs = row.runs.get(who)!;
      const cpuR = runs.map((x, i) => x.cpuMs / fl[i].cpuMs);
      const wallR = runs.map((x, i) => x.ms / fl[i].ms);
      console.log(
        `| ${row.label}, ${row.ops} | ${row.n} | ${s2(medianOf(fl.map((x) => x.cpuMs)))} s (${s2(medianOf(fl.map((x) => x.ms)))} s) | ${who}: ${s2(medianOf(runs.map((x) => x.cpuMs)))} s (${s2(medianOf(runs.map((x) => x.ms)))} s) | **${f2(medianOf(cpuR))}×** (${range(cpuR)}) | ${f2(medianOf(wallR))}× (${range(wallR)}) | ${f0(medianOf(runs.map((x) => x.rssMb)))} MB |`,
      );
      const m = (f: (x: (typeof runs)[number]) => number) => f2(medianOf(runs.map(f)) / 1000);
      splits.push(
        `${who}, ${row.label}, ${row.ops}, CPU s (medians): decode ${m((x) => x.split.decode * 1000)}, encode ${m((x) => x.split.encode * 1000)}, ` +
          `other ffmpeg/ffprobe runs ${m((x) => x.split.other * 1000)} (${medianOf(runs.map((x) => x.split.runs))} runs), ` +
          `Node ${m((x) => x.cpuMs - (x.split.decode + x.split.encode + x.split.other) * 1000)} (a bare \`video --help\`: ${m((x) => x.startCpuMs)}); floor ${s2(medianOf(fl.map((x) => x.cpuMs)))}`,
      );
    }
  }
  console.log(`\n${splits.join('\n')}`);
  console.log(`\nload average now ${load()}`);
}
rmSync(work, { recursive: true, force: true });
