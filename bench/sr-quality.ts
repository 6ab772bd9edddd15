import { readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { mirror } from '../src/engine/ops/tiled';
import { ManifestSchema, type Manifest } from '../src/shared/manifest';

/**
 * Super-resolution quality and speed (not a test): PSNR and SSIM on the BT.601 luma of Set5,
 * Set14 and BSD100 (border of `scale` px cropped), with low-resolution inputs made here by bicubic
 * downscaling, for every upscale model found and for plain bicubic upscaling; plus inference
 * seconds per output megapixel on whole images.
 *
 *   npx tsx bench/sr-quality.ts [--models ID,ID] [--model-dirs DIR,DIR] [--sets Set5,Set14,BSD100]
 *       [--scales 2,4] [--limit N] [--threads 2] [--lr matlab|sharp] [--speed RUNS] [--context] [--json FILE]
 *
 * `--sets none --speed 5` only times each model on tiles of its manifest's size; `--sets none --context`
 * measures how much context each model needs (the tile overlap).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = resolve(ROOT, '..', 'shared', 'datasets', 'eval', 'sr');

export interface Rgb {
  width: number;
  height: number;
  /** Interleaved 8-bit RGB. */
  data: Uint8Array;
}

/** BT.601 studio-swing luma as in MATLAB's rgb2ycbcr (16..235), kept fractional. */
export function lumaBT601(img: Rgb): Float64Array {
  const n = img.width * img.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = img.data[i * 3];
    const g = img.data[i * 3 + 1];
    const b = img.data[i * 3 + 2];
    y[i] = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  }
  return y;
}

/** The plane without a border of `border` pixels on every side. */
export function cropBorder(p: Float64Array, width: number, height: number, border: number) {
  const w = width - 2 * border;
  const h = height - 2 * border;
  if (w <= 0 || h <= 0)
    throw new Error(`a ${width}x${height} image has nothing left inside a ${border} px border`);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    out.set(p.subarray((y + border) * width + border, (y + border) * width + border + w), y * w);
  return { data: out, width: w, height: h };
}

export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 255): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

function gaussian1d(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += k[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  return k.map((v) => v / sum);
}

/** Separable 'valid' filtering: the output shrinks by size-1 in each direction. */
function filterValid(p: Float64Array, width: number, height: number, k: Float64Array): Float64Array {
  const n = k.length;
  const w = width - n + 1;
  const h = height - n + 1;
  const tmp = new Float64Array(w * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * p[y * width + x + i];
      tmp[y * w + x] = s;
    }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * tmp[(y + i) * w + x];
      out[y * w + x] = s;
    }
  return out;
}

/** SSIM of Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, mean over the valid map. */
export function ssim(a: Float64Array, b: Float64Array, width: number, height: number, peak = 255): number {
  const k = gaussian1d(11, 1.5);
  const c1 = (0.01 * peak) ** 2;
  const c2 = (0.03 * peak) ** 2;
  const mul = (x: Float64Array, y: Float64Array) => x.map((v, i) => v * y[i]);
  const ma = filterValid(a, width, height, k);
  const mb = filterValid(b, width, height, k);
  const saa = filterValid(mul(a, a), width, height, k);
  const sbb = filterValid(mul(b, b), width, height, k);
  const sab = filterValid(mul(a, b), width, height, k);
  let sum = 0;
  for (let i = 0; i < ma.length; i++) {
    const va = saa[i] - ma[i] * ma[i];
    const vb = sbb[i] - mb[i] * mb[i];
    const cov = sab[i] - ma[i] * mb[i];
    sum += ((2 * ma[i] * mb[i] + c1) * (2 * cov + c2)) / ((ma[i] ** 2 + mb[i] ** 2 + c1) * (va + vb + c2));
  }
  return sum / ma.length;
}

async function readRgb(path: string): Promise<Rgb> {
  const { data, info } = await sharp(path)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3)
    throw new Error(`${path}: expected 3 channels after conversion, got ${info.channels}`);
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

