import sharp from 'sharp';
import { MASK_DEFAULTS } from '../../shared/manifest';
import type { InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import { runTiled } from '../ops/tiled';
import type { Raster } from '../types';
import { binary, growMask, type Mask } from './mask';

/**
 * How far the growth reaches: a pixel next to a mark joins it only if the detector gives it at least
 * this probability. Growing blindly (a square around every mark) made a 1-px false alarm on a lit
 * rod or an embroidered line 3 px wide and wiped what was beside it; the halo of a real scratch is
 * seen by the detector, weakly, and is still taken. Picked on synthetic damage on BSD100 (seed 7,
 * not the bench's set), then checked on the bench's: docs/repair.md "What the mask takes".
 */
export const GROW_FLOOR = 0.1;

/**
 * The damage a repair model finds: its probability map (tiled over the full-resolution picture like
 * restore, so memory stays bounded), thresholded, and grown as its manifest says into pixels the
 * detector also suspects (GROW_FLOOR).
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
  const p = probability.data as Uint8Array;
  const marked = await binary(p, width, height, threshold);
  const grown = await growMask({ width, height, data: marked }, out.grow ?? MASK_DEFAULTS.grow);
  if (grown.data === marked) return grown;
  const suspected = await binary(p, width, height, Math.min(threshold, GROW_FLOOR * 255));
  const data = await sharp(grown.data, { raw: { width, height, channels: 1 } })
    .boolean(Buffer.from(suspected.buffer, suspected.byteOffset, suspected.length), 'and', {
      raw: { width, height, channels: 1 },
    })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
