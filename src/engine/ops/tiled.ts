import { throwIfCancelled, TintypeError } from '../errors';
import { maxValue } from '../image/color';
import { infer, type InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import type { Raster } from '../types';
import { TileKernel } from './tiles-kernel';

/** Tile origins along one axis: full tiles, the last one flush with the far edge. */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const step = Math.max(1, tile - overlap);
  const starts: number[] = [];
  for (let x = 0; x + tile < length; x += step) starts.push(x);
  starts.push(length - tile);
  return [...new Set(starts)];
}

/**
 * Blend weight of a tile's pixel at offset i (of `size`) along one axis. Near an edge shared with a
 * neighbour the first quarter of the overlap gets weight 0 (the model saw zero padding there), then
 * the weight ramps up linearly across the middle half; image borders keep weight 1.
 */
export function featherWeights(
  size: number,
  overlap: number,
  leftShared: boolean,
  rightShared: boolean,
): Float32Array {
  const w = new Float32Array(size).fill(1);
  if (overlap <= 0) return w;
  const margin = Math.floor(overlap / 4);
  const ramp = Math.max(1, overlap - 2 * margin);
  for (let i = 0; i < size; i++) {
    let a = 1;
    if (leftShared) a = Math.min(a, i < margin ? 0 : Math.min(1, (i - margin + 0.5) / ramp));
    if (rightShared) {
      const j = size - 1 - i;
      a = Math.min(a, j < margin ? 0 : Math.min(1, (j - margin + 0.5) / ramp));
    }
    w[i] = a;
  }
  return w;
}

export interface TiledOptions {
  onTile?: (done: number, total: number) => void;
  /** Overrides the manifest's tile size (tests compare tiled and untiled output). */
  tileSize?: number;
  overlap?: number;
  /** The previous and next frames, for models that take 3 consecutive frames (same size as the image). */
  neighbours?: [Raster, Raster];
  /** Checked before every tile: an abort stops the work within one tile's inference. */
  signal?: AbortSignal;
  /** The result is one 8-bit channel whatever the input (a detector's damage probability, 0..255). */
  mask?: boolean;
}

/** Index i reflected into [0, n) without repeating the edge (…2 1 0 1 2…), as ncnn's tilers read. */
export function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const a = Math.abs(i) % period;
  return a < n ? a : period - a;
}

/** Planes a model takes: its channels for each of its frames. */
function planes(spec: { channels: number; frames: number }): number {
  return spec.channels * spec.frames;
}

function roundUp(v: number, k: number): number {
  return Math.ceil(v / k) * k;
}

/**
 * Restores (1×) or upscales (×s) an image of any size with a model that runs on tiles: tiles overlap
 * and are blended with feathered weights, and memory stays bounded by a band of one tile row.
 * For a fully convolutional model whose receptive field fits in a quarter of the overlap, the tiled
 * result equals the untiled one.
 */
