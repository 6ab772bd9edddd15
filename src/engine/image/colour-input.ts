import { spawn } from 'node:child_process';
import sharp, { type Sharp } from 'sharp';
import { errorMessage, fileError } from '../errors';
import { DECODE_FAIL_ON, MAX_INPUT_PIXELS } from './io';
import type { Raster } from '../types';

/**
 * Does a photo (or a film) already have colour? Colorize keeps the luminance and replaces the chroma,
 * so a colour input comes out drained to the model's guess: callers warn, and batches skip it.
 *
 * Why not sharp's stats(): per-channel means and deviations call a sepia, selenium or cyanotype print
 * "colour" (its R, G and B differ everywhere) and cannot see a portrait on a grey backdrop, whose
 * colour is a few per cent of the pixels. What separates the two is this: a toned or stained
 * black-and-white print has one colour per brightness level (the toning curve maps each grey to one
 * tint, however warm), while a colour photo has different colours at the same brightness (skin and
 * the grey wall behind it, a red coat and green grass). So the picture is shrunk and turned into CIE
 * Lab natively (libvips), the mean chroma (a, b) is taken per band of lightness L, and the measure is
 * the 95th percentile of each pixel's distance from its band's mean: the colour that brightness does
 * not explain. A percentile, not a mean, so a portrait's small coloured area counts and a speck of
 * scanner fringe does not. Very saturated pictures are colour whatever their structure: no toning
 * reaches that chroma.
 *
 * Measured on ../shared/datasets (see docs/colour-inputs.md): 69 real black-and-white prints (toned,
 * stained, scanned) against 424 colour photos, 6 wrong at these limits; the misses are prints scanned
 * with a neutral mat around them and single-hue colour pictures (a wooden board).
 */

/** Pictures are measured at this long edge: colour regions survive, grain and JPEG chroma noise average out. */
export const COLOUR_SAMPLE_EDGE = 128;
/** Lightness bands (L 0..100) whose own mean chroma is "the tone" of a monochrome print. */
const L_BANDS = 20;
/** Lab chroma left after the per-band tone, at the 95th percentile, above which a picture has colour. */
export const COLOUR_SPREAD_LIMIT = 5;
/** Lab chroma at the 75th percentile above which a picture is colour whatever its structure. */
export const VIVID_CHROMA_LIMIT = 45;

export interface ColourVerdict {
  /** True when the picture already has colour: colorizing it would replace its colours. */
  colour: boolean;
  /** Colour not explained by one tone per brightness (Lab units, 95th percentile); > COLOUR_SPREAD_LIMIT is colour. */
  spread: number;
  /** Typical chroma (Lab, 75th percentile): 0 for neutral grey, 5-30 for toned prints. */
  chroma: number;
  /** One plain sentence for people: what was found. */
  reason: string;
}

function percentile(values: Float32Array, p: number): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** The verdict from Lab pixels (3 floats each). The arrays are at most COLOUR_SAMPLE_EDGE² pixels: cheap in JS. */
export function colourVerdictFromLab(lab: Float32Array, channels = 3): ColourVerdict {
  const n = Math.floor(lab.length / channels);
  const sumA = new Float64Array(L_BANDS);
  const sumB = new Float64Array(L_BANDS);
  const count = new Float64Array(L_BANDS);
  const band = new Uint8Array(n);
  const chroma = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    const k = Math.max(0, Math.min(L_BANDS - 1, Math.floor((lab[j] / 100) * L_BANDS)));
    band[i] = k;
    sumA[k] += lab[j + 1];
    sumB[k] += lab[j + 2];
    count[k]++;
    chroma[i] = Math.hypot(lab[j + 1], lab[j + 2]);
  }
  for (let k = 0; k < L_BANDS; k++) {
    if (count[k] > 0) {
      sumA[k] /= count[k];
      sumB[k] /= count[k];
    }
  }
  const residual = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    const k = band[i];
    residual[i] = Math.hypot(lab[j + 1] - sumA[k], lab[j + 2] - sumB[k]);
  }
  return verdict(percentile(residual, 0.95), percentile(chroma, 0.75));
}

