import { TintypeError } from '../errors';
import { effectiveRenderSize } from './render-size';
import { chromaFromRgb, KB, KG, KR, labLOfGrey, labToRgb, maxValue, mergeLumaChroma } from '../image/color';
import { resizePlane, resizeRaster } from '../image/resize';
import { infer, type InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import type { Raster } from '../types';

export interface ColorizeOptions {
  renderSize?: number;
  saturation?: number;
  /**
   * The same picture already at the render size (read shrunk from its file, see readShrunk), to
   * skip resizing the full-size raster; ignored when it has another size.
   */
  shrunk?: Raster;
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
  const m = model.manifest;
  const size = effectiveRenderSize(m, opts.renderSize);
  // Resize first, then take the luma: both are linear, and the luma of 80 k pixels costs nothing.
  const small =
    opts.shrunk && opts.shrunk.width === size && opts.shrunk.height === size
      ? opts.shrunk
      : await resizeRaster(raster, size, size, 'cubic');
  const n = size * size;
  const inv = 1 / maxValue(small.depth);
  const greyPlane = new Float32Array(n);
  const sd = small.data;
  if (small.channels === 1) for (let i = 0; i < n; i++) greyPlane[i] = sd[i] * inv;
  else
    for (let i = 0; i < n; i++)
      greyPlane[i] = Math.min(1, (KR * sd[i * 3] + KG * sd[i * 3 + 1] + KB * sd[i * 3 + 2]) * inv);
  const planes = m.input.channels * m.input.frames;
  const input = new Float32Array(n * planes);
  for (let k = 0; k < planes; k++) input.set(greyPlane, k * n);

  const tInfer = performance.now();
  const inferBefore = stats?.ms ?? 0;
  const out = await infer(model, { data: input, channels: planes, height: size, width: size }, stats);
  const tMerge = performance.now();
  if (stats) {
    // infer() converts tensors around the run itself: that counts as preparation.
    stats.prepareMs = (stats.prepareMs ?? 0) + (tInfer - t0) + (tMerge - tInfer - (stats.ms - inferBefore));
  }
  const on = out.width * out.height;
  let u: Float32Array;
  let v: Float32Array;
  const want = (c: number) => {
    if (out.channels !== c) {
      throw new TintypeError(
        `model "${m.id}" returned ${out.channels} channels; its manifest output "${m.output.kind}" needs ${c}`,
        'MODEL_OUTPUT',
        m.modelPath,
      );
    }
  };
  switch (m.output.kind) {
    case 'rgb': {
      want(3);
      const rgb = new Float32Array(on * 3);
      for (let i = 0; i < on; i++) {
        rgb[i * 3] = out.data[i];
        rgb[i * 3 + 1] = out.data[on + i];
        rgb[i * 3 + 2] = out.data[2 * on + i];
      }
      ({ u, v } = chromaFromRgb(rgb, on));
      break;
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
      ({ u, v } = chromaFromRgb(rgb, on));
      break;
    }
    case 'uv': {
      want(2);
      u = out.data.subarray(0, on);
      v = out.data.subarray(on, 2 * on);
      break;
    }
    default:
      throw new TintypeError(
        `model "${m.id}" outputs ${m.output.kind}, which carries no colour`,
        'BAD_MANIFEST',
        m.manifestPath,
      );
  }
  const merged = mergeLumaChroma(raster, u, v, out.width, out.height, opts.saturation ?? 1, raster.depth);
  if (stats) stats.mergeMs = (stats.mergeMs ?? 0) + (performance.now() - tMerge);
  return merged;
}
