/**
 * The bundled restorer against its predecessor, in one run on one machine: model only (one
 * engine tile in onnxruntime-node) and `tintype restore` of a 12 MP photo end to end, CPU time
 * (user + sys) and wall time, alternating so that both see the same load. Goal: a new
 * tintype-restore must not make restore of a 12 MP photo much slower.
 *
 * The predecessor is exported from its committed checkpoint (tintype-restore 0.4.0:
 * training/checkpoints/restore-cpu-4/best_gen.pt), so this needs the training toolkit's Python
 * with torch, and /usr/bin/time for the CPU time of a process.
 *
 *   npm run bench -- restore-models [--reps=3] [--candidate=MODEL_DIR] [--baseline=CHECKPOINT]
 *                                   [--baseline-version=0.4.0]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ManifestSchema } from '../src/shared/manifest';
import { greyScan } from './_photo';

const root = join(import.meta.dirname, '..');
const arg = (name: string, dflt: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const reps = Number(arg('reps', '3'));
const baselineCheckpoint = resolve(root, arg('baseline', 'training/checkpoints/restore-cpu-4/best_gen.pt'));
const baselineVersion = arg('baseline-version', '0.4.0');
const candidate = resolve(root, arg('candidate', 'resources/models/tintype-restore'));

const work = mkdtempSync(join(tmpdir(), 'tintype-restore-models-'));
const models = join(work, 'models');
const NEW = 'bench-restore-new';
const OLD = 'bench-restore-old';

function fail(what: string, detail: string): never {
  console.error(`restore-models: ${what}:\n${detail}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

function setId(dir: string, id: string, version?: string): string {
  const file = join(dir, 'manifest.json');
  const m = ManifestSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  writeFileSync(file, JSON.stringify({ ...m, id, ...(version ? { version } : {}) }, null, 2));
  return m.version;
}

/* The candidate, copied under its own id, and the predecessor exported from its checkpoint. */
function install(): string {
  cpSync(candidate, join(models, NEW), { recursive: true });
  const newVersion = setId(join(models, NEW), NEW);
  if (!existsSync(baselineCheckpoint))
    fail('no baseline checkpoint', `${baselineCheckpoint} (--baseline=PATH)`);
  // prettier-ignore
  const r = spawnSync(join(root, 'training', 'tintype-train'), [
    'export', '--checkpoint', baselineCheckpoint, '--out', join(models, OLD), '--id', OLD,
    '--name', 'baseline', '--parity-dir', join(work, 'parity'),
  ], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) fail('exporting the baseline checkpoint (needs python3 with torch)', String(r.stderr));
  setId(join(models, OLD), OLD, baselineVersion);
  return newVersion;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Model only: one session per model (one intra-op thread, as a tile worker), on one engine tile. */
async function modelOnly(): Promise<Record<string, { size: number; ms: number; mb: number }>> {
  const sessions: Record<string, { s: ort.InferenceSession; size: number; mb: number }> = {};
  for (const id of [NEW, OLD]) {
    const m = ManifestSchema.parse(JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')));
    const bytes = readFileSync(join(models, id, m.file));
    const s = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    sessions[id] = { s, size: m.tile?.size ?? 256, mb: bytes.length / 2 ** 20 };
  }
  if (sessions[NEW].size !== sessions[OLD].size) console.log('(the two models tile at different sizes)');
  const feed = (size: number) => {
    const data = new Float32Array(3 * size * size);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000; // texture, not a flat field
    return { input: new ort.Tensor('float32', data, [1, 3, size, size]) };
  };
  for (const id of [NEW, OLD]) await sessions[id].s.run(feed(sessions[id].size)); // warm-up
  const times: Record<string, number[]> = { [NEW]: [], [OLD]: [] };
  for (let i = 0; i < Math.max(5, reps * 3); i++) {
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

/** `tintype restore` of a 12 MP photo: process start to exit, wall and CPU (user + sys). */
async function endToEnd(): Promise<Record<string, { wallMs: number; cpuMs: number }>> {
  const photo = join(work, 'photo-12mp.jpg');
  await greyScan(photo, 4000, 3000);
  const runs: Record<string, { wallMs: number; cpuMs: number }[]> = { [NEW]: [], [OLD]: [] };
  for (let i = 0; i < reps; i++) {
    for (const id of i % 2 ? [OLD, NEW] : [NEW, OLD]) {
      const t0 = performance.now();
      // prettier-ignore
      const r = spawnSync('/usr/bin/time', [
        '-f', 'TIME %U %S', process.execPath, join(root, 'bin', 'tintype.js'),
        'restore', photo, '-o', join(work, `out-${id}.jpg`), '--model', id, '--overwrite', '-q',
      ], { cwd: root, env: { ...process.env, TINTYPE_MODELS_DIR: models }, encoding: 'utf8' });
      const wallMs = performance.now() - t0;
      const m = /TIME ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
      if (r.status !== 0 || !m) fail(`tintype restore --model ${id}`, String(r.stderr));
      runs[id].push({ wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 });
    }
  }
  const res: Record<string, { wallMs: number; cpuMs: number }> = {};
  for (const id of [NEW, OLD])
    res[id] = { wallMs: median(runs[id].map((x) => x.wallMs)), cpuMs: median(runs[id].map((x) => x.cpuMs)) };
  return res;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
const newVersion = install();
const loadStart = load();
const mo = await modelOnly();
const e2e = await endToEnd();
const f0 = (n: number) => n.toFixed(0);
console.log(
  `\nRestorer ${newVersion} vs ${baselineVersion}: ${cpus().length}x ${cpus()[0]?.model ?? 'CPU'}, load average ${loadStart} at the start and ${load()} at the end, Node ${process.version}; medians, ${reps} alternating runs end to end\n`,
);
console.log(`| measurement | ${newVersion} | ${baselineVersion} | new / old |`);
console.log('|---|---|---|---|');
console.log(`| ONNX file | ${mo[NEW].mb.toFixed(1)} MiB | ${mo[OLD].mb.toFixed(1)} MiB | |`);
console.log(
  `| model only, one ${mo[NEW].size}² tile (onnxruntime-node, one thread) | ${f0(mo[NEW].ms)} ms | ${f0(mo[OLD].ms)} ms | ${(mo[NEW].ms / mo[OLD].ms).toFixed(2)}x |`,
);
console.log(
  `| \`tintype restore\` 12 MP, process start to exit, CPU (user + sys) | ${f0(e2e[NEW].cpuMs)} ms | ${f0(e2e[OLD].cpuMs)} ms | ${(e2e[NEW].cpuMs / e2e[OLD].cpuMs).toFixed(2)}x |`,
);
console.log(
  `| same, wall | ${f0(e2e[NEW].wallMs)} ms | ${f0(e2e[OLD].wallMs)} ms | ${(e2e[NEW].wallMs / e2e[OLD].wallMs).toFixed(2)}x |`,
);
rmSync(work, { recursive: true, force: true });
