/**
 * Render farm benchmark (issue #16): a real clip (Muybridge's "locomotion-house-cat", 24
 * consecutive frames of a real motion study from ../shared, looped to 5 s at 24 fps, with a tone)
 * colorized with a near-zero model, locally and through 1, 2 and 3 `tintype worker`s on this one
 * machine, with a real redis-server. What it measures is the farm's own cost: throughput against
 * the local render, the queue's round trip per segment (job taken, completed, seen by the
 * coordinator), the join, and Redis commands per segment and per idle worker second — the numbers
 * docs/farm.md scales to 10, 100 and 1,000 workers.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { ffmpeg } from '../tests/helpers/video-fixtures';
import { startWorker, type WorkerProcess } from '../tests/helpers/farm-workers';
import { missingRedis, startRedis } from '../tests/helpers/redis';
import { sharedDatasets } from './_photo';
import { installTinyModels } from './models';

const root = join(import.meta.dirname, '..');
const why = missingRedis();
if (why) {
  console.log(`farm bench skipped: ${why}`);
  process.exit(0);
}
const datasets = sharedDatasets(root);
const sheet = datasets && join(datasets, 'bw', 'getty-open-content', 'locomotion-house-cat.jpg');
if (!sheet) {
  console.log('farm bench skipped: ../shared/datasets (the Muybridge sheet) is not here');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'tintype-bench-farm-'));
const SEGMENT_S = 0.5;
const SECONDS = 5;
const FPS = 24;
const counts = (process.argv.find((a) => a.startsWith('--workers='))?.slice(10) ?? '1,2,3')
  .split(',')
  .map(Number);

async function makeClip(): Promise<string> {
  // The sheet: 4 rows of 6 frames; each cell cut, letterboxed to 320x240 (even sizes for 4:2:0).
  const meta = await sharp(sheet!).metadata();
  const cw = Math.floor(meta.width! / 6);
  const ch = Math.floor(meta.height! / 4);
  const frames = join(work, 'frames');
  mkdirSync(frames);
  let n = 0;
  for (let loop = 0; loop < (SECONDS * FPS) / 24; loop++)
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 6; c++)
        await sharp(sheet!)
          .extract({ left: c * cw + 4, top: r * ch + 4, width: cw - 8, height: ch - 8 })
          .greyscale()
          .resize(320, 240, { fit: 'contain', background: '#000' })
          .png()
          .toFile(join(frames, `f_${String(++n).padStart(4, '0')}.png`));
  const clip = join(work, 'cat.mp4');
  await ffmpeg([
    '-framerate',
    String(FPS),
    '-i',
    join(frames, 'f_%04d.png'),
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${SECONDS}:sample_rate=48000`,
    '-c:v',
    'libx264',
    '-preset',
    'medium',
    '-crf',
    '18',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    clip,
  ]);
  return clip;
}

interface Run {
  wallMs: number;
  result: {
    frames: number;
    segments: number;
    elapsedMs: number;
    joinMs: number;
    farm?: {
      jobs: { waitMs: number; runMs: number; renderMs: number; seenMs: number }[];
      workers: Record<string, number>;
    };
  };
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const c = spawn(process.execPath, [join(root, 'bin', 'tintype.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (code) =>
      code === 0
        ? resolve({ wallMs: Date.now() - t0, result: JSON.parse(out.trim().split('\n').pop()!) })
        : reject(new Error(`tintype ${args.join(' ')} failed (${code}):\n${err}`)),
    );
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

async function commands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

const clip = await makeClip();
const models = join(work, 'models');
const { colorize } = installTinyModels(models);
const args = (out: string, extra: string[] = []) => [
  'video',
  clip,
  '-o',
  out,
  '--ops',
  'colorize',
  '--model',
  colorize,
  '--models-dir',
  models,
  '--segment-seconds',
  String(SEGMENT_S),
  '--json',
  ...extra,
];
const redis = await startRedis();
const probe = new Redis(redis.url);
console.log(
  `machine: ${cpus().length} cores (${cpus()[0]?.model}), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the start`,
);
console.log(
  `clip: Muybridge locomotion-house-cat, 320x240, ${FPS} fps, ${SECONDS} s (${SECONDS * FPS} frames), segments of ${SEGMENT_S} s; model ${colorize} (one 3x3 conv)`,
);

const rows: string[] = [];
const local = await cli(args(join(work, 'local.mp4'), ['--threads', '1']));
rows.push(
  `| local render (no farm, --threads 1) | ${(local.wallMs / 1000).toFixed(1)} | ${((local.result.frames * 1000) / local.wallMs).toFixed(1)} | 1.00x | | | | ${local.result.joinMs} |`,
);
const segBytes: number[] = [];
for (const n of counts) {
  const workers: WorkerProcess[] = await Promise.all(
    Array.from({ length: n }, () => startWorker(redis.url, ['--models-dir', models, '--threads', '1'])),
  );
  try {
    // Idle cost: commands per second with the workers connected and nothing to do.
    const i0 = await commands(probe);
    await new Promise((r) => setTimeout(r, 10_000));
    const idlePerWorkerS = ((await commands(probe)) - i0 - 2) / 10 / n;
    const c0 = await commands(probe);
    const out = join(work, `farm-${n}.mp4`);
    const run = await cli(args(out, ['--farm', redis.url, '--threads', '1']));
    const ops = (await commands(probe)) - c0;
    const jobs = run.result.farm!.jobs;
    const overhead = jobs.map((j) => j.runMs - j.renderMs + j.seenMs);
    const firstWait = median(jobs.slice(0, n).map((j) => j.waitMs));
    const busy = Object.keys(run.result.farm!.workers).length;
    // Redis commands the render itself cost, less what the idle workers would have spent anyway.
    const perSegment = (ops - idlePerWorkerS * n * (run.wallMs / 1000)) / run.result.segments;
    rows.push(
      `| farm, ${n} worker${n > 1 ? 's' : ''} (${busy} busy) | ${(run.wallMs / 1000).toFixed(1)} | ${((run.result.frames * 1000) / run.wallMs).toFixed(1)} | ${(local.wallMs / run.wallMs).toFixed(2)}x | ${median(overhead)} (worst ${Math.max(...overhead)}) | ${firstWait} | ${perSegment.toFixed(0)} / ${idlePerWorkerS.toFixed(1)} | ${run.result.joinMs} |`,
    );
    if (!segBytes.length) {
      const size = statSync(out).size;
      segBytes.push(size / run.result.segments);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
console.log(
  '\n| run | wall s (coordinator, workers already up) | fps | vs local | queue overhead per segment, ms (median) | idle worker picks a job up, ms | Redis commands per segment / per idle worker-second | join ms |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(
  `\nsegment files: ${(segBytes[0] / 1024).toFixed(0)} KiB each (${SEGMENT_S * FPS} frames of 320x240 H.264 CRF 18)`,
);
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
probe.disconnect();
await redis.destroy();
rmSync(work, { recursive: true, force: true });
