import { TintypeError } from '../errors';
import type { OpContext } from '../ops/registry';
import type { Raster } from '../types';
import { detectDamage } from './detect';
import { runInpaint, type FillCache } from './inpaint';
import { applyStrokes, emptyMask, type Mask } from './mask';

/** Detection's share of the op's progress (it runs a network over every tile; filling only damaged ones). */
const DETECT_SHARE = 0.7;

/**
 * The repair operation (docs/repair.md): the damage is the user's mask when given, else what the
 * repair model finds (nothing when none is installed), with the user's strokes painted over it
 * (options.maskEdits); the filler (task inpaint: the bundled classical fill, or a learned one)
 * fills it, and every pixel outside the mask is kept as it was.
 */
export async function runRepair(raster: Raster, ctx: OpContext): Promise<Raster> {
  if (raster.planar) throw new Error('internal: repair needs interleaved pixels, not planar YUV');
  const { width, height } = raster;
  if (ctx.mask && (ctx.mask.width !== width || ctx.mask.height !== height)) {
    throw new TintypeError(
      `the mask is ${ctx.mask.width}×${ctx.mask.height} but the picture is ${width}×${height}`,
      'BAD_ARGUMENT',
    );
  }
  const edits = ctx.options.maskEdits ?? [];
  const model = ctx.model;
  const share = ctx.mask || !model ? 0 : DETECT_SHARE;
  let found: Mask;
  if (ctx.mask) found = ctx.mask;
  else if (model) {
    // The same picture with the same detector finds the same damage: a re-render after the user
    // edited the mask (or changed another step) reuses it and only fills again.
    const detect = () =>
      detectDamage(
        raster,
        model,
        { onTile: (d, t) => ctx.onProgress((share * d) / t), signal: ctx.signal },
        ctx.stats,
      );
    found = ctx.memo ? await ctx.memo(`repair:${model.manifest.sha256}`, detect) : await detect();
  } else if (edits.length) found = emptyMask(width, height);
  else throw new Error('internal: repair without a mask, strokes or a repair model');
  const mask = await applyStrokes(found, edits);
  ctx.onMask?.(mask);
  if (!ctx.loadModel) throw new Error('internal: repair needs a model loader for its filler');
  const filler = await ctx.loadModel('inpaint');
  // The last fill of this picture by this filler: after a mask edit only the tiles it touched run.
  const last = ctx.memo
    ? await ctx.memo(
        `repair-fill:${filler.manifest.sha256}`,
        async (): Promise<{ cache?: FillCache }> => ({}),
      )
    : undefined;
  const out = await runInpaint(
    raster,
    mask,
    filler,
    {
      onTile: (d, t) => ctx.onProgress(share + ((1 - share) * d) / t),
      signal: ctx.signal,
      reuse: last?.cache,
      onCache: last && ((cache) => (last.cache = cache)),
    },
    ctx.stats,
  );
  ctx.onProgress(1);
  return out;
}
