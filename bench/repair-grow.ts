/**
 * How the detected mask is grown (issue #19, texture kept): the repair op as users get it (the
 * default detector and filler) with the mask grown three ways: not at all, blindly (a square around
 * every mark, as before), and into pixels the detector gives at least GROW_FLOOR (the engine's way).
 * Scored on synthetic damage with a known mask: PSNR inside the true mask (higher: damage removed),
 * the share of pixels changed more than 4 px from any damage (lower: less of the picture wiped), and
 * the share marked.
 *
 *   npm run bench -- repair-grow [--source=eval/sr/BSD100] [--seed=7] [--limit=14]
 *
 * The floor was picked on the defaults here (BSD100, seed 7); `--source=eval/denoise/Kodak24
 * --source=eval/denoise/McMaster --seed=1000 --limit=6` (repair-quality's photos) checks it on others.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { Engine, type Raster } from '../src/engine';
import { bundledModelsDir, userModelsDir } from '../src/engine/models/paths';
import { runTiled } from '../src/engine/ops/tiled';
import { detectDamage, GROW_FLOOR } from '../src/engine/repair/detect';
import { runInpaint } from '../src/engine/repair/inpaint';
import { binary, growMask, type Mask } from '../src/engine/repair/mask';
import { MASK_DEFAULTS } from '../src/shared/manifest';
import { missingTorch, runToolkit } from '../training/runner';
import { sharedDatasets } from './_photo';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const all = (name: string) =>
  args.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
const sources = all('source').length ? all('source') : ['eval/sr/BSD100'];
const seed = all('seed')[0] ?? '7';
const limit = all('limit')[0] ?? '14';

const why = await missingTorch();
const datasets = sharedDatasets(root);
if (why || !datasets) {
  console.log(`repair-grow skipped: ${why ?? 'no ../shared/datasets'} (the damage set comes from training/)`);
  process.exit(0);
}

async function readRgb(file: string): Promise<Raster> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, depth: 8, data: new Uint8Array(data) };
}

const work = mkdtempSync(join(tmpdir(), 'tintype-repair-grow-'));
try {
  await runToolkit(
    [
      'damage-set',
      '--datasets',
      datasets,
      '--out',
      work,
      '--seed',
      seed,
      '--limit',
      limit,
      ...sources.flatMap((s) => ['--source', s]),
    ],
    { timeoutMs: 600_000 },
  );
  const items = (JSON.parse(readFileSync(join(work, 'index.json'), 'utf8')) as { items: { name: string }[] })
    .items;
  const engine = new Engine({ modelDirs: [userModelsDir(), bundledModelsDir()], ep: 'cpu' });
  const detector = await engine.sessions.get(await engine.registry.resolve('repair', {}));
  const filler = await engine.sessions.get(await engine.registry.resolve('inpaint', {}));
  const out = detector.manifest.output;
  const threshold = (out.threshold ?? MASK_DEFAULTS.threshold) * 255;
  const grow = out.grow ?? MASK_DEFAULTS.grow;
  type Way = (r: Raster) => Promise<Mask>;
  const plain: Way = async (r) => {
    const p = (await runTiled(r, detector, { mask: true })).data as Uint8Array;
    return { width: r.width, height: r.height, data: await binary(p, r.width, r.height, threshold) };
  };
  const ways: [string, Way][] = [
    ['none', plain],
    [`blind square, ${grow} px (before)`, async (r) => growMask(await plain(r), grow)],
    [`into p >= ${GROW_FLOOR}, ${grow} px (the engine)`, (r) => detectDamage(r, detector)],
  ];
  const sums = ways.map(() => ({ psnr: 0, changed: 0, marked: 0 }));
  let damagedPsnr = 0;
  for (const { name } of items) {
    const damaged = await readRgb(join(work, `${name}.damaged.png`));
    const clean = await readRgb(join(work, `${name}.clean.png`));
    const { width: w, height: h } = damaged;
    const truth = new Uint8Array(
      await sharp(join(work, `${name}.mask.png`))
        .extractChannel(0)
        .raw()
        .toBuffer(),
    );
    const near = await growMask({ width: w, height: h, data: truth.map((v) => (v ? 255 : 0)) }, 4);
    const psnr = (a: Raster['data']) => {
      let s = 0;
      let n = 0;
      for (let i = 0; i < w * h; i++) {
        if (!truth[i]) continue;
        for (let c = 0; c < 3; c++) s += (a[i * 3 + c] - clean.data[i * 3 + c]) ** 2;
        n += 3;
      }
      return 10 * Math.log10((255 * 255 * n) / Math.max(s, 1e-9));
    };
    damagedPsnr += psnr(damaged.data);
    for (let k = 0; k < ways.length; k++) {
      const mask = await ways[k][1](damaged);
      const filled = await runInpaint(damaged, mask, filler);
      let changed = 0;
      let marked = 0;
      for (let i = 0; i < w * h; i++) {
        if (mask.data[i]) marked++;
        if (near.data[i]) continue;
        const p = i * 3;
        if (
          filled.data[p] !== damaged.data[p] ||
          filled.data[p + 1] !== damaged.data[p + 1] ||
          filled.data[p + 2] !== damaged.data[p + 2]
        )
          changed++;
      }
      sums[k].psnr += psnr(filled.data);
      sums[k].changed += changed / (w * h);
      sums[k].marked += marked / (w * h);
    }
  }
  const n = items.length;
  console.log(
    `repair-grow: ${n} photos from ${sources.join(' + ')} (damage seed ${seed}), detector ${detector.manifest.id} ` +
      `(threshold ${out.threshold ?? MASK_DEFAULTS.threshold}, grow ${grow}), filler ${filler.manifest.id}, load ${loadavg()[0].toFixed(1)}`,
  );
  console.log(`PSNR inside the true mask, damaged: ${(damagedPsnr / n).toFixed(2)} dB\n`);
  console.log(
    '| growth | PSNR inside the true mask | changed > 4 px from any damage | marked |\n|---|---|---|---|',
  );
  for (let k = 0; k < ways.length; k++) {
    const s = sums[k];
    console.log(
      `| ${ways[k][0]} | ${(s.psnr / n).toFixed(2)} dB | ${((100 * s.changed) / n).toFixed(2)} % | ${((100 * s.marked) / n).toFixed(2)} % |`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
