/**
 * The bundled colorizer against its predecessor, in one run on one machine (issue "A colorizer
 * that knows what things are"): speed at a render size (model only, and `tintype colorize`
 * end to end on a 12 MP photo) and colour flicker on the film bench's test clip (`tintype video
 * --flicker`). Goal: the new model within 2× of the old one's time; flicker no worse.
 *
 * The predecessor is exported from its committed checkpoint (tintype-colorize 0.1.0:
 * training/checkpoints/colorize-cpu/best_gen.pt), so this needs the training toolkit's Python
 * with torch (the colorize-peer benchmark needs it too), plus ffmpeg for the flicker clip.
 *
 *   npm run bench -- colorize-models [--render-size=280] [--reps=5] [--candidate=MODEL_DIR]
 *                                    [--baseline=CHECKPOINT] [--skip-flicker | --flicker-only]
 * --candidate defaults to the bundled resources/models/tintype-colorize (e.g. the video variant:
 * --candidate=resources/models/tintype-colorize-video --flicker-only).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ManifestSchema } from '../src/shared/manifest';
import { greyScan } from './_photo';

const root = join(import.meta.dirname, '..');
const arg = (name: string, dflt: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const renderSize = Number(arg('render-size', '280'));
const reps = Number(arg('reps', '5'));
const baselineCheckpoint = resolve(root, arg('baseline', 'training/checkpoints/colorize-cpu/best_gen.pt'));
const candidate = resolve(root, arg('candidate', 'resources/models/tintype-colorize'));
const skipFlicker = process.argv.includes('--skip-flicker');
const flickerOnly = process.argv.includes('--flicker-only');

const work = mkdtempSync(join(tmpdir(), 'tintype-colorize-models-'));
const models = join(work, 'models');
const NEW = 'bench-colorize-new';
const OLD = 'bench-colorize-old';

function must(r: ReturnType<typeof spawnSync>, what: string): string {
  if (r.status !== 0) {
    console.error(`colorize-models: ${what} failed (${r.status}):\n${String(r.stderr)}`);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  }
  return String(r.stdout);
}

/* The bundled model, copied under its own id, and the predecessor exported from its checkpoint. */
function install(): { newVersion: string; oldVersion: string } {
  cpSync(candidate, join(models, NEW), { recursive: true });
  const setId = (dir: string, id: string, version?: string) => {
    const file = join(dir, 'manifest.json');
    const m = ManifestSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    writeFileSync(file, JSON.stringify({ ...m, id, ...(version ? { version } : {}) }, null, 2));
    return m.version;
  };
  const newVersion = setId(join(models, NEW), NEW);
  if (!existsSync(baselineCheckpoint)) {
    console.error(`colorize-models: no baseline checkpoint at ${baselineCheckpoint} (--baseline=PATH)`);
    process.exit(1);
  }
  must(
    spawnSync(
      join(root, 'training', 'tintype-train'),
      [
        'export',
        '--checkpoint',
        baselineCheckpoint,
        '--out',
        join(models, OLD),
        '--id',
        OLD,
        '--name',
        'baseline',
        '--parity-dir',
        join(work, 'parity'),
      ],
      { cwd: root, encoding: 'utf8' },
    ),
    'exporting the baseline checkpoint (needs python3 with torch)',
  );
  setId(join(models, OLD), OLD, '0.1.0');
  return { newVersion, oldVersion: '0.1.0' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Model only: one session per model, the effective render size (the manifest's multiple), alternating. */
async function modelOnly(): Promise<Record<string, { size: number; ms: number; mb: number }>> {
  const sessions: Record<string, { s: ort.InferenceSession; size: number; mb: number }> = {};
  for (const id of [NEW, OLD]) {
    const m = ManifestSchema.parse(JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')));
    const k = m.size.kind === 'dynamic' ? m.size.multiple : 1;
    const bytes = readFileSync(join(models, id, m.file));
    const s = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
      interOpNumThreads: 1,
    });
    sessions[id] = { s, size: Math.max(k, Math.round(renderSize / k) * k), mb: bytes.length / 2 ** 20 };
  }
  const times: Record<string, number[]> = { [NEW]: [], [OLD]: [] };
  const feed = (size: number) => ({
    input: new ort.Tensor('float32', new Float32Array(size * size).fill(0.5), [1, 1, size, size]),
  });
  for (const id of [NEW, OLD]) await sessions[id].s.run(feed(sessions[id].size)); // warm-up (weight packing)
  for (let i = 0; i < reps; i++) {
    for (const id of i % 2 ? [OLD, NEW] : [NEW, OLD]) {
      const t = performance.now();
      await sessions[id].s.run(feed(sessions[id].size));
      times[id].push(performance.now() - t);
    }
  }
  const out: Record<string, { size: number; ms: number; mb: number }> = {};
  for (const id of [NEW, OLD])
    out[id] = { size: sessions[id].size, ms: median(times[id]), mb: sessions[id].mb };
  return out;
}

function cli(args: string[]): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tintype.js'), ...args], {
    cwd: root,
    env: { ...process.env, TINTYPE_MODELS_DIR: models },
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  return { ms, out: must(r, `tintype ${args.join(' ')}`) };
}

async function endToEnd(): Promise<Record<string, { ms: number; modelMs: number }>> {
  const photo = join(work, 'photo-12mp.jpg');
  await greyScan(photo, 4000, 3000);
  const runs: Record<string, { ms: number; modelMs: number }[]> = { [NEW]: [], [OLD]: [] };
  for (let i = 0; i < Math.max(3, Math.min(reps, 5)); i++) {
    for (const id of i % 2 ? [OLD, NEW] : [NEW, OLD]) {
      const out = mkdtempSync(join(work, 'out-'));
      const r = cli([
        'colorize',
        photo,
        '-o',
        out,
        '--model',
        id,
        '--render-size',
        String(renderSize),
        '--json',
      ]);
      const row = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { inferenceMs?: number };
      runs[id].push({ ms: r.ms, modelMs: row.inferenceMs ?? NaN });
    }
  }
  const res: Record<string, { ms: number; modelMs: number }> = {};
  for (const id of [NEW, OLD])
    res[id] = { ms: median(runs[id].map((x) => x.ms)), modelMs: median(runs[id].map((x) => x.modelMs)) };
  return res;
}

/* The film bench's flicker clip (bench/video.ts): testsrc2 320x240, 2 s, greyscale with temporal grain. */
function flicker(): Record<string, { off: number; on: number }> | string {
  const clip = join(work, 'flicker-src.mkv');
  // prettier-ignore
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=24:duration=2',
    '-vf', 'noise=alls=6:allf=t,format=gray', '-c:v', 'ffv1', clip,
  ]);
  if (r.status !== 0) return `ffmpeg could not make the clip (${r.error?.message ?? r.status})`;
  const res: Record<string, { off: number; on: number }> = {};
  for (const id of [NEW, OLD]) {
    const one = (smooth: boolean) => {
      const out = join(work, `flicker-${id}-${smooth}.mkv`);
      const extra = smooth ? ['--smooth-chroma'] : [];
      const { out: text } = cli([
        'video',
        clip,
        '-o',
        out,
        '--model',
        id,
        '--render-size',
        String(renderSize),
        '--flicker',
        '--json',
        '--quiet',
        ...extra,
      ]);
      const row = JSON.parse(text.trim().split('\n').pop() ?? '{}') as {
        flicker?: { meanChromaChange: number };
      };
      return row.flicker?.meanChromaChange ?? NaN;
    };
    res[id] = { off: one(false), on: one(true) };
  }
  return res;
}