/** Keys' cubic convolution kernel with a = -0.5, the one MATLAB's imresize uses. */
function cubicKernel(x: number): number {
  const a = Math.abs(x);
  if (a <= 1) return 1.5 * a ** 3 - 2.5 * a ** 2 + 1;
  if (a < 2) return -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2;
  return 0;
}

/** Resamples one axis of interleaved RGB: centre-aligned, kernel widened when shrinking (antialiasing). */
function resizeAxis(
  src: Float64Array,
  width: number,
  height: number,
  outLen: number,
  horizontal: boolean,
): Float64Array {
  const inLen = horizontal ? width : height;
  const across = horizontal ? height : width;
  const scale = outLen / inLen;
  const shrink = scale < 1;
  const support = shrink ? 4 / scale : 4;
  const ow = horizontal ? outLen : width;
  const out = new Float64Array((horizontal ? outLen * height : width * outLen) * 3);
  for (let o = 0; o < outLen; o++) {
    const centre = (o + 0.5) / scale - 0.5;
    const first = Math.floor(centre - support / 2);
    const taps: number[] = [];
    const weights: number[] = [];
    for (let j = first; j <= first + Math.ceil(support) + 1; j++) {
      const w = shrink ? scale * cubicKernel(scale * (centre - j)) : cubicKernel(centre - j);
      if (w === 0) continue;
      taps.push(Math.min(inLen - 1, Math.max(0, j)));
      weights.push(w);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    for (let k = 0; k < across; k++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let t = 0; t < taps.length; t++) {
          const at = horizontal ? (k * width + taps[t]) * 3 + c : (taps[t] * width + k) * 3 + c;
          v += (weights[t] / total) * src[at];
        }
        out[(horizontal ? k * ow + o : o * ow + k) * 3 + c] = v;
      }
  }
  return out;
}

/**
 * Bicubic resize as MATLAB's imresize does it (antialiased when shrinking, rows first, rounded to
 * 8 bits), so the numbers compare with published SR tables. sharp's cubic upscaling aligns pixel
 * corners instead of centres, which shifts the image by half an output pixel and costs bicubic
 * ~3 dB at ×2; its downscaling is close to this (`--lr sharp` uses it for the inputs).
 */
export function resizeBicubic(img: Rgb, width: number, height: number): Rgb {
  const rows = resizeAxis(Float64Array.from(img.data), img.width, img.height, height, false);
  const both = resizeAxis(rows, img.width, height, width, true);
  return { width, height, data: Uint8Array.from(both, (v) => Math.min(255, Math.max(0, Math.round(v)))) };
}

async function sharpCubic(img: Rgb, width: number, height: number): Promise<Rgb> {
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize({ width, height, fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** The HR image cut to a multiple of the scale (top-left kept), as the usual SR protocol does. */
async function modcrop(img: Rgb, scale: number): Promise<Rgb> {
  const width = img.width - (img.width % scale);
  const height = img.height - (img.height % scale);
  if (width === img.width && height === img.height) return img;
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: 0, top: 0, width, height })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

interface Model {
  manifest: Manifest;
  session: ort.InferenceSession;
}

/** The image grown by p mirrored pixels on every side, as the engine's tiler grows it for `tile.pad`. */
function mirrorPad(img: Rgb, p: number): Rgb {
  const width = img.width + 2 * p;
  const height = img.height + 2 * p;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const s = (mirror(y - p, img.height) * img.width + mirror(x - p, img.width)) * 3;
      data.set(img.data.subarray(s, s + 3), (y * width + x) * 3);
    }
  return { width, height, data };
}

/**
 * Runs a whole image through a manifest-described NCHW model; output rounded to 8 bits like a saved
 * file. A model whose manifest asks for mirrored border context gets it, as in the engine.
 */
async function upscaleWith(model: Model, lr: Rgb): Promise<{ img: Rgb; ms: number }> {
  const pad = model.manifest.tile?.pad ?? 0;
  if (pad > 0) {
    const s = model.manifest.scale;
    const r = await upscaleWithPlain(model, mirrorPad(lr, pad));
    const w = lr.width * s;
    const h = lr.height * s;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      const from = ((y + pad * s) * r.img.width + pad * s) * 3;
      data.set(r.img.data.subarray(from, from + w * 3), y * w * 3);
    }
    return { img: { width: w, height: h, data }, ms: r.ms };
  }
  return upscaleWithPlain(model, lr);
}

