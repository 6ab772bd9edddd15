/**
 * Colorizer quality through the app's own engine (not a test): each photo of
 * ../shared/datasets/val is made grey (BT.601 luma, as a scan would be), colorized by the engine
 * exactly as the CLI does (render size, model, chroma merged over the full-resolution luma), and
 * scored against the original: Hasler & Süsstrunk colourfulness and RGB PSNR, next to the grey
 * input's. Goal (issue "Training toolkit…"): colourfulness within ±8 of the truth's AND PSNR no
 * more than 0.5 dB below the grey input's.
 *
 * `training/tintype-train eval-colorize` scores a PyTorch checkpoint the same way (Lab merge); this
 * scores the ONNX model users get.
 *
 *   npm run bench -- colorize-quality [--model=ID] [--render-size=N] [--limit=N]
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { Engine } from '../src/engine';
import { bundledModelsDir, userModelsDir } from '../src/engine/models/paths';
import { psnr } from './sr-quality';

const root = resolve(import.meta.dirname, '..');
const VAL = resolve(root, '..', 'shared', 'datasets', 'val');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const model = arg('model');
const renderSize = arg('render-size') ? Number(arg('render-size')) : undefined;
const limit = Number(arg('limit') ?? 0);

function listImages(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? listImages(p) : /\.(jpe?g|png)$/i.test(f) ? [p] : [];
    });
}

/** Hasler & Süsstrunk (2003) colourfulness of interleaved 8-bit RGB. */
export function colourfulness(rgb: Uint8Array): number {
  const n = rgb.length / 3;
  let srg = 0;
  let syb = 0;
  let qrg = 0;
  let qyb = 0;
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const b = rgb[i * 3 + 2];
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    srg += rg;
    syb += yb;
    qrg += rg * rg;
    qyb += yb * yb;
  }
  const mrg = srg / n;
  const myb = syb / n;
  const sdrg = Math.sqrt(Math.max(0, qrg / n - mrg * mrg));
  const sdyb = Math.sqrt(Math.max(0, qyb / n - myb * myb));
  return Math.hypot(sdrg, sdyb) + 0.3 * Math.hypot(mrg, myb);
}

const files = listImages(VAL).slice(0, limit || undefined);
if (!files.length) {
  console.error(`colorize-quality: no photos under ${VAL}`);
  process.exit(1);
}
const engine = new Engine({ modelDirs: [userModelsDir(), bundledModelsDir()], ep: 'cpu' });
const acc = { gt: 0, grey: 0, psnrGrey: 0, model: 0, psnrModel: 0 };
let used = '';
for (const f of files) {
  const { data, info } = await sharp(f)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const n = info.width * info.height;
  const grey = new Uint8Array(n);
  const greyRgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const y = Math.round(0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]);
    grey[i] = y;
    greyRgb.fill(y, i * 3, i * 3 + 3);
  }
  const res = await engine.run(
    { width: info.width, height: info.height, channels: 1, depth: 8, data: grey },
    ['colorize'],
    {
      models: model ? { colorize: model } : undefined,
      renderSize,
    },
  );
  used = res.models.join(', ');
  const out = res.raster.data as Uint8Array;
  acc.gt += colourfulness(rgb);
  acc.grey += colourfulness(greyRgb);
  acc.psnrGrey += psnr(rgb, greyRgb);
  acc.model += colourfulness(out);
  acc.psnrModel += psnr(rgb, out);
}
const k = files.length;
const r = (x: number) => (x / k).toFixed(2);
console.log(
  `\nColorizer quality through the engine — ${used}, render size ${renderSize ?? 'manifest default'}, ${k} photos of datasets/val\n`,
);
console.log('| | colourfulness | RGB PSNR (dB) |');
console.log('|---|---|---|');
console.log(`| ground truth | ${r(acc.gt)} | – |`);
console.log(`| grey input (BT.601 luma) | ${r(acc.grey)} | ${r(acc.psnrGrey)} |`);
console.log(`| model | ${r(acc.model)} | ${r(acc.psnrModel)} |`);
const okC = Math.abs(acc.model - acc.gt) / k <= 8;
const okP = acc.psnrModel / k >= acc.psnrGrey / k - 0.5;
console.log(
  `\ngoal: colourfulness within ±8 of the truth: ${okC ? 'met' : 'missed'}; PSNR ≥ grey − 0.5 dB: ${okP ? 'met' : 'missed'}`,
);
