/**
 * Speed peer (issue "Training toolkit and the bundled decrappifier and colorizer"): the bundled
 * colorizer's own checkpoint run the way DeOldify runs its models (PyTorch eager on the CPU: PIL
 * decode, grey, square resize, model, resize back, original Y under the predicted chroma, JPEG)
 * against Tintype's end-to-end CLI with the ONNX export of that same checkpoint, on a 12 MP photo,
 * alternating, in one run. Goal: Tintype ≥ 2× faster end to end.
 *
 * Both sides get every core (Debian's torch 1.13 would start with one thread; the peer is told
 * the core count, as a stock PyTorch build would use).
 *
 * Run: npm run bench -- colorize-peer [--checkpoint=PATH] [--render-size=256] [--reps=3] [--batch=4]
 * It prints a Markdown table; copy it into docs/training.md.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { greyScan } from './_photo';

const root = join(import.meta.dirname, '..');
const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
// The bundled colorizer's checkpoint first (1.x: a slim checkpoint whose encoder is reloaded from
// ../shared/weights), then the interim 0.1's.
const candidates = [
  'training/checkpoints/colorize-mnv2-cpu/best_gen.pt',
  'training/checkpoints/colorize-cpu/best_gen.pt',
  'training/runs/colorize-cpu/best_gen.pt',
  'training/checkpoints/colorize/best_gen.pt',
].map((p) => join(root, p));
const checkpoint = arg('checkpoint', candidates.find((p) => existsSync(p)) ?? '');
if (!checkpoint || !existsSync(checkpoint)) {
  console.error(
    `colorize-peer: no colorizer checkpoint (looked for ${candidates.join(', ')}); pass --checkpoint=PATH`,
  );
  process.exit(1);
}
const renderSize = Number(arg('render-size', '256'));
const reps = Number(arg('reps', '3'));
const batch = Number(arg('batch', '4'));
const threads = availableParallelism();
const trainCli = join(root, 'training', 'tintype-train');

const work = mkdtempSync(join(tmpdir(), 'tintype-peer-'));
const models = join(work, 'models');
const id = 'peer-colorize';

function must(r: ReturnType<typeof spawnSync>, what: string): string {
  if (r.status !== 0) {
    console.error(`colorize-peer: ${what} failed (${r.status}):\n${String(r.stderr)}`);
    process.exit(1);
  }
  return String(r.stdout);
}

/* The same weights on both sides: export the checkpoint the peer loads. */
must(
  spawnSync(
    trainCli,
    [
      'export',
      '--checkpoint',
      checkpoint,
      '--out',
      join(models, id),
      '--id',
      id,
      '--name',
      'speed peer',
      '--parity-dir',
      join(work, 'parity'),
    ],
    { cwd: root, encoding: 'utf8' },
  ),
  'export',
);

const photo = join(work, 'photo-12mp.jpg');
await greyScan(photo, 4000, 3000);
const batchDir = join(work, 'batch');
mkdirSync(batchDir);
const batchFiles = Array.from({ length: batch }, (_, i) => join(batchDir, `photo-${i}.jpg`));
for (const f of batchFiles) copyFileSync(photo, f);

interface Run {
  ms: number;
  /** CPU time (user + system) of the process and its children: steadier than wall time on a busy machine. */
  cpuMs: number;
  modelMs: number;
  maxRssMb: number;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const useTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M CPU_S=%U+%S', cmd, ...args], {
        cwd: root,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      })
    : spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const out = must(r, `${cmd} ${args.join(' ')}`);
  const m = /MAXRSS_KB=(\d+)/.exec(String(r.stderr));
  const c = /CPU_S=([\d.]+)\+([\d.]+)/.exec(String(r.stderr));
  const cpuMs = c ? (Number(c[1]) + Number(c[2])) * 1000 : NaN;
  return { ms, cpuMs, out, maxRssMb: m ? Number(m[1]) / 1024 : NaN };
}