async function upscaleWithPlain(model: Model, lr: Rgb): Promise<{ img: Rgb; ms: number }> {
  const { manifest: m, session } = model;
  if (m.input.layout !== 'NCHW' || m.input.normalization)
    throw new Error(`${m.id}: the bench handles plain NCHW models only`);
  const [lo, hi] = m.input.range;
  const hw = lr.width * lr.height;
  const x = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++)
    for (let c = 0; c < 3; c++) x[c * hw + i] = lo + (lr.data[i * 3 + c] / 255) * (hi - lo);
  const t0 = performance.now();
  const res = await session.run({
    [m.input.name ?? session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, lr.height, lr.width]),
  });
  const ms = performance.now() - t0;
  const out = res[m.output.name ?? session.outputNames[0]] as ort.Tensor;
  const [, oc, oh, ow] = out.dims;
  if (oc !== 3 || oh !== lr.height * m.scale || ow !== lr.width * m.scale)
    throw new Error(`${m.id}: unexpected output [${out.dims}]`);
  const [olo, ohi] = m.output.range;
  const y = out.data as Float32Array;
  const ohw = oh * ow;
  const data = new Uint8Array(ohw * 3);
  for (let i = 0; i < ohw; i++)
    for (let c = 0; c < 3; c++) {
      const v = ((y[c * ohw + i] - olo) / (ohi - olo)) * 255;
      data[i * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
    }
  return { img: { width: ow, height: oh, data }, ms };
}

async function findModels(dirs: string[], ids: string[] | undefined, scales: number[]): Promise<Manifest[]> {
  const found = new Map<string, Manifest & { dir: string }>();
  for (const dir of dirs) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, e.name, 'manifest.json');
      const raw = await readFile(path, 'utf8').catch(() => null);
      if (raw === null) continue;
      const m = ManifestSchema.parse(JSON.parse(raw));
      if (m.task === 'upscale' && scales.includes(m.scale) && (!ids || ids.includes(m.id))) {
        found.set(m.id, { ...m, file: join(dir, e.name, m.file), dir });
      }
    }
  }
  const missing = ids?.filter((id) => !found.has(id)) ?? [];
  if (missing.length) throw new Error(`model(s) not found in ${dirs.join(', ')}: ${missing.join(', ')}`);
  return [...found.values()];
}

/**
 * Inference time the way the engine runs a model: one tile of the manifest's size at a time. Seconds
 * per output megapixel of the whole tile (the engine's overlap costs extra on top, see docs).
 */
async function speedOf(model: Model, runs: number): Promise<Row> {
  const t = model.manifest.tile?.size ?? 192;
  let seed = 3;
  const data = new Uint8Array(t * t * 3).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const lr = resizeBicubic(resizeBicubic({ width: t, height: t, data }, t / 4, t / 4), t, t);
  await upscaleWith(model, lr);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await upscaleWith(model, lr)).ms);
  times.sort((a, b) => a - b);
  const mp = (t * model.manifest.scale) ** 2 / 1e6;
  return {
    set: 'speed',
    scale: model.manifest.scale,
    method: model.manifest.id,
    images: t,
    psnr: NaN,
    ssim: NaN,
    sPerMp: times[runs >> 1] / 1000 / mp,
  };
}

/**
 * How much real context a model needs: the output over a centre block, computed from a crop with
 * r px of context on each side, against a whole-image run (worst case over the images, 0..255).
 * This is what sets the tile overlap in tools/convert-esrgan/catalog.ts.
 */
