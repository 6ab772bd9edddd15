import { MASK_DEFAULTS } from '../../shared/manifest';
import type { InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import { runTiled } from '../ops/tiled';
import type { Raster } from '../types';
import { binary, growMask, type Mask } from './mask';

/**
 * The damage a repair model finds: its probability map (tiled over the full-resolution picture like
 * restore, so memory stays bounded), thresholded and grown as its manifest says.
 */
export async function detectDamage(
  raster: Raster,
  model: LoadedModel,
  opts: { onTile?: (done: number, total: number) => void; signal?: AbortSignal } = {},
  stats?: InferStats,
): Promise<Mask> {
  const out = model.manifest.output;
  const onTile = (done: number, total: number) => {
    if (stats) stats.detectTiles = (stats.detectTiles ?? 0) + 1;
    opts.onTile?.(done, total);
  };
  const probability = await runTiled(raster, model, { ...opts, onTile, mask: true }, stats);
  const { width, height } = probability;
  const threshold = (out.threshold ?? MASK_DEFAULTS.threshold) * 255;
  const marked = await binary(probability.data as Uint8Array, width, height, threshold);
  return growMask({ width, height, data: marked }, out.grow ?? MASK_DEFAULTS.grow);
}
