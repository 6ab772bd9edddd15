import type { ModelChain } from '../ops/chain';
import { perFrame, perWindow, type VideoProcessor } from '../video/window';
import type { EnginePool } from './pool';

/**
 * The frame processor of a film render on the engine's worker pool, for a resolved model chain:
 * written once, so a local render and a farm worker process frames alike (the same YUV decision,
 * the same pixels).
 */
export function filmProcessor(
  pool: Pick<EnginePool, 'processRaster' | 'processWindow' | 'colorizeLuma'>,
  chain: Pick<ModelChain, 'ops' | 'options' | 'frames'>,
): VideoProcessor {
  const { ops, options } = chain;
  return chain.frames === 3
    ? perWindow((w) => pool.processWindow([w.frames[0], w.frames[1], w.frames[2]], ops, options))
    : perFrame(
        (f) => pool.processRaster(f, ops, options),
        // A colorize-only render can stay in YUV: the pool makes new chroma from the luma.
        ops.length === 1 && ops[0] === 'colorize' ? (f) => pool.colorizeLuma(f, options) : undefined,
      );
}
