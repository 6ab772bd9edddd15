import { readdir, readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Engine, type Raster } from '../src/engine';
import { resizeRaster } from '../src/engine/image/resize';
import { sharedDatasets } from './_photo';
import { lumaBT601, psnr, ssim } from './sr-quality';

/**
 * Is Real-ESRGAN a better restorer than tintype-restore? realesr-general-x4 is trained on JPEG and
 * noise damage; run at ×4 and brought back with a Lanczos ×¼, it is a 1× denoise/deJPEG path. Both
 * run on the same damaged images: LIVE1 and classic5 JPEG q10 (published protocol: the rounded Y
 * channel alone JPEG-compressed, here by libjpeg-turbo through sharp; the grey image goes through
 * the models as R=G=B and the mean of their output channels is compared) and CBSD68 with Gaussian
 * noise σ 25 (colour, seeded; Y compared). PSNR/SSIM on BT.601 studio-swing Y, as training/'s eval.
 *
 *   npx tsx bench/restore-esrgan.ts [--limit N] [--sets LIVE1,classic5,CBSD68]
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const grey = (r: Raster): Float64Array => {
  const n = r.width * r.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = (r.data[i * 3] + r.data[i * 3 + 1] + r.data[i * 3 + 2]) / 3;
  return y;
};
const yOf = (r: Raster) => lumaBT601({ width: r.width, height: r.height, data: r.data as Uint8Array });

async function readRaster(path: string): Promise<Raster> {
  const { data, info } = await sharp(path)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, depth: 8, data: new Uint8Array(data) };
}

/** Seeded Gaussian noise (Box-Muller on a 32-bit LCG), rounded and clipped like a saved file. */
function noisy(r: Raster, sigma: number, seed: number): Raster {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const data = new Uint8Array(r.data.length);
  for (let i = 0; i < data.length; i++) {
    const g = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    data[i] = Math.min(255, Math.max(0, Math.round(r.data[i] + sigma * g)));
  }
  return { ...r, data };
}

/** The published JPEG protocol: Y rounded to 8 bits, compressed alone, as R=G=B. */
async function yJpeg(r: Raster, q: number): Promise<{ clean: Float64Array; bad: Raster }> {
  const y = yOf(r);
  const y8 = Uint8Array.from(y, (v) => Math.min(255, Math.max(0, Math.round(v))));
  const jpg = await sharp(y8, { raw: { width: r.width, height: r.height, channels: 1 } })
    .jpeg({ quality: q })
    .toBuffer();
  const dec = await sharp(jpg).greyscale().raw().toBuffer();
  const data = new Uint8Array(dec.length * 3);
  for (let i = 0; i < dec.length; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = dec[i];
  return { clean: Float64Array.from(y8), bad: { ...r, data } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    strict: false,
    options: { limit: { type: 'string' }, sets: { type: 'string' } },
  });
  const limit = typeof values.limit === 'string' ? Number(values.limit) : Infinity;
  const sets = (typeof values.sets === 'string' ? values.sets : 'LIVE1,classic5,CBSD68').split(',');
  const data = sharedDatasets(ROOT);
  if (!data) {
    console.log('restore-esrgan: skipped, no ../shared/datasets');
    return;
  }
  const engine = new Engine({ ep: 'cpu', threads: 2 });
  const methods: Record<string, (r: Raster) => Promise<Raster>> = {
    input: async (r) => r,
    'tintype-restore': (r) =>
      engine.processRaster(r, ['restore'], { models: { restore: 'tintype-restore' } }),
    'realesr-general-x4 + Lanczos ×¼': async (r) =>
      resizeRaster(
        await engine.processRaster(r, ['upscale'], { models: { upscale: 'realesr-general-x4' }, scale: 4 }),
        r.width,
        r.height,
        'lanczos3',
      ),
  };
  console.log(
    `# ${cpus().length} CPU(s); load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const set of sets) {
    let files: string[];
    if (set === 'CBSD68') {
      const list = await readFile(join(data, 'eval', 'denoise', 'CBSD68.txt'), 'utf8');
      files = list
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => join(data, 'eval', 'sr', 'BSD100', l.trim().split(/\s+/)[1]));
    } else {
      const dir = join(data, 'eval', 'jpeg', set);
      files = (await readdir(dir))
        .filter((f) => /\.(png|bmp|jpe?g|tif)$/i.test(f))
        .sort()
        .map((f) => join(dir, f));
    }
    files = files.slice(0, limit);
    const acc = new Map<string, { p: number; s: number }>();
    for (let i = 0; i < files.length; i++) {
      const clean = await readRaster(files[i]);
      const jpeg = set !== 'CBSD68';
      const { clean: ref, bad } = jpeg
        ? await yJpeg(clean, 10)
        : { clean: yOf(clean), bad: noisy(clean, 25, 20240601 + i) };
      for (const [name, run] of Object.entries(methods)) {
        const out = await run(bad);
        const y = jpeg ? grey(out) : yOf(out);
        const e = acc.get(name) ?? { p: 0, s: 0 };
        e.p += psnr(ref, y);
        e.s += ssim(ref, y, out.width, out.height);
        acc.set(name, e);
      }
      process.stderr.write(`\r${set} ${i + 1}/${files.length}   `);
    }
    process.stderr.write('\n');
    const what = set === 'CBSD68' ? 'noise σ 25' : 'JPEG q10 (Y)';
    for (const [name, e] of acc)
      console.log(
        `${set}\t${what}\t${files.length}\t${name.padEnd(32)}\t${(e.p / files.length).toFixed(2)} dB\t${(e.s / files.length).toFixed(4)}`,
      );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