const { newVersion, oldVersion } = install();
const mo = flickerOnly ? undefined : await modelOnly();
const e2e = flickerOnly ? undefined : await endToEnd();
const fl = skipFlicker ? 'skipped (--skip-flicker)' : flicker();

const f0 = (n: number) => n.toFixed(0);
console.log(
  `\nColorizer ${newVersion} vs ${oldVersion} — ${cpus().length}× ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?'} at the end, Node ${process.version}; render size ${renderSize}${mo ? ` (runs at ${mo[NEW].size} / ${mo[OLD].size}), median of ${reps}` : ''}\n`,
);
console.log(`| measurement | ${newVersion} | ${oldVersion} | ratio (new / old) | goal |`);
console.log('|---|---|---|---|---|');
function printSpeed(
  mo: Record<string, { size: number; ms: number; mb: number }>,
  e2e: Record<string, { ms: number; modelMs: number }>,
) {
  console.log(`| ONNX file | ${mo[NEW].mb.toFixed(1)} MiB | ${mo[OLD].mb.toFixed(1)} MiB | | |`);
  const ratio = mo[NEW].ms / mo[OLD].ms;
  console.log(
    `| model only (onnxruntime-node, ${mo[NEW].size}²) | ${f0(mo[NEW].ms)} ms | ${f0(mo[OLD].ms)} ms | ${ratio.toFixed(2)}× | ≤ 2× (${ratio <= 2 ? 'met' : 'missed'}) |`,
  );
  const r2 = e2e[NEW].ms / e2e[OLD].ms;
  console.log(
    `| \`tintype colorize\` 12 MP, process start to exit | ${f0(e2e[NEW].ms)} ms | ${f0(e2e[OLD].ms)} ms | ${r2.toFixed(2)}× | ≤ 2× (${r2 <= 2 ? 'met' : 'missed'}) |`,
  );
  console.log(
    `| of which inference (CLI's inferenceMs) | ${f0(e2e[NEW].modelMs)} ms | ${f0(e2e[OLD].modelMs)} ms | ${(e2e[NEW].modelMs / e2e[OLD].modelMs).toFixed(2)}× | |`,
  );
}
if (mo && e2e) printSpeed(mo, e2e);
if (typeof fl === 'string') console.log(`| flicker | ${fl} | | | |`);
else {
  for (const smooth of ['off', 'on'] as const) {
    const a = fl[NEW][smooth];
    const b = fl[OLD][smooth];
    console.log(
      `| flicker, test clip, smoothing ${smooth} (mean chroma change in static areas, 8-bit levels) | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(a / b).toFixed(2)}× | ${smooth === 'off' ? `no worse (${a <= b ? 'met' : 'missed'})` : ''} |`,
    );
  }
}
rmSync(work, { recursive: true, force: true });
