import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { fileError, throwIfCancelled, TintypeError } from '../errors';
import { KB, KG, KR, maxValue } from '../image/color';
import { infer, type InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import { featherWeights, tileStarts } from '../ops/tiled';
import type { Raster } from '../types';
import { anyMarked, binary, type Mask } from './mask';

export interface InpaintOptions {
  onTile?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * The previous fill of the same picture by the same model (what `onCache` was told): a tile whose
   * mask is unchanged takes its answer from there instead of running the model again, so an edit
   * of the mask re-fills only the tiles it touched, and the result is the one a fresh fill gives.
   */
  reuse?: FillCache;
  /** Told what this fill keeps for the next one (the mask, and each filled tile's answer). */
  onCache?: (cache: FillCache) => void;
}

/** What one fill keeps for the next fill of the same picture with the same model. */
export interface FillCache {
  /** The mask the tiles were filled for, and the picture's samples (an answer has `channels` per hole). */
  mask: Mask;
  channels: number;
  depth: 8 | 16;
  /** Each filled tile's answer at its hole pixels (in scan order, `channels` values each), by "x0,y0". */
  tiles: Map<string, Float32Array>;
}

/**
 * The most a fill keeps for the next one (float answers at hole pixels): a few scratches on a 12 MP
 * scan need a few MB; a mask covering most of a huge picture stops being kept past this, and its
 * next fill simply runs every tile again.
 */
export const FILL_CACHE_BYTES = 96 * 1024 * 1024;

const rawOf = (r: { width: number; height: number }, channels: number) => ({
  raw: { width: r.width, height: r.height, channels: channels as 1 | 2 | 3 | 4 },
});

/** The colour space raw samples stay in through sharp (it would turn one channel into sRGB). */
const spaceOf = (channels: number, depth: 8 | 16) =>
  channels === 1 ? (depth === 16 ? 'grey16' : 'b-w') : depth === 16 ? 'rgb16' : 'srgb';

function roundUp(v: number, k: number): number {
  return Math.ceil(v / k) * k;
}

/** Whether every pixel of the region is marked (compares rows with a row of 255s, natively). */
function allMarked(mask: Mask, x0: number, y0: number, x1: number, y1: number): boolean {
  const full = Buffer.alloc(x1 - x0, 255);
  const buf = Buffer.from(mask.data.buffer, mask.data.byteOffset, mask.data.length);
  for (let y = y0; y < y1; y++) {
    if (!buf.subarray(y * mask.width + x0, y * mask.width + x1).equals(full)) return false;
  }
  return true;
}

/** Whether two masks of one picture agree over the region (row by row, natively). */
function sameRegion(a: Mask, b: Mask, x0: number, y0: number, x1: number, y1: number): boolean {
  const ba = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.length);
  const bb = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.length);
  for (let y = y0; y < y1; y++) {
    const s = y * a.width;
    if (!ba.subarray(s + x0, s + x1).equals(bb.subarray(s + x0, s + x1))) return false;
  }
  return true;
}

/**
 * Fills the marked pixels of `raster` with an inpaint model (task inpaint: the image with its holes
 * zeroed and the mask in, an image out; docs/repair.md) and keeps every other pixel exactly as it
 * was. The model runs on overlapping tiles, only those holding marked pixels, blended with the
 * restore tiler's feathered weights; memory stays bounded by one band of tiles. A tile that is hole
 * from edge to edge (a torn corner larger than a tile) has nothing to fill from, so it takes a
 * coarse fill of the whole picture shrunk to one tile instead.
 *
 * A tile's answer depends only on the picture and the mask inside it (the coarse fill: on the whole
 * mask), so with `opts.reuse` from the previous fill only tiles whose mask changed run again; the
 * blend then adds the same numbers in the same order, and the result is exactly a fresh fill's.
 */