function pytorch(inputs: string[]): Run {
  const outDir = mkdtempSync(join(work, 'py-'));
  const r = timed(trainCli, [
    'peer-colorize',
    '--checkpoint',
    checkpoint,
    '--render',
    String(renderSize),
    '--threads',
    String(threads),
    '--out-dir',
    outDir,
    ...inputs,
  ]);
  const res = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { photos: { model_s: number }[] };
  const modelMs = (res.photos.reduce((a, p) => a + p.model_s, 0) / res.photos.length) * 1000;
  return { ms: r.ms, cpuMs: r.cpuMs, modelMs, maxRssMb: r.maxRssMb };
}

function tintype(inputs: string[]): Run {
  const outDir = mkdtempSync(join(work, 'tt-'));
  const r = timed(
    process.execPath,
    [
      join(root, 'bin', 'tintype.js'),
      'colorize',
      ...inputs,
      '-o',
      outDir,
      '--model',
      id,
      '--render-size',
      String(renderSize),
      '--json',
    ],
    { TINTYPE_MODELS_DIR: models },
  );
  const rows = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ok: boolean; inferenceMs?: number; error?: string });
  const bad = rows.find((x) => !x.ok);
  if (bad) {
    console.error(`colorize-peer: tintype failed: ${bad.error}`);
    process.exit(1);
  }
  const modelMs = rows.reduce((a, x) => a + (x.inferenceMs ?? NaN), 0) / rows.length;
  return { ms: r.ms, cpuMs: r.cpuMs, modelMs, maxRssMb: r.maxRssMb };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const single = { py: [] as Run[], tt: [] as Run[] };
for (let i = 0; i < reps; i++) {
  // Alternate which goes first, so neither always meets a cold page cache or a busy neighbour.
  if (i % 2 === 0) {
    single.tt.push(tintype([photo]));
    single.py.push(pytorch([photo]));
  } else {
    single.py.push(pytorch([photo]));
    single.tt.push(tintype([photo]));
  }
}
const batchPy = pytorch(batchFiles);
const batchTt = tintype(batchFiles);

const manifest = JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')) as { sha256: string };
const f = (n: number) => n.toFixed(0);
const pyMs = median(single.py.map((r) => r.ms));
const ttMs = median(single.tt.map((r) => r.ms));
const pyCpu = median(single.py.map((r) => r.cpuMs));
const ttCpu = median(single.tt.map((r) => r.cpuMs));
const cpuNote = (py: number, tt: number) => ` (CPU ${f(py)} / ${f(tt)} ms: ${(py / tt).toFixed(2)}×)`;
console.log(
  `\nColorize speed peer — load average ${loadavg()[0].toFixed(1)}, ${cpus().length}× ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
console.log(
  `checkpoint ${checkpoint.replace(root + '/', '')} (ONNX sha256 ${manifest.sha256.slice(0, 12)}…), render size ${renderSize}, 12 MP grey JPEG, PyTorch threads ${threads}, median of ${reps}\n`,
);
console.log('| measurement | PyTorch eager (DeOldify-style) | Tintype CLI | Tintype faster by | goal |');
console.log('|---|---|---|---|---|');
console.log(
  `| one 12 MP photo, process start to exit | ${f(pyMs)} ms | ${f(ttMs)} ms | ${(pyMs / ttMs).toFixed(2)}×${cpuNote(pyCpu, ttCpu)} | ≥ 2× |`,
);
console.log(
  `| of which the model (in-process) | ${f(median(single.py.map((r) => r.modelMs)))} ms | ${f(median(single.tt.map((r) => r.modelMs)))} ms | ${(median(single.py.map((r) => r.modelMs)) / median(single.tt.map((r) => r.modelMs))).toFixed(2)}× | |`,
);
console.log(
  `| ${batch} photos of 12 MP in one process | ${f(batchPy.ms)} ms | ${f(batchTt.ms)} ms | ${(batchPy.ms / batchTt.ms).toFixed(2)}×${cpuNote(batchPy.cpuMs, batchTt.cpuMs)} | ≥ 3× |`,
);
console.log(
  `| peak RSS, one photo | ${f(median(single.py.map((r) => r.maxRssMb)))} MB | ${f(median(single.tt.map((r) => r.maxRssMb)))} MB | | |`,
);
rmSync(work, { recursive: true, force: true });
