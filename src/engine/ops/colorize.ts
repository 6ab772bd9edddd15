import { TintypeError } from '../errors';
import { effectiveRenderSize } from './render-size';
import {
  chromaForYuv420,
  chromaFromRgb,
  chromaFromRgbPlanes,
  KB,
  KG,
  KR,
  labLOfGrey,
  labToRgb,
  maxValue,
  mergeLumaChroma,
  yuvRange,
} from '../image/color';
import { resizePlane, resizeRaster } from '../image/resize';
import { infer, type InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import type { ChromaPlanes, LumaFrame, Raster } from '../types';
import type { Hint } from '../../shared/hints';
import { mergeWithHints } from './hints/apply';

export interface ColorizeOptions {
  renderSize?: number;
  saturation?: number;
  /**
   * The colour already predicted from the same picture at the render size (predictFromSmall on
   * the photo read shrunk from its file, while the full-size decode ran): only the merge is left.
   */
  predicted?: Prediction;
  /** The user's colour hints, in this raster's pixels (src/shared/hints.ts). */
  hints?: readonly Hint[];
  /** Remembers what the hints work out from the picture as read, for its next render (OpContext.memo). */
  memo?: <T>(key: string, make: () => Promise<T>) => Promise<T>;
}

/** The model's colour for a picture: BT.601 analog U,V planes of cw×ch at the model's output size. */
export interface Prediction {
  u: Float32Array;
  v: Float32Array;
  cw: number;
  ch: number;
}

/** The model's colour for a grey render (size×size, 0..1), as BT.601 analog U,V planes cw×ch. */
async function predictChroma(
  greyPlane: Float32Array,
  size: number,
  model: LoadedModel,
  stats?: InferStats,
): Promise<Prediction> {
  const m = model.manifest;
  const n = size * size;
  const planes = m.input.channels * m.input.frames;
  const input = new Float32Array(n * planes);
  for (let k = 0; k < planes; k++) input.set(greyPlane, k * n);
  const out = await infer(model, { data: input, channels: planes, height: size, width: size }, stats);
  const on = out.width * out.height;
  const want = (c: number) => {
    if (out.channels !== c) {
      throw new TintypeError(
        `model "${m.id}" returned ${out.channels} channels; its manifest output "${m.output.kind}" needs ${c}`,
        'MODEL_OUTPUT',
        m.modelPath,
      );
    }
  };
  const planar = { cw: out.width, ch: out.height };
  switch (m.output.kind) {
    case 'rgb': {
      want(3);
      return { ...chromaFromRgbPlanes(out.data, on), ...planar };
    }
    case 'ab': {
      want(2);
      // Lab needs the luminance the model was shown, at the output's size.
      const greyAtOut =
        out.width === size && out.height === size
          ? greyPlane
          : await resizePlane(greyPlane, size, size, out.width, out.height, 0, 1);
      const rgb = new Float32Array(on * 3);
      for (let i = 0; i < on; i++)
        labToRgb(labLOfGrey(greyAtOut[i]), out.data[i], out.data[on + i], rgb, i * 3);
      return { ...chromaFromRgb(rgb, on), ...planar };
    }
    case 'uv': {
      want(2);
      return { u: out.data.subarray(0, on), v: out.data.subarray(on, 2 * on), ...planar };
    }
    default:
      throw new TintypeError(
        `model "${m.id}" outputs ${m.output.kind}, which carries no colour`,
        'BAD_MANIFEST',
        m.manifestPath,
      );
  }
}

/** Adds the time of one colorize call to the stats, split as the bench reports it. */
function account(stats: InferStats | undefined, t0: number, tMerge: number, inferBefore: number): void {
  if (!stats) return;
  // predictChroma converts tensors around the model run itself: that counts as preparation.
  stats.prepareMs = (stats.prepareMs ?? 0) + (tMerge - t0) - (stats.ms - inferBefore);
  stats.mergeMs = (stats.mergeMs ?? 0) + (performance.now() - tMerge);
}

/**
 * The model's colour for a picture already at the render size (size×size, any depth, grey or
 * RGB). Resizing comes first, then the luma: both are linear, and the luma of 80 k pixels costs
 * nothing.
 */
export async function predictFromSmall(
  small: Raster,
  model: LoadedModel,
  stats?: InferStats,
): Promise<Prediction> {
  const size = small.width;
  if (small.height !== size)
    throw new Error(`internal: a ${small.width}×${small.height} render is not square`);
  const n = size * size;
  const inv = 1 / maxValue(small.depth);
  const greyPlane = new Float32Array(n);
  const sd = small.data;
  if (small.channels === 1) for (let i = 0; i < n; i++) greyPlane[i] = sd[i] * inv;
  else
    for (let i = 0; i < n; i++)
      greyPlane[i] = Math.min(1, (KR * sd[i * 3] + KG * sd[i * 3 + 1] + KB * sd[i * 3 + 2]) * inv);
  return predictChroma(greyPlane, size, model, stats);
}

/**
 * DeOldify's method: the model sees a small square greyscale render; its colours are scaled back to
 * the original size and only their chroma is kept, on top of the original full-resolution luminance.
 * Sepia or toned prints are greyscaled first, so their tint never leaks into the result.
 */
export async function colorize(
  raster: Raster,
  model: LoadedModel,
  opts: ColorizeOptions = {},
  stats?: InferStats,
): Promise<Raster> {
  const t0 = performance.now();
  const inferBefore = stats?.ms ?? 0;
  const size = effectiveRenderSize(model.manifest, opts.renderSize);
  const { u, v, cw, ch } =
    opts.predicted ?? (await predictFromSmall(await resizeRaster(raster, size, size, 'cubic'), model, stats));
  const tMerge = performance.now();
  const merged = opts.hints?.length
    ? await mergeWithHints(raster, { u, v, cw, ch }, opts.saturation ?? 1, opts.hints, stats, opts.memo)
    : mergeLumaChroma(raster, u, v, cw, ch, opts.saturation ?? 1, raster.depth);
  account(stats, t0, tMerge, inferBefore);
  return merged;
}

/**
 * Colorizes a film frame that stays in YUV 4:2:0: the model sees the luma plane shrunk to the
 * render size; the frame keeps its luma bit for bit and gets new chroma planes (chromaForYuv420).
 */
export async function colorizeLuma(
  frame: LumaFrame,
  model: LoadedModel,
  opts: Omit<ColorizeOptions, 'predicted' | 'hints'> = {},
  stats?: InferStats,
): Promise<ChromaPlanes> {
  const t0 = performance.now();
  const inferBefore = stats?.ms ?? 0;
  const size = effectiveRenderSize(model.manifest, opts.renderSize);
  const { width, height } = frame;
  const small = await resizeRaster(
    { width, height, channels: 1, depth: 8, data: frame.luma },
    size,
    size,
    'cubic',
  );
  const { y0, ys } = yuvRange(frame.range);
  const greyPlane = new Float32Array(size * size);
  for (let i = 0; i < greyPlane.length; i++) {
    const g = (small.data[i] - y0) / ys;
    greyPlane[i] = g < 0 ? 0 : g > 1 ? 1 : g;
  }
  const { u, v, cw, ch } = await predictChroma(greyPlane, size, model, stats);
  const tMerge = performance.now();
  const planes = chromaForYuv420(
    frame.luma,
    width,
    height,
    u,
    v,
    cw,
    ch,
    opts.saturation ?? 1,
    frame.matrix,
    frame.range,
  );
  account(stats, t0, tMerge, inferBefore);
  return planes;
}
