import { TintypeError } from '../errors';
import type { OpContext } from '../ops/registry';
import type { Raster } from '../types';
import { detectDamage } from './detect';
import { runInpaint } from './inpaint';
import type { Mask } from './mask';

/** Detection's share of the op's progress (it runs a network over every tile; filling only damaged ones). */
const DETECT_SHARE = 0.7;

/**
 * The repair operation (docs/repair.md): the damage is the user's mask when given, else what the
 * repair model finds; the filler (task inpaint: the bundled classical fill, or a learned one) fills
 * it, and every pixel outside the mask is kept as it was.
 */
export async function runRepair(raster: Raster, ctx: OpContext): Promise<Raster> {
  if (raster.planar) throw new Error('internal: repair needs interleaved pixels, not planar YUV');
  let mask: Mask | undefined = ctx.mask;
  if (mask && (mask.width !== raster.width || mask.height !== raster.height)) {
    throw new TintypeError(
      `the mask is ${mask.width}×${mask.height} but the picture is ${raster.width}×${raster.height}`,
      'BAD_ARGUMENT',
    );
  }
  const share = mask ? 0 : DETECT_SHARE;
  if (!mask) {
    if (!ctx.model) throw new Error('internal: repair without a mask or a repair model');
    mask = await detectDamage(
      raster,
      ctx.model,
      { onTile: (d, t) => ctx.onProgress((share * d) / t), signal: ctx.signal },
      ctx.stats,
    );
  }
  ctx.onMask?.(mask);
  if (!ctx.loadModel) throw new Error('internal: repair needs a model loader for its filler');
  const filler = await ctx.loadModel('inpaint');
  const out = await runInpaint(
    raster,
    mask,
    filler,
    { onTile: (d, t) => ctx.onProgress(share + ((1 - share) * d) / t), signal: ctx.signal },
    ctx.stats,
  );
  ctx.onProgress(1);
  return out;
}
