import { readdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import { Engine, type Raster } from '../src/engine';
import { sharedDatasets } from './_photo';
import { lumaBT601, resizeBicubic, type Rgb } from './sr-quality';

/**
 * What PSNR cannot show: real old photos upscaled ×4 by every upscaler, crops at 1:1, in one
 * contact sheet (docs/sr-sheet.jpg), plus a no-reference sharpness number.
 *
 * Sharpness: variance of the Laplacian of the luma (Pech-Pacheco et al., "Diatom autofocusing in
 * brightfield microscopy: a comparative study", ICPR 2000; the usual focus measure). Alone it
 * rewards noise and ringing, so it is also given on Set14 ×4 as a ratio to the real high-resolution
 * image's: 1.0 is "as sharp as the real photo", bicubic is far below, oversharpening is above.
 *
 *   npx tsx bench/sr-sheet.ts [--models a,b,c] [--crop 80] [--out docs/sr-sheet.jpg] [--set14 N]
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Photo, and the crop centre as fractions of width and height (a face or fine detail). */
const PHOTOS: [string, number, number][] = [
  ['bw/deoldify-test-images/1860Girls.jpg', 0.5, 0.3],
  ['bw/deoldify-test-images/1890sShoeShopOhio.jpg', 0.5, 0.45],
  ['bw/deoldify-test-images/MementoMori1865.jpg', 0.5, 0.35],
  ['bw/deoldify-test-images/Texas1938Woman.jpg', 0.5, 0.35],
];

/** Variance of the 4-neighbour Laplacian over the interior of a luma plane. */
export function laplacianVariance(y: Float64Array, width: number, height: number): number {
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let r = 1; r < height - 1; r++)
    for (let c = 1; c < width - 1; c++) {
      const i = r * width + c;
      const l = y[i - 1] + y[i + 1] + y[i - width] + y[i + width] - 4 * y[i];
      sum += l;
      sq += l * l;
      n++;
    }
  return sq / n - (sum / n) ** 2;
}

const toRgb = (r: Raster): Rgb => ({ width: r.width, height: r.height, data: r.data as Uint8Array });
const fromRgb = (r: Rgb): Raster => ({
  width: r.width,
  height: r.height,
  channels: 3,
  depth: 8,
  data: r.data,
});

async function readRgb(path: string): Promise<Rgb> {
  const { data, info } = await sharp(path)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    strict: false,
    options: {
      models: { type: 'string' },
      crop: { type: 'string' },
      out: { type: 'string' },
      set14: { type: 'string' },
    },
  });
  const str = (k: string, d: string) => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const models = str('models', 'esrgan-thick-x4,realesr-general-x4,realesrgan-x4plus').split(',');
  const crop = Number(str('crop', '80'));
  const out = resolve(str('out', join(ROOT, 'docs', 'sr-sheet.jpg')));
  const set14 = Number(str('set14', '14'));
  const data = sharedDatasets(ROOT);
  if (!data) {
    console.log('sr-sheet: skipped, no ../shared/datasets');
    return;
  }
  const engine = new Engine({ ep: 'cpu', threads: 2 });
  const up = async (id: string, img: Rgb): Promise<Rgb> =>
    id === 'bicubic'
      ? resizeBicubic(img, img.width * 4, img.height * 4)
      : toRgb(await engine.processRaster(fromRgb(img), ['upscale'], { models: { upscale: id }, scale: 4 }));
  const methods = ['bicubic', ...models];
  console.log(
    `# ${cpus().length} CPU(s); load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ×4; crops ${crop} px`,
  );

  // Contact sheet: one row per photo, one column per method, each cell a 1:1 crop of the ×4 output.
  const cell = crop * 4;
  const label = 28;
  const composites: OverlayOptions[] = [];
  const vol = new Map<string, number[]>();
  for (let r = 0; r < PHOTOS.length; r++) {
    const [rel, fx, fy] = PHOTOS[r];
    const full = await readRgb(join(data, rel));
    const left = Math.max(0, Math.min(full.width - crop, Math.round(fx * full.width - crop / 2)));
    const top = Math.max(0, Math.min(full.height - crop, Math.round(fy * full.height - crop / 2)));
    const part = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } })
      .extract({ left, top, width: crop, height: crop })
      .raw()
      .toBuffer();
    const img: Rgb = { width: crop, height: crop, data: new Uint8Array(part) };
    for (let c = 0; c < methods.length; c++) {
      const res = await up(methods[c], img);
      const v = laplacianVariance(lumaBT601(res), res.width, res.height);
      vol.set(methods[c], [...(vol.get(methods[c]) ?? []), v]);
      composites.push({
        input: await sharp(res.data, { raw: { width: res.width, height: res.height, channels: 3 } })
          .png()
          .toBuffer(),
        left: c * cell,
        top: label + r * cell,
      });
      process.stderr.write(`\r${rel.split('/').pop()} ${methods[c]}        `);
    }
  }
  process.stderr.write('\n');
  const svg = `<svg width="${methods.length * cell}" height="${label}" xmlns="http://www.w3.org/2000/svg">${methods
    .map(
      (m, i) =>
        `<text x="${i * cell + 8}" y="20" font-family="sans-serif" font-size="16" fill="#fff">${m}</text>`,
    )
    .join('')}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  await sharp({
    create: {
      width: methods.length * cell,
      height: label + PHOTOS.length * cell,
      channels: 3,
      background: '#222',
    },
  })
    .composite(composites)
    .jpeg({ quality: 82, mozjpeg: true })
    .toFile(out);
  console.log(`contact sheet: ${out}`);
  console.log('variance of Laplacian of luma on the sheet crops (per photo, then mean):');
  for (const m of methods) {
    const v = vol.get(m)!;
    console.log(
      `  ${m.padEnd(20)} ${v.map((x) => x.toFixed(0)).join(' / ')}  mean ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(0)}`,
    );
  }

  // The same measure against the truth: Set14 ×4 from MATLAB-bicubic LR, ratio to the HR image's.
  if (set14 > 0) {
    const dir = join(data, 'eval', 'sr', 'Set14');
    const files = (await readdir(dir))
      .filter((f) => /\.(png|bmp)$/i.test(f))
      .sort()
      .slice(0, set14);
    const ratios = new Map<string, number[]>();
    for (const f of files) {
      let hr = await readRgb(join(dir, f));
      const w = hr.width - (hr.width % 4);
      const h = hr.height - (hr.height % 4);
      hr = {
        width: w,
        height: h,
        data: new Uint8Array(
          await sharp(hr.data, { raw: { width: hr.width, height: hr.height, channels: 3 } })
            .extract({ left: 0, top: 0, width: w, height: h })
            .raw()
            .toBuffer(),
        ),
      };
      const ref = laplacianVariance(lumaBT601(hr), w, h);
      const lr = resizeBicubic(hr, w / 4, h / 4);
      for (const m of methods) {
        const res = await up(m, lr);
        ratios.set(m, [...(ratios.get(m) ?? []), laplacianVariance(lumaBT601(res), w, h) / ref]);
      }
      process.stderr.write(`\rSet14 ${f}   `);
    }
    process.stderr.write('\n');
    console.log(
      `Set14 ×4 (${files.length} images): variance of Laplacian / the HR image's (1 = as sharp as the truth), geometric mean:`,
    );
    for (const m of methods) {
      const r = ratios.get(m)!;
      console.log(
        `  ${m.padEnd(20)} ${Math.exp(r.reduce((a, b) => a + Math.log(b), 0) / r.length).toFixed(3)}`,
      );
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
