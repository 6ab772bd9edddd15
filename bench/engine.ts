/**
 * Engine benchmark (issue "Restoration core"): on a 12 MP photo, model-only time against the
 * end-to-end CLI (goal ≤ 1.3×), and the CLI's peak RSS on a 40 MP photo (goal ≤ 1.5 GB).
 * Run: npm run bench -- engine   (writes a table to stdout; copy it into docs/benchmarks.md)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { greyScan } from './_photo';
import { installBenchColorizer } from './models';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'tintype-bench-'));
const models = join(work, 'models');
const id = installBenchColorizer(models);
const renderSize = Number(process.env.BENCH_RENDER_SIZE ?? 280);

function timeCli(args: string[]): { ms: number; maxRssMb: number; ok: boolean; err: string } {
  const useTime = existsSync('/usr/bin/time');
  const cmd = useTime ? '/usr/bin/time' : process.execPath;
  const full = useTime
    ? ['-f', 'MAXRSS_KB=%M', process.execPath, join(root, 'bin', 'tintype.js'), ...args]
    : [join(root, 'bin', 'tintype.js'), ...args];
  const t0 = performance.now();
  const r = spawnSync(cmd, full, { env: { ...process.env, TINTYPE_MODELS_DIR: models }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { ms, maxRssMb: m ? Number(m[1]) / 1024 : NaN, ok: r.status === 0, err: r.stderr };
}

async function modelOnly(): Promise<{ createMs: number; firstRunMs: number; runMs: number }> {
  const bytes = readFileSync(join(models, id, 'model.onnx'));
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    interOpNumThreads: 1,
  });
  const createMs = performance.now() - t0;
  const input = new ort.Tensor('float32', new Float32Array(3 * renderSize * renderSize).fill(0.5), [
    1,
    3,
    renderSize,
    renderSize,
  ]);
  const tFirst = performance.now();
  await session.run({ input }); // the first run also packs weights and sizes the memory arena
  const firstRunMs = performance.now() - tFirst;
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await session.run({ input });
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  return { createMs, firstRunMs, runMs: runs[1] };
}

const p12 = join(work, 'photo-12mp.jpg');
const p40 = join(work, 'photo-40mp.jpg');
await greyScan(p12, 4000, 3000);
await greyScan(p40, 7744, 5184);

const model = await modelOnly();
const cli12 = timeCli([
  'colorize',
  p12,
  '-o',
  join(work, 'out12.jpg'),
  '--model',
  id,
  '--render-size',
  String(renderSize),
  '-q',
]);
const cli40 = timeCli([
  'colorize',
  p40,
  '-o',
  join(work, 'out40.jpg'),
  '--model',
  id,
  '--render-size',
  String(renderSize),
  '-q',
]);
if (!cli12.ok || !cli40.ok) {
  console.error(cli12.err, cli40.err);
  process.exit(1);
}

const f = (n: number) => n.toFixed(0);
console.log(
  `\nTintype engine benchmark — ${cpus().length}× ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node CPU`,
);
console.log(
  `model: ${id} (U-Net, random weights, ~86 GFLOP at 280 px, about DeOldify's cost), render size ${renderSize}\n`,
);
const cold = model.createMs + model.firstRunMs;
console.log('| measurement | value | goal |');
console.log('|---|---|---|');
console.log(`| model-only, warm: one inference at ${renderSize}² | ${f(model.runMs)} ms | |`);
console.log(
  `| model-only, cold: session creation + first inference (what one photo needs) | ${f(cold)} ms | |`,
);
console.log(`| end-to-end CLI, 12 MP JPEG in → JPEG out (process start to exit) | ${f(cli12.ms)} ms | |`);
console.log(`| ratio end-to-end / model-only (cold) | ${(cli12.ms / cold).toFixed(2)}× | ≤ 1.3× |`);
console.log(`| ratio end-to-end / model-only (warm) | ${(cli12.ms / model.runMs).toFixed(2)}× | |`);
console.log(`| end-to-end CLI, 40 MP JPEG | ${f(cli40.ms)} ms | |`);
console.log(`| peak RSS, 40 MP colorize (whole CLI process) | ${cli40.maxRssMb.toFixed(0)} MB | ≤ 1536 MB |`);
console.log(`| peak RSS, 12 MP colorize | ${cli12.maxRssMb.toFixed(0)} MB | |`);
rmSync(work, { recursive: true, force: true });