export async function runTiled(
  raster: Raster,
  model: LoadedModel,
  opts: TiledOptions = {},
  stats?: InferStats,
): Promise<Raster> {
  const m = model.manifest;
  const s = m.scale;
  const spec = m.input;
  const fixed = m.size.kind === 'fixed' ? m.size.value : undefined;
  const multiple = m.size.kind === 'dynamic' ? m.size.multiple : 1;
  const T = fixed ?? opts.tileSize ?? m.tile?.size ?? 256;
  const O = Math.min(opts.overlap ?? m.tile?.overlap ?? 16, Math.floor(T / 2));
  const { width: W, height: H } = raster;
  // Tiles cover the image grown by P mirrored pixels on every side (the manifest's `pad`);
  // everything below works in that grown frame and only the image itself is written out.
  const P = fixed ? 0 : (m.tile?.pad ?? 0);
  const EW = W + 2 * P;
  const EH = H + 2 * P;
  for (const n of opts.neighbours ?? []) {
    if (n.width !== W || n.height !== H || n.channels !== raster.channels || n.depth !== raster.depth) {
      throw new TintypeError(
        `neighbouring frames must match the frame (${W}×${H}, ${raster.channels} channel(s), ${raster.depth}-bit)`,
        'BAD_ARGUMENT',
      );
    }
  }
  const srcMax = maxValue(raster.depth);
  const outChannels = opts.mask ? 1 : raster.channels;
  // The model works on 1 or 3 channels; an RGB photo through a grey model runs once per channel.
  const passes = !opts.mask && spec.channels === 1 && raster.channels === 3 ? 3 : 1;
  const xs = tileStarts(EW, T, O);
  const ys = tileStarts(EH, T, O);
  const total = xs.length * ys.length * passes;
  let done = 0;

  const OW = W * s;
  const OH = H * s;
  const outDepth = opts.mask ? 8 : raster.depth;
  const outMax = maxValue(outDepth);
  const out =
    outDepth === 16 ? new Uint16Array(OW * OH * outChannels) : new Uint8Array(OW * OH * outChannels);
  const tileH = Math.min(T, EH);
  const tileW = Math.min(T, EW);
  const EOW = EW * s;
  const PS = P * s;
  // Model input size: padded by edge replication to a multiple (dynamic) or the fixed size.
  const ph = fixed ?? roundUp(tileH, multiple);
  const pw = fixed ?? roundUp(tileW, multiple);
  const frames = spec.frames === 3 ? [opts.neighbours?.[0] ?? raster, raster, opts.neighbours?.[1] ?? raster] : [raster];
  // Accumulators for one band of output rows (grown frame): [bandTop, bandTop + tileH*s), and every
  // per-pixel loop, live in the WebAssembly kernel (native/tiles.ts).
  const bandRows = tileH * s;
  const k = new TileKernel({
    width: W,
    channels: raster.channels,
    wide: raster.depth === 16,
    frames: frames.length,
    pw,
    ph,
    tileW,
    tileH,
    planes: planes(spec),
    scale: s,
    bandRows,
    eow: EOW,
    outChannels,
    outWidth: OW,
    outWide: outDepth === 16,
  });
  let bandTop = 0;

  const flushRows = (upTo: number) => {
    // Output rows [bandTop, upTo) are final: write them out and slide the band.
    const rows = upTo - bandTop;
    if (rows <= 0) return;
    const r0 = Math.max(0, PS - bandTop);
    const r1 = Math.min(rows, OH + PS - bandTop);
    k.flush(r0, Math.max(r0, r1), PS, outMax, out, (bandTop + r0 - PS) * OW * outChannels, rows);
    bandTop = upTo;
  };

  const srcRows = new Int32Array(ph);
  const cols = new Int32Array(pw);
  // blendTile's modes: one channel of three per pass, RGB, or one channel.
  const mode = passes === 3 ? 0 : outChannels === 3 ? 1 : 2;
  for (let yi = 0; yi < ys.length; yi++) {
    const y0 = ys[yi];
    flushRows(y0 * s);
    const wy = featherWeights(tileH, O, yi > 0, yi < ys.length - 1);
    // The source rows of this row of tiles (mirrored into the image), copied once for all its tiles.
    for (let y = 0; y < ph; y++) srcRows[y] = mirror(y0 + Math.min(y, tileH - 1) - P, H);
    frames.forEach((f, i) => k.loadBand(i, f.data, srcRows));
    for (let xi = 0; xi < xs.length; xi++) {
      const x0 = xs[xi];
      const wx = featherWeights(tileW, O, xi > 0, xi < xs.length - 1);
      // Source column of each tile column (mirrored into the image), worked out once per tile.
      for (let x = 0; x < pw; x++) cols[x] = mirror(x0 + Math.min(x, tileW - 1) - P, W);
      k.setColumns(cols);
      for (let pass = 0; pass < passes; pass++) {
        throwIfCancelled(opts.signal);
        // t-1, t, t+1 on the channel axis for a 3-frame model; a still image repeats itself.
        for (let f = 0; f < frames.length; f++) k.cut(f, spec.channels, passes === 3 ? pass : -1, srcMax);
        const input = k.input();
        const res = await infer(model, { data: input, channels: planes(spec), height: ph, width: pw }, stats);
        if (res.height !== ph * s || res.width !== pw * s) {
          throw new TintypeError(
            `model "${m.id}" returned ${res.width}×${res.height} for a ${pw}×${ph} tile; its manifest says ×${s}`,
            'MODEL_OUTPUT',
            m.modelPath,
          );
        }
        if (res.channels !== 1 && res.channels !== 3) {
          throw new TintypeError(
            `model "${m.id}" returned ${res.channels} channels`,
            'MODEL_OUTPUT',
            m.modelPath,
          );
        }
        k.blend(res, wy, wx, y0 * s - bandTop, x0 * s, mode, pass);
        done += 1;
        opts.onTile?.(done, total);
      }
    }
  }
  flushRows(EH * s);
  return { width: OW, height: OH, channels: outChannels, depth: outDepth, data: out };
}
