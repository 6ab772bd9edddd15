import { statSync } from 'node:fs';
import { TASK_INFO } from '../../shared/ops';
import type { LoadedModel } from '../model/session';
import type { Raster } from '../types';
import { effectiveRenderSize } from './render-size';
import { tileStarts } from './tiled';

/**
 * A rough relative cost of running one operation, to weight a multi-step recipe's progress bar: the
 * pixels the model is fed (tiles with their overlap and padding, or the colorizer's small square)
 * times the size of its weights, a stand-in for the work per pixel of a convolutional network. An ×4
 * upscaler with 64 MB of weights on every tile dwarfs a 256-px colorize pass; equal steps did not.
 */
export function opCost(model: LoadedModel, raster: Raster, renderSize?: number): number {
  const m = model.manifest;
  let bytes = 1;
  try {
    bytes = Math.max(1, statSync(m.modelPath).size);
  } catch {
    // A model that is already loaded but moved on disk: every op then weighs by pixels alone.
  }
  if (TASK_INFO[m.task].runs === 'render-size') {
    const s = effectiveRenderSize(m, renderSize);
    return s * s * bytes;
  }
  const fixed = m.size.kind === 'fixed' ? m.size.value : undefined;
  const T = fixed ?? m.tile?.size ?? 256;
  const O = Math.min(m.tile?.overlap ?? 16, Math.floor(T / 2));
  const tiles = tileStarts(raster.width, T, O).length * tileStarts(raster.height, T, O).length;
  const passes = m.input.channels === 1 && raster.channels === 3 ? 3 : 1;
  const tileArea = Math.min(T, raster.width) * Math.min(T, raster.height);
  // Layers after the upsampling run on scale² more pixels; count them as a quarter of the network.
  return tiles * passes * tileArea * bytes * (1 + (m.scale * m.scale - 1) / 4);
}
