/**
 * Repair quality through the app's own engine (not a test).
 *
 * 1. Held-out photos (Kodak24 + McMaster, never in the training pack) get synthetic print damage
 *    with a known mask: `training/tintype-train damage-set` (deterministic, seed 1000).
 * 2. The engine detects the damage with the repair model (its threshold, growth 0), fills the TRUE
 *    mask with each filler (the classical fill, and a learned inpainter when one is installed or
 *    given), and runs the whole repair as users get it (detected mask, grown, default filler).
 * 3. `training/tintype-train score-repair` scores it with the toolkit's own metrics: pixel precision,
 *    recall, F1 and IoU of the detection; PSNR (RGB) and SSIM (Y) inside the true mask.
 * 4. Real damaged prints (../shared/datasets/bw) before and after, with the mask in red, as a
 *    contact sheet with 1:1 crops (`--sheet=FILE`).
 *
 * Goals (issue #19): F1 >= 0.8 on synthetic damage; PSNR inside the mask >= 8 dB above the damaged
 * input's; on the real prints no scratch left in the crops and no texture wiped out (by eye).
 *
 *   npm run bench -- repair-quality [--limit=N] [--detector=ID] [--learned=ID] [--models=DIR]
 *                                   [--sheet=docs/repair-sheet.jpg] [--prints=N] [--json=FILE]
 *
 * --limit=N takes N photos from each of Kodak24 and McMaster; --prints=N the first N real prints.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { Engine, type OpOptions, type Raster } from '../src/engine';
import type { RunMasks } from '../src/engine/engine';
import { bundledModelsDir, userModelsDir } from '../src/engine/models/paths';
import type { Mask } from '../src/engine/repair/mask';
import { missingTorch, runToolkit } from '../training/runner';
import { sharedDatasets } from './_photo';

const root = resolve(import.meta.dirname, '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const limit = Number(arg('limit') ?? 0);
const extraModels = arg('models');
const sheetFile = arg('sheet');
const jsonFile = arg('json');
const prints = Number(arg('prints') ?? 8);

const why = await missingTorch();
const datasets = sharedDatasets(root);
if (why || !datasets) {
  console.log(
    `repair-quality skipped: ${why ?? 'no ../shared/datasets'} (the damage set and the scores come from training/)`,
  );
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'tintype-repair-quality-'));
const setDir = join(work, 'set');
const outDir = join(work, 'out');
const models = join(work, 'models');

async function readRgb(file: string): Promise<Raster> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, depth: 8, data: new Uint8Array(data) };
}

async function readGrey(file: string): Promise<Mask> {
  const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

const png = (r: Raster, file: string) =>
  sharp(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), {
    raw: { width: r.width, height: r.height, channels: r.channels },
  })
    .png()
    .toFile(file);
const maskPng = (m: Mask, file: string) =>
  sharp(Buffer.from(m.data), { raw: { width: m.width, height: m.height, channels: 1 } })
    .png()
    .toFile(file);

try {
  await runToolkit(
    ['damage-set', '--datasets', datasets, '--out', setDir, ...(limit ? ['--limit', String(limit)] : [])],
    {
      timeoutMs: 600_000,
    },
  );
  const index = JSON.parse(readFileSync(join(setDir, 'index.json'), 'utf8')) as { items: { name: string }[] };

  const dirs = [models, ...(extraModels ? [resolve(extraModels)] : []), userModelsDir(), bundledModelsDir()];
  const probe = new Engine({ modelDirs: dirs, ep: 'cpu' });
  const detector = await probe.registry.resolve('repair', { id: arg('detector') });
  const { manifestPath, modelPath, ...manifest } = detector;
  const classical = 'tintype-fill';
  const learned = arg('learned');
  // Detection is scored before growth: a copy of the detector whose manifest grows by 0 px.
  const plainId = `${detector.id}-nogrow`;
  mkdirSync(join(models, plainId), { recursive: true });
  void manifestPath;
  copyFileSync(modelPath, join(models, plainId, basename(modelPath)));
  writeFileSync(
    join(models, plainId, 'manifest.json'),
    JSON.stringify({ ...manifest, id: plainId, output: { ...manifest.output, grow: 0 } }),
  );
  const engine = new Engine({ modelDirs: dirs, ep: 'cpu' });
  const fillers: Record<string, string> = { classical, ...(learned ? { learned } : {}) };
  for (const k of ['detected', 'repaired', ...Object.keys(fillers)])
    mkdirSync(join(outDir, k), { recursive: true });

  const t0 = performance.now();
  for (const { name } of index.items) {
    const damaged = await readRgb(join(setDir, `${name}.damaged.png`));
    const truth = await readGrey(join(setDir, `${name}.mask.png`));
    let detected: Mask | undefined;
    const full = await repairRun(
      engine,
      damaged,
      { models: { repair: plainId } },
      {
        onMask: (m) => (detected = m),
      },
    );
    void full;
    await maskPng(detected!, join(outDir, 'detected', `${name}.png`));
    const repaired = await repairRun(engine, damaged, { models: { repair: detector.id } });
    await png(repaired.raster, join(outDir, 'repaired', `${name}.png`));
    for (const [k, id] of Object.entries(fillers)) {
      const r = await repairRun(
        engine,
        damaged,
        { models: { inpaint: id } },
        {
          mask: truth,
        },
      );
      await png(r.raster, join(outDir, k, `${name}.png`));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const scores = await runToolkit(
    [
      'score-repair',
      '--set-dir',
      setDir,
      '--out-dir',
      outDir,
      ...(jsonFile ? ['--json', resolve(jsonFile)] : []),
    ],
    { timeoutMs: 600_000 },
  );
  console.log(
    `repair-quality: ${index.items.length} photos, detector ${detector.id}, fillers ${JSON.stringify(fillers)}, ` +
      `engine ${seconds.toFixed(0)} s at load ${loadavg()[0].toFixed(1)}`,
  );
  console.log(
    '(classical and learned fill the TRUE mask; "repaired" is the whole op: detected mask, grown, default filler)',
  );
  console.log(scores);

  if (sheetFile) await realSheet(engine, detector.id, resolve(sheetFile));
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * Real prints, repaired as users get it: per print, the whole print before | after (shrunk), then two
 * 1:1 crops before | after | the mask in red, at the places with the most detected damage.
 */