export async function runInpaint(
  raster: Raster,
  mask: Mask,
  model: LoadedModel,
  opts: InpaintOptions = {},
  stats?: InferStats,
): Promise<Raster> {
  const m = model.manifest;
  const { width: W, height: H, channels: rc, depth } = raster;
  if (mask.width !== W || mask.height !== H) {
    throw new Error(`internal: a ${mask.width}×${mask.height} mask for a ${W}×${H} picture`);
  }
  const spec = m.input;
  const maskSpec = m.maskInput;
  if (!maskSpec || !model.session.inputNames.includes(maskSpec.name)) {
    throw fileError(
      m.modelPath,
      `an inpaint model needs a mask input${maskSpec ? ` named "${maskSpec.name}" (it has ${model.session.inputNames.join(', ')})` : ''}`,
      'BAD_MANIFEST',
    );
  }
  const fixed = m.size.kind === 'fixed' ? m.size.value : undefined;
  const multiple = m.size.kind === 'dynamic' ? m.size.multiple : 1;
  const T = fixed ?? m.tile?.size ?? 512;
  const O = Math.min(m.tile?.overlap ?? 64, Math.floor(T / 2));
  const xs = tileStarts(W, T, O);
  const ys = tileStarts(H, T, O);
  const tileW = Math.min(T, W);
  const tileH = Math.min(T, H);
  const todo: [number, number][] = [];
  for (const y0 of ys)
    for (const x0 of xs) if (anyMarked(mask, x0, y0, x0 + tileW, y0 + tileH)) todo.push([x0, y0]);
  const kept: FillCache = { mask, channels: rc, depth, tiles: new Map() };
  let keptBytes = 0;
  const prev =
    opts.reuse?.mask.width === W &&
    opts.reuse.mask.height === H &&
    opts.reuse.channels === rc &&
    opts.reuse.depth === depth
      ? opts.reuse
      : undefined;
  // The coarse fill (all-hole tiles) sees the whole mask: reusable only when nothing changed.
  const unchanged = prev !== undefined && sameRegion(prev.mask, mask, 0, 0, W, H);
  if (todo.length === 0) {
    opts.onCache?.(kept);
    return raster;
  }

  const max = maxValue(depth);
  const out = raster.data.slice();
  // An RGB picture through a grey model runs once per channel, as the restore tiler does.
  const passes = spec.channels === 1 && rc === 3 ? 3 : 1;
  const nhwc = spec.layout === 'NHWC';
  const [mlo, mhi] = maskSpec.range;
  let coarse: Promise<Raster> | undefined;
  let done = 0;
  const total = todo.length;

  // Accumulators for one band of rows [bandTop, bandTop + tileH), as in the restore tiler.
  let acc = new Float32Array(tileH * W * rc);
  let wsum = new Float32Array(tileH * W);
  let bandTop = 0;
  const flushRows = (upTo: number) => {
    const rows = Math.min(upTo, H) - bandTop;
    if (rows <= 0) return;
    // Rows past the band were never touched by a tile (no holes there).
    for (let r = 0; r < Math.min(rows, tileH); r++) {
      const y = bandTop + r;
      if (!anyMarked(mask, 0, y, W, y + 1)) continue;
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        const wv = wsum[r * W + x];
        if (mask.data[p] === 0 || wv === 0) continue;
        for (let c = 0; c < rc; c++) {
          const v = (acc[(r * W + x) * rc + c] / wv) * max + 0.5;
          out[p * rc + c] = v < 0 ? 0 : v > max ? max : v;
        }
      }
    }
    const keep = tileH - rows;
    const nacc = new Float32Array(acc.length);
    const nw = new Float32Array(wsum.length);
    if (keep > 0) {
      nacc.set(acc.subarray(rows * W * rc));
      nw.set(wsum.subarray(rows * W));
    }
    acc = nacc;
    wsum = nw;
    bandTop += rows;
  };

  for (const [x0, y0] of todo) {
    if (y0 > bandTop) flushRows(y0);
    throwIfCancelled(opts.signal);
    const key = `${x0},${y0}`;
    const whole = allMarked(mask, x0, y0, x0 + tileW, y0 + tileH);
    let answer = prev?.tiles.get(key);
    if (answer && !(whole ? unchanged : sameRegion(prev!.mask, mask, x0, y0, x0 + tileW, y0 + tileH))) {
      answer = undefined;
    }
    if (answer) {
      if (stats) stats.fillReused = (stats.fillReused ?? 0) + 1;
    } else {
      answer = whole
        ? await coarseTile((coarse ??= coarseFill(raster, mask, model, T, stats)), x0, y0, tileW, tileH, W, H)
        : await fillTile(x0, y0);
      if (stats) stats.fillTiles = (stats.fillTiles ?? 0) + 1;
    }
    if (keptBytes + answer.byteLength <= FILL_CACHE_BYTES) {
      kept.tiles.set(key, answer);
      keptBytes += answer.byteLength;
    }
    // The answer into the band, with the tile's feathered weights (counted once per pixel).
    const yi = ys.indexOf(y0);
    const xi = xs.indexOf(x0);
    const wy = featherWeights(tileH, O, yi > 0, yi < ys.length - 1);
    const wx = featherWeights(tileW, O, xi > 0, xi < xs.length - 1);
    let k = 0;
    for (let y = 0; y < tileH; y++) {
      const row = (y0 + y) * W + x0;
      for (let x = 0; x < tileW; x++) {
        if (!mask.data[row + x]) continue;
        const wv = wy[y] * wx[x];
        if (wv !== 0) {
          const ap = (y0 + y - bandTop) * W + x0 + x;
          for (let c = 0; c < rc; c++) acc[ap * rc + c] += wv * answer[k + c];
          wsum[ap] += wv;
        }
        k += rc;
      }
    }
    done += 1;
    opts.onTile?.(done, total);
  }
  flushRows(H);
  opts.onCache?.(kept);
  return { ...raster, data: out };

  /** The model's answer for one tile at its hole pixels (scan order, `rc` values each). */
  async function fillTile(x0: number, y0: number): Promise<Float32Array> {
    const ph = fixed ?? roundUp(tileH, multiple);
    const pw = fixed ?? roundUp(tileW, multiple);
    const hw = ph * pw;
    // The mask plane (1 = hole), padded by edge replication like the image.
    const holes = new Uint8Array(hw);
    for (let y = 0; y < ph; y++) {
      const row = (y0 + Math.min(y, tileH - 1)) * W + x0;
      for (let x = 0; x < pw; x++) holes[y * pw + x] = mask.data[row + Math.min(x, tileW - 1)] ? 1 : 0;
    }
    let count = 0;
    for (let y = 0; y < tileH; y++) for (let x = 0; x < tileW; x++) count += holes[y * pw + x];
    const answer = new Float32Array(count * rc);
    const maskData = new Float32Array(hw);
    for (let i = 0; i < hw; i++) maskData[i] = holes[i] * (mhi - mlo) + mlo;
    const maskTensor = new ort.Tensor('float32', maskData, nhwc ? [1, ph, pw, 1] : [1, 1, ph, pw]);
    for (let pass = 0; pass < passes; pass++) {
      throwIfCancelled(opts.signal);
      const planes = spec.channels;
      const input = new Float32Array(planes * hw);
      for (let y = 0; y < ph; y++) {
        const row = (y0 + Math.min(y, tileH - 1)) * W + x0;
        for (let x = 0; x < pw; x++) {
          const i = y * pw + x;
          if (holes[i]) continue; // hole pixels are 0: the model sees image × (1 − mask)
          const p = (row + Math.min(x, tileW - 1)) * rc;
          for (let c = 0; c < planes; c++) {
            const sc = passes === 3 ? pass : rc === 1 ? 0 : c;
            input[c * hw + i] = raster.data[p + sc] / max;
          }
        }
      }
      const res = await infer(model, { data: input, channels: planes, height: ph, width: pw }, stats, {
        [maskSpec!.name]: maskTensor,
      });
      if (res.width !== pw || res.height !== ph || (res.channels !== 1 && res.channels !== 3)) {
        throw fileError(
          m.modelPath,
          `returned ${res.channels}×${res.width}×${res.height} for a ${pw}×${ph} tile; an inpaint model answers an image of the tile's size`,
          'MODEL_OUTPUT',
        );
      }
      const ohw = res.width * res.height;
      let k = 0;
      for (let y = 0; y < tileH; y++) {
        for (let x = 0; x < tileW; x++) {
          const rp = y * pw + x;
          if (!holes[rp]) continue;
          if (passes === 3) {
            answer[k + pass] = res.data[rp];
          } else if (rc === 3) {
            const r = res.data[rp];
            answer[k] = r;
            answer[k + 1] = res.channels === 3 ? res.data[ohw + rp] : r;
            answer[k + 2] = res.channels === 3 ? res.data[2 * ohw + rp] : r;
          } else {
            answer[k] =
              res.channels === 3
                ? KR * res.data[rp] + KG * res.data[ohw + rp] + KB * res.data[2 * ohw + rp]
                : res.data[rp];
          }
          k += rc;
        }
      }
    }
    return answer;
  }
}