async function contextSensitivity(
  model: Model,
  images: Rgb[],
  radii: number[],
): Promise<Map<number, number>> {
  const block = 16;
  const worst = new Map<number, number>();
  const crop = (img: Rgb, x0: number, y0: number, w: number, h: number): Rgb => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      data.set(
        img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3),
        y * w * 3,
      );
    return { width: w, height: h, data };
  };
  const s = model.manifest.scale;
  for (const full of images) {
    const n = Math.min(full.width, full.height, 2 * Math.max(...radii) + block + 64);
    const img = crop(full, 0, 0, n, n);
    const whole = (await upscaleWithFloat(model, img)).data;
    const c0 = (n - block) >> 1;
    for (const r of radii) {
      const part = await upscaleWithFloat(model, crop(img, c0 - r, c0 - r, block + 2 * r, block + 2 * r));
      let m = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < block * s; y++)
          for (let x = 0; x < block * s; x++) {
            const a = part.data[(c * part.height + y + r * s) * part.width + x + r * s];
            const b = whole[(c * n * s + y + c0 * s) * n * s + x + c0 * s];
            m = Math.max(m, Math.abs(a - b));
          }
      worst.set(r, Math.max(worst.get(r) ?? 0, m));
    }
  }
  return worst;
}

/** Planar float output on the 0..255 scale, unrounded. */
async function upscaleWithFloat(
  model: Model,
  lr: Rgb,
): Promise<{ data: Float32Array; width: number; height: number }> {
  const { manifest: m, session } = model;
  const [lo, hi] = m.input.range;
  const hw = lr.width * lr.height;
  const x = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++)
    for (let c = 0; c < 3; c++) x[c * hw + i] = lo + (lr.data[i * 3 + c] / 255) * (hi - lo);
  const res = await session.run({
    [m.input.name ?? session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, lr.height, lr.width]),
  });
  const out = res[m.output.name ?? session.outputNames[0]] as ort.Tensor;
  const [olo, ohi] = m.output.range;
  const data = Float32Array.from(out.data as Float32Array, (v) => ((v - olo) / (ohi - olo)) * 255);
  return { data, height: out.dims[2], width: out.dims[3] };
}

interface Row {
  set: string;
  scale: number;
  method: string;
  images: number;
  psnr: number;
  ssim: number;
  /** Seconds of inference per output megapixel (models only). */
  sPerMp?: number;
}