async function realSheet(engine: Engine, detectorId: string, file: string): Promise<void> {
  const names = [
    'deoldify-test-images/1860Girls.jpg',
    'deoldify-test-images/MementoMori1865.jpg',
    'deoldify-test-images/marktwain.jpg',
    'deoldify-test-images/NativeWoman1926.jpg',
    'deoldify-test-images/1864UnionSoldier.jpg',
    'deoldify-test-images/FarmWomen1895.jpg',
    'getty-open-content/dust-bowl-home.jpg',
    'getty-open-content/locomotion-house-cat.jpg',
  ].slice(0, prints);
  const C = 200; // crop edge, 1:1
  const T = 2 * C; // thumbnail box
  const rows: Buffer[] = [];
  for (const n of names) {
    const before = await readRgb(join(datasets!, 'bw', n));
    let mask: Mask | undefined;
    const after = (
      await repairRun(
        engine,
        before,
        { models: { repair: detectorId } },
        {
          onMask: (m) => (mask = m),
        },
      )
    ).raster;
    const crops = densest(mask!, C, 2);
    const tiles: OverlayOptions[] = [];
    const raw = (r: Raster) => ({ raw: { width: r.width, height: r.height, channels: r.channels } });
    const thumb = async (r: Raster) =>
      sharp(Buffer.from(r.data), raw(r)).resize(T, T, { fit: 'inside' }).png().toBuffer();
    tiles.push(
      { input: await thumb(before), left: 0, top: 0 },
      { input: await thumb(after), left: T, top: 0 },
    );
    const red = overlay(before, mask!);
    for (let k = 0; k < crops.length; k++) {
      const [x, y] = crops[k];
      const region = {
        left: x,
        top: y,
        width: Math.min(C, before.width - x),
        height: Math.min(C, before.height - y),
      };
      for (const [j, r] of [before, after, red].entries()) {
        tiles.push({
          input: await sharp(Buffer.from(r.data), raw(r)).extract(region).png().toBuffer(),
          left: 2 * T + j * C,
          top: k * C,
        });
      }
    }
    rows.push(
      await sharp({ create: { width: 2 * T + 3 * C, height: T, channels: 3, background: '#202020' } })
        .composite(tiles)
        .png()
        .toBuffer(),
    );
  }
  await sharp({
    create: { width: 2 * T + 3 * C, height: T * rows.length, channels: 3, background: '#202020' },
  })
    .composite(rows.map((input, i) => ({ input, left: 0, top: i * T })))
    .jpeg({ quality: 88 })
    .toFile(file);
  console.log(`repair-quality: contact sheet of ${names.length} real prints -> ${file}`);
}

/** The repair op alone through the engine, with the user's mask or a callback that receives the mask used. */
function repairRun(engine: Engine, raster: Raster, options: OpOptions, masks: RunMasks = {}) {
  return engine.run(raster, ['repair'], options, undefined, undefined, undefined, undefined, masks);
}

/** The picture with the mask's pixels tinted red (for the sheet). */
function overlay(r: Raster, m: Mask): Raster {
  const out = new Uint8Array(r.data);
  for (let i = 0; i < m.data.length; i++) {
    if (m.data[i] >= 128) {
      out[i * 3] = Math.round(0.4 * out[i * 3] + 153);
      out[i * 3 + 1] = Math.round(0.4 * out[i * 3 + 1]);
      out[i * 3 + 2] = Math.round(0.4 * out[i * 3 + 2]);
    }
  }
  return { ...r, data: out };
}

/** Top-left corners of `count` non-overlapping C×C windows holding the most marked pixels. */
function densest(m: Mask, c: number, count: number): [number, number][] {
  const step = c / 4;
  const cells: { x: number; y: number; n: number }[] = [];
  for (let y = 0; y + c <= m.height; y += step) {
    for (let x = 0; x + c <= m.width; x += step) {
      let n = 0;
      for (let yy = y; yy < y + c; yy += 2)
        for (let xx = x; xx < x + c; xx += 2) n += m.data[yy * m.width + xx] >= 128 ? 1 : 0;
      cells.push({ x, y, n });
    }
  }
  cells.sort((a, b) => b.n - a.n);
  const picked: [number, number][] = [];
  for (const cell of cells) {
    if (picked.every(([x, y]) => Math.abs(x - cell.x) >= c || Math.abs(y - cell.y) >= c))
      picked.push([cell.x, cell.y]);
    if (picked.length === count) break;
  }
  return picked;
}