/** An all-hole tile's answer: its part of the coarse fill, enlarged to the picture's size. */
async function coarseTile(
  coarse: Promise<Raster>,
  x0: number,
  y0: number,
  tileW: number,
  tileH: number,
  W: number,
  H: number,
): Promise<Float32Array> {
  const small = await coarse;
  const { channels: rc, depth } = small;
  const region = await sharp(small.data, rawOf(small, rc))
    .resize(W, H, { kernel: 'linear', fit: 'fill' })
    .extract({ left: x0, top: y0, width: tileW, height: tileH })
    .toColourspace(spaceOf(rc, depth))
    .raw({ depth: depth === 16 ? 'ushort' : 'uchar' })
    .toBuffer();
  const vals = depth === 16 ? new Uint16Array(region.buffer, region.byteOffset, region.length / 2) : region;
  const max = maxValue(depth);
  const answer = new Float32Array(tileW * tileH * rc);
  for (let i = 0; i < answer.length; i++) answer[i] = vals[i] / max;
  return answer;
}

/**
 * The whole picture shrunk to fit one tile and filled there: what a tile that is all hole takes.
 * A shrunk pixel counts as known only where every pixel under it was (no damage bleeds in).
 */
async function coarseFill(
  raster: Raster,
  mask: Mask,
  model: LoadedModel,
  tile: number,
  stats?: InferStats,
): Promise<Raster> {
  const { width: W, height: H, channels: rc, depth } = raster;
  const k = Math.min(1, tile / Math.max(W, H));
  const w = Math.max(1, Math.floor(W * k));
  const h = Math.max(1, Math.floor(H * k));
  const small = await sharp(raster.data, rawOf(raster, rc))
    .resize(w, h, { kernel: 'linear', fit: 'fill' })
    .toColourspace(spaceOf(rc, depth))
    .raw({ depth: depth === 16 ? 'ushort' : 'uchar' })
    .toBuffer();
  const smallMask = await sharp(mask.data, rawOf(mask, 1))
    .resize(w, h, { kernel: 'linear', fit: 'fill' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const m: Mask = { width: w, height: h, data: await binary(smallMask, w, h, 1) };
  if (allMarked(m, 0, 0, w, h)) {
    throw new TintypeError(
      'the mask covers the whole picture: there is nothing left to fill from',
      'BAD_ARGUMENT',
    );
  }
  const data = depth === 16 ? new Uint16Array(small.buffer, small.byteOffset, small.length / 2) : small;
  return runInpaint({ width: w, height: h, channels: rc, depth, data }, m, model, {}, stats);
}