function verdict(spread: number, chroma: number): ColourVerdict {
  const r = (x: number) => Math.round(x * 100) / 100;
  if (spread > COLOUR_SPREAD_LIMIT || chroma > VIVID_CHROMA_LIMIT)
    return {
      colour: true,
      spread: r(spread),
      chroma: r(chroma),
      reason: 'already in colour: different colours at the same brightness, so colorize would replace them',
    };
  return {
    colour: false,
    spread: r(spread),
    chroma: r(chroma),
    reason:
      chroma < 3
        ? 'black and white'
        : 'black and white with a tone (sepia or similar): one tint throughout, colorize is safe',
  };
}

async function labOf(pipeline: Sharp): Promise<Float32Array> {
  const { data } = await pipeline
    .resize(COLOUR_SAMPLE_EDGE, COLOUR_SAMPLE_EDGE, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('lab')
    .raw({ depth: 'float' })
    .toBuffer({ resolveWithObject: true });
  return new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
}

/**
 * The verdict for a photo file (or encoded image bytes). Grey files (one channel) are answered from
 * the header. Transparent areas are measured on neutral grey, so their hidden colour does not count.
 */
export async function detectColour(input: string | Buffer): Promise<ColourVerdict> {
  const name = typeof input === 'string' ? input : 'image';
  const open = () => sharp(input, { page: 0, failOn: DECODE_FAIL_ON, limitInputPixels: MAX_INPUT_PIXELS });
  try {
    const meta = await open().metadata();
    const channels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    if (channels < 3) return verdict(0, 0);
    return colourVerdictFromLab(await labOf(open().flatten({ background: '#808080' })));
  } catch (err) {
    throw fileError(name, `cannot measure its colour: ${errorMessage(err)}`, 'NOT_IMAGE', err);
  }
}

/**
 * The verdict for a photo file from its render-size preview (readShrunk: size×size, upright 8-bit
 * RGB, aspect not kept), so a colorize run decodes the file small once for both the model and this
 * check. The preview is brought to the sample detectColour measures (the long edge at
 * COLOUR_SAMPLE_EDGE, the photo's aspect), so the same limits hold. Only for files without alpha
 * (detectColour measures transparent areas on grey, which the preview cannot show): a JPEG, at
 * least twice the preview's size: on the 78 such JPEGs of ../shared/datasets the two measures
 * agreed within 0.7 of spread (0.06 typically) and no verdict changed, while photos under that,
 * resampled twice, came up to 1.8 apart (and a small file costs little to decode again). Grey
 * files are answered from the header, as detectColour does.
 */
export async function detectColourFromPreview(path: string, preview: Raster): Promise<ColourVerdict> {
  try {
    const meta = await sharp(path, { failOn: DECODE_FAIL_ON, limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    const channels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    if (channels < 3) return verdict(0, 0);
    if (meta.format !== 'jpeg' || meta.hasAlpha || preview.channels !== 3 || preview.depth !== 8)
      return await detectColour(path);
    const turned = (meta.orientation ?? 1) >= 5;
    const w = (turned ? meta.height : meta.width) ?? 0;
    const h = (turned ? meta.width : meta.height) ?? 0;
    if (Math.min(w, h) < 2 * Math.max(preview.width, preview.height)) return await detectColour(path);
    const k = Math.min(1, COLOUR_SAMPLE_EDGE / Math.max(w, h));
    const { data } = await sharp(preview.data, {
      raw: { width: preview.width, height: preview.height, channels: 3 },
    })
      .resize(Math.max(1, Math.round(w * k)), Math.max(1, Math.round(h * k)), { fit: 'fill' })
      .toColourspace('lab')
      .raw({ depth: 'float' })
      .toBuffer({ resolveWithObject: true });
    return colourVerdictFromLab(new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4));
  } catch (err) {
    throw fileError(path, `cannot measure its colour: ${errorMessage(err)}`, 'NOT_IMAGE', err);
  }
}

/** The verdict for raw interleaved RGB (8-bit) pixels: a decoded film frame. */
export async function detectColourRaw(
  rgb: Buffer | Uint8Array,
  width: number,
  height: number,
): Promise<ColourVerdict> {
  return colourVerdictFromLab(await labOf(sharp(rgb, { raw: { width, height, channels: 3 } })));
}

/** One frame at `atSec`, shrunk for measuring, as raw RGB; null past the end of the film. */
function sampleFrame(
  ffmpeg: string,
  file: string,
  atSec: number,
  signal?: AbortSignal,
): Promise<{ data: Buffer; width: number; height: number } | null> {
  const e = COLOUR_SAMPLE_EDGE;
  // Inside e×e keeping the aspect; the first frame after the seek point.
  const scale = `scale=w=${e}:h=${e}:force_original_aspect_ratio=decrease,format=rgb24`;
  const args = ['-v', 'error', '-ss', atSec.toFixed(3), '-i', file, '-frames:v', '1', '-an', '-sn'];
  args.push('-vf', scale, '-f', 'image2pipe', '-vcodec', 'ppm', 'pipe:1');
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4000) err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ppm = Buffer.concat(out);
      if (code !== 0) {
        reject(new Error(err.trim().split('\n')[0] || `ffmpeg exited with ${code}`));
        return;
      }
      if (ppm.length === 0) {
        resolve(null);
        return;
      }
      // Binary PPM: "P6\n<w> <h>\n255\n" then RGB bytes.
      const head = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 40).toString('latin1'));
      if (!head) {
        reject(new Error('ffmpeg did not write a frame'));
        return;
      }
      const width = Number(head[1]);
      const height = Number(head[2]);
      resolve({ data: ppm.subarray(head[0].length, head[0].length + width * height * 3), width, height });
    });
  });
}

