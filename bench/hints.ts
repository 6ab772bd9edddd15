/**
 * Colour hints benchmark (issue #17): what a change of hints costs once the photo has been
 * colorized, on a 12 MP photo (4000×3000 greyscale JPEG made from a real photo in
 * ../shared/datasets, else a synthetic scan) and on the app's largest live preview (1024 px), with
 * the bundled colorizer. In one process:
 *   - first render (the model runs on the render-size picture, then the plain merge; on a new engine);
 *   - the process's first hinted render, once (it compiles the hint code: one-time costs);
 *   - then, interleaved round by round so that they see the same load: the same render again (the
 *     model's colour comes from the cache, only the merge is left: the floor), 10 strokes of 5
 *     colours, and one more stroke (the app's case: one stroke added to the 10), all three on the
 *     photo whose hint guide (its detail luminance, hints-independent) the engine already keeps;
 *     and 10 strokes on a copy of the photo rendered before without hints only (the photo's
 *     first hints: model colour cached, hint guide worked out).
 * Times are the engine's own split (processFile's timings), median of --runs (default 5); CPU time
 * of the process over the call is printed beside the wall time, as the machine is shared.
 * Run: npm run bench -- hints [--runs=5]
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Engine, type FileResult } from '../src/engine';
import { parseHintFile, type Hint } from '../src/shared/hints';
import { greyScan, sharedDatasets } from './_photo';

sharp.cache(false);
const root = join(import.meta.dirname, '..');
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5);
const work = mkdtempSync(join(tmpdir(), 'tintype-hints-bench-'));

async function makePhoto(path: string, W: number, H: number): Promise<string> {
  const data = sharedDatasets(root);
  const dir = data && join(data, 'train', 'wallpapers');
  const files = dir
    ? readdirSync(dir)
        .filter((f) => /\.jpe?g$/i.test(f))
        .sort()
    : [];
  if (!files.length) {
    await greyScan(path, W, H);
    return 'synthetic scan';
  }
  const src = join(dir!, files[Math.floor(files.length / 3)]);
  await sharp(src).resize(W, H, { fit: 'cover' }).greyscale().jpeg({ quality: 92 }).toFile(path);
  return `real photo (${files[Math.floor(files.length / 3)]})`;
}

/** 10 strokes, 5 colours, spread over the picture (deterministic). */
function strokes(W: number, H: number, n = 10): Hint[] {
  const colours = ['#c03020', '#2050c0', '#30a040', '#d0a020', '#8040a0'];
  const hints = Array.from({ length: n }, (_, k) => {
    const cx = W * (0.1 + 0.8 * ((k * 0.37) % 1));
    const cy = H * (0.1 + 0.8 * ((k * 0.61) % 1));
    const points = Array.from({ length: 24 }, (_, i) => [
      cx + W * 0.08 * Math.cos(i / 5 + k),
      cy + H * 0.06 * Math.sin(i / 4 + k),
    ]);
    return { points, radius: Math.max(3, W / 150), color: colours[k % colours.length] };
  });
  const r = parseHintFile(JSON.stringify({ hints }));
  if (!r.ok) throw new Error(r.error);
  return r.hints;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Stats = { infer: number; hints: number; merge: number; process: number; io: number; cpu: number };

/** One case of measure(): its hints, and the file of round i (the same photo unless given). */
interface Case {
  hints: Hint[];
  input?: (round: number) => string;
}

/**
 * Runs the cases in turn, `times` rounds (case 1, case 2, …, case 1, …), so that each sees the same
 * load on this shared machine, and returns each case's medians.
 */
async function measure(
  engine: Engine,
  input: string,
  cases: Case[],
  tag: string,
  times = runs,
): Promise<Stats[]> {
  const results: { r: FileResult; cpu: number }[][] = cases.map(() => []);
  for (let i = 0; i < times; i++) {
    for (const [k, c] of cases.entries()) {
      const c0 = process.cpuUsage();
      const r = await engine.processFile({
        input: c.input?.(i) ?? input,
        output: join(work, `${tag}-${k}-${i}.jpg`),
        ops: ['colorize'],
        options: { hints: c.hints },
        overwrite: true,
      });
      const cpu = process.cpuUsage(c0);
      if (!r.ok) throw new Error(r.error);
      results[k].push({ r, cpu: (cpu.user + cpu.system) / 1000 });
    }
  }
  return results.map((rs) => {
    const t = (k: 'inferMs' | 'mergeMs' | 'hintsMs' | 'processMs' | 'readMs' | 'writeMs') =>
      median(rs.map((x) => x.r.timings?.[k] ?? 0));
    return {
      infer: t('inferMs'),
      hints: t('hintsMs'),
      merge: t('mergeMs'),
      process: t('processMs'),
      io: t('readMs') + t('writeMs'),
      cpu: median(rs.map((x) => x.cpu)),
    };
  });
}

const f0 = (n: number) => n.toFixed(0);
console.log(
  `machine: ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at start`,
);
for (const [W, H] of [
  [4000, 3000],
  [1024, 768],
]) {
  const input = join(work, `photo-${W}.jpg`);
  const what = await makePhoto(input, W, H);
  const engine = new Engine();
  const ten = strokes(W, H);
  // Runs the model once (the colour is cached for the rest); its number is taken on a new engine below.
  await measure(engine, input, [{ hints: [] }], `first-${W}`, 1);
  // Copies of the photo (other files, the same pixels), one a round, their model colour cached
  // but never rendered with hints: the first hints on a photo, which work out its hint guide.
  const copies = Array.from({ length: runs }, (_, i) => join(work, `copy-${W}-${i}.jpg`));
  for (const c of copies) copyFileSync(input, c);
  for (const c of copies) await measure(engine, c, [{ hints: [] }], `prime-${W}`, 1);
  const fresh = new Engine();
  const c0 = process.cpuUsage();
  const r0 = await fresh.processFile({
    input,
    output: join(work, `cold-${W}.jpg`),
    ops: ['colorize'],
    options: {},
    overwrite: true,
  });
  const cold = process.cpuUsage(c0);
  // The process's first hinted render pays one-time costs (compiling the hint code and kernel);
  // reported on its own, then the floor and the hinted rows are measured warm, interleaved.
  const [coldHints] = await measure(engine, input, [{ hints: strokes(W, H, 3) }], `cold-hints-${W}`, 1);
  const [floor, hinted, eleven, firstOnPhoto] = await measure(
    engine,
    input,
    [
      { hints: [] },
      { hints: ten },
      { hints: [...ten, ...strokes(W, H, 11).slice(10)] },
      { hints: ten, input: (i) => copies[i] },
    ],
    `warm-${W}`,
  );
  console.log(`\n#### ${W}×${H} (${((W * H) / 1e6).toFixed(1)} MP), ${what}, bundled colorizer\n`);
  console.log(
    '| step | model ms | hints (grid solve) ms | merge ms (incl. hints) | colorize step ms | CPU ms | decode+encode ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const t = r0.timings!;
  console.log(
    `| first render (model runs; new engine, its session load excluded) | ${f0(t.inferMs ?? 0)} | – | ${f0(t.mergeMs ?? 0)} | ${f0(t.processMs)} | ${f0((cold.user + cold.system) / 1000)} | ${f0(t.readMs + t.writeMs)} |`,
  );
  const row = (name: string, m: typeof floor) =>
    console.log(
      `| ${name} | ${f0(m.infer)} | ${m.hints ? f0(m.hints) : '–'} | ${f0(m.merge)} | ${f0(m.process)} | ${f0(m.cpu)} | ${f0(m.io)} |`,
    );
  row('re-render, no hints (model colour cached): the floor', floor);
  row("the process's first hinted render (3 strokes; one-time code and kernel compilation)", coldHints);
  row('re-render, 10 strokes in 5 colours', hinted);
  row('re-render, 11 strokes (one added)', eleven);
  row("10 strokes, the photo's first hints (its hint guide worked out)", firstOnPhoto);
  console.log(
    `\nhints re-render / floor, CPU time: ${(hinted.cpu / floor.cpu).toFixed(2)}× (one stroke added ${(eleven.cpu / floor.cpu).toFixed(2)}×, the photo's first hints ${(firstOnPhoto.cpu / floor.cpu).toFixed(2)}×); wall (colorize step): ${(hinted.process / floor.process).toFixed(1)}×; ` +
      `propagation ${f0(hinted.hints)} ms of ${f0(hinted.process)} ms wall`,
  );
}
console.log(
  `\nload ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at end`,
);
rmSync(work, { recursive: true, force: true });