async function main(): Promise<void> {
  // Not strict: `npm run bench` hands every benchmark the same flags, some meant for others.
  const { values } = parseArgs({
    strict: false,
    options: {
      models: { type: 'string' },
      'model-dirs': { type: 'string' },
      sets: { type: 'string' },
      scales: { type: 'string' },
      limit: { type: 'string' },
      threads: { type: 'string' },
      lr: { type: 'string' },
      speed: { type: 'string' },
      context: { type: 'boolean' },
      json: { type: 'string' },
    },
  });
  const opt = (name: string, fallback: string): string => {
    const v = values[name];
    return typeof v === 'string' ? v : fallback;
  };
  const scales = opt('scales', '2,4').split(',').map(Number);
  const setList = opt('sets', 'Set5,Set14,BSD100');
  const sets = setList === 'none' ? [] : setList.split(',');
  const speedRuns = Number(opt('speed', '0'));
  const limit = values.limit ? Number(opt('limit', '')) : Infinity;
  const threads = Number(opt('threads', '2'));
  const lrKind = opt('lr', 'matlab');
  if (lrKind !== 'matlab' && lrKind !== 'sharp') throw new Error('--lr is matlab or sharp');
  const modelIds = values.models ? opt('models', '').split(',') : undefined;
  const jsonOut = values.json ? opt('json', '') : undefined;
  const manifests = await findModels(
    opt('model-dirs', join(ROOT, 'resources', 'models')).split(','),
    modelIds,
    scales,
  );
  console.log(
    `# ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}; ${threads} ORT thread(s); LR by ${lrKind}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`# models: ${manifests.map((m) => m.id).join(', ') || 'none'}`);

  const rows: Row[] = [];
  for (const scale of scales) {
    const models: Model[] = [];
    for (const m of manifests.filter((mm) => mm.scale === scale)) {
      models.push({
        manifest: m,
        session: await ort.InferenceSession.create(m.file, {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
        }),
      });
    }
    for (const set of sets) {
      const dir = join(DATA, set);
      const files = (await readdir(dir))
        .filter((f) => /\.(png|bmp|jpe?g)$/i.test(f))
        .sort()
        .slice(0, limit);
      const acc = new Map<string, { p: number; s: number; ms: number; mp: number }>();
      const add = (method: string, hr: Rgb, sr: Rgb, ms = 0) => {
        const a = cropBorder(lumaBT601(hr), hr.width, hr.height, scale);
        const b = cropBorder(lumaBT601(sr), sr.width, sr.height, scale);
        const e = acc.get(method) ?? { p: 0, s: 0, ms: 0, mp: 0 };
        e.p += psnr(a.data, b.data);
        e.s += ssim(a.data, b.data, a.width, a.height);
        e.ms += ms;
        e.mp += (sr.width * sr.height) / 1e6;
        acc.set(method, e);
      };
      for (const f of files) {
        const hr = await modcrop(await readRgb(join(dir, f)), scale);
        const lr =
          lrKind === 'sharp'
            ? await sharpCubic(hr, hr.width / scale, hr.height / scale)
            : resizeBicubic(hr, hr.width / scale, hr.height / scale);
        add('bicubic', hr, resizeBicubic(lr, hr.width, hr.height));
        for (const model of models) {
          const { img, ms } = await upscaleWith(model, lr);
          add(model.manifest.id, hr, img, ms);
        }
        process.stderr.write(`\r${set} x${scale}: ${basename(f)}   `);
      }
      process.stderr.write('\n');
      for (const [method, e] of acc) {
        const row: Row = {
          set,
          scale,
          method,
          images: files.length,
          psnr: e.p / files.length,
          ssim: e.s / files.length,
        };
        if (method !== 'bicubic') row.sPerMp = e.ms / 1000 / e.mp;
        rows.push(row);
        console.log(
          `${set}\tx${scale}\t${method.padEnd(18)}\t${row.psnr.toFixed(2)} dB\t${row.ssim.toFixed(4)}` +
            (row.sPerMp !== undefined ? `\t${row.sPerMp.toFixed(2)} s/MP` : ''),
        );
      }
    }
    if (values.context === true) {
      const files = [
        'Set14/img_005.png',
        'Set14/img_013.png',
        'Set5/img_003.png',
        'BSD100/img_010.png',
        'BSD100/img_050.png',
      ];
      const images = await Promise.all(files.map((f) => readRgb(join(DATA, f))));
      const radii = [4, 8, 12, 16, 20, 24, 32];
      for (const model of models) {
        const worst = await contextSensitivity(model, images, radii);
        console.log(
          `context\tx${scale}\t${model.manifest.id.padEnd(18)}\t${[...worst].map(([r, d]) => `r=${r}: ${d.toFixed(4)}`).join('  ')}`,
        );
      }
    }
    if (speedRuns > 0) {
      for (const model of models) {
        const row = await speedOf(model, speedRuns);
        rows.push(row);
        console.log(
          `speed\tx${scale}\t${model.manifest.id.padEnd(18)}\t${row.sPerMp!.toFixed(2)} s/MP (median of ${speedRuns}, ${row.images} px tiles)`,
        );
      }
    }
    await Promise.all(models.map((m) => m.session.release()));
  }
  if (jsonOut) {
    await writeFile(
      jsonOut,
      `${JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, threads, lr: lrKind, rows }, null, 2)}\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