/** Frames a film is judged by: spread over its length, away from the ends (fades, titles). */
export const FILM_SAMPLES = 5;

/**
 * The verdict for a film from FILM_SAMPLES frames across it: colour when most frames are (a colour
 * title card on a black-and-white film does not make it colour). `spread` and `chroma` are the
 * median frame's.
 */
export async function detectFilmColour(
  file: string,
  opts: { ffmpeg: string; durationSec: number | null; signal?: AbortSignal },
): Promise<ColourVerdict> {
  const d = opts.durationSec && opts.durationSec > 0 ? opts.durationSec : 0;
  const times =
    d > 0 ? Array.from({ length: FILM_SAMPLES }, (_, i) => (d * (i + 1)) / (FILM_SAMPLES + 1)) : [0];
  const verdicts: ColourVerdict[] = [];
  for (const t of times) {
    let frame;
    try {
      frame = await sampleFrame(opts.ffmpeg, file, t, opts.signal);
    } catch (err) {
      throw fileError(file, `cannot measure its colour: ${errorMessage(err)}`, 'DECODE_FAILED', err);
    }
    if (frame) verdicts.push(await detectColourRaw(frame.data, frame.width, frame.height));
  }
  if (verdicts.length === 0)
    throw fileError(file, 'cannot measure its colour: no frame decoded', 'DECODE_FAILED');
  const colourFrames = verdicts.filter((v) => v.colour).length;
  const median = [...verdicts].sort((a, b) => a.spread - b.spread)[Math.floor(verdicts.length / 2)];
  const colour = colourFrames * 2 > verdicts.length;
  return {
    ...median,
    colour,
    reason: colour
      ? `already in colour (${colourFrames} of ${verdicts.length} sampled frames): colorize would replace its colours`
      : median.colour
        ? 'black and white (most sampled frames)'
        : median.reason,
  };
}
