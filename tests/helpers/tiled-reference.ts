// The JavaScript loops of runTiled (src/engine/ops/tiled.ts) before its per-pixel work moved to
// WebAssembly (native/tiles.ts): the plain reference the kernel is tested against.
import { throwIfCancelled, TintypeError } from '../../src/engine/errors';
import { KB, KG, KR, maxValue } from '../../src/engine/image/color';
import { infer, type InferStats } from '../../src/engine/model/infer';
import type { LoadedModel } from '../../src/engine/model/session';
import { featherWeights, mirror, tileStarts, type TiledOptions } from '../../src/engine/ops/tiled';
import type { Raster } from '../../src/engine/types';

function roundUp(v: number, k: number): number {
  return Math.ceil(v / k) * k;
}

export async function runTiledReference(
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
  // Accumulators for one band of output rows (grown frame): [bandTop, bandTop + tileH*s).
  const bandRows = tileH * s;
  let acc = new Float32Array(bandRows * EOW * outChannels);
  let wsum = new Float32Array(bandRows * EOW);
  let bandTop = 0;

  const flushRows = (upTo: number) => {
    // Output rows [bandTop, upTo) are final: write them out and slide the band.
    const rows = upTo - bandTop;
    if (rows <= 0) return;
    for (let r = 0; r < rows; r++) {
      const oy = bandTop + r - PS;
      if (oy < 0 || oy >= OH) continue;
      for (let x = 0; x < OW; x++) {
        const ex = r * EOW + x + PS;
        const wv = wsum[ex] || 1;
        for (let c = 0; c < outChannels; c++) {
          const v = (acc[ex * outChannels + c] / wv) * outMax + 0.5;
          out[(oy * OW + x) * outChannels + c] = v < 0 ? 0 : v > outMax ? outMax : v;
        }
      }
    }
    const keep = bandRows - rows;
    const nacc = new Float32Array(acc.length);
    const nw = new Float32Array(wsum.length);
    if (keep > 0) {
      nacc.set(acc.subarray(rows * EOW * outChannels, bandRows * EOW * outChannels));
      nw.set(wsum.subarray(rows * EOW, bandRows * EOW));
    }
    acc = nacc;
    wsum = nw;
    bandTop = upTo;
  };

  for (let yi = 0; yi < ys.length; yi++) {
    const y0 = ys[yi];
    flushRows(y0 * s);
    const wy = featherWeights(tileH, O, yi > 0, yi < ys.length - 1);
    for (let xi = 0; xi < xs.length; xi++) {
      const x0 = xs[xi];
      const wx = featherWeights(tileW, O, xi > 0, xi < xs.length - 1);
      // Model input size: padded by edge replication to a multiple (dynamic) or the fixed size.
      const ph = fixed ?? roundUp(tileH, multiple);
      const pw = fixed ?? roundUp(tileW, multiple);
      for (let pass = 0; pass < passes; pass++) {
        throwIfCancelled(opts.signal);
        const planes = spec.channels * spec.frames;
        const hw = ph * pw;
        const input = new Float32Array(planes * hw);
        const rc = raster.channels;
        // Source column of each tile column (mirrored into the image), worked out once per tile.
        const cols = new Int32Array(pw);
        for (let x = 0; x < pw; x++) cols[x] = mirror(x0 + Math.min(x, tileW - 1) - P, W);
        const fill = (frame: Raster, f: number) => {
          const src = frame.data;
          const base = f * spec.channels * hw;
          for (let y = 0; y < ph; y++) {
            const row = mirror(y0 + Math.min(y, tileH - 1) - P, H) * W;
            for (let x = 0; x < pw; x++) {
              const p = (row + cols[x]) * rc;
              for (let c = 0; c < spec.channels; c++) {
                const sc = passes === 3 ? pass : rc === 1 ? 0 : c;
                input[base + c * hw + y * pw + x] = src[p + sc] / srcMax;
              }
            }
          }
        };
        if (spec.frames === 3) {
          // t-1, t, t+1 on the channel axis; a still image (no neighbours) repeats itself.
          fill(opts.neighbours?.[0] ?? raster, 0);
          fill(raster, 1);
          fill(opts.neighbours?.[1] ?? raster, 2);
        } else {
          fill(raster, 0);
        }
        const res = await infer(model, { data: input, channels: planes, height: ph, width: pw }, stats);
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
        const ohw = res.width * res.height;
        for (let y = 0; y < tileH * s; y++) {
          const wyv = wy[Math.floor(y / s)];
          if (wyv === 0) continue;
          const ay = y0 * s + y - bandTop;
          for (let x = 0; x < tileW * s; x++) {
            const wv = wyv * wx[Math.floor(x / s)];
            if (wv === 0) continue;
            const ax = x0 * s + x;
            const rp = y * res.width + x;
            const ap = ay * EOW + ax;
            if (passes === 3) {
              acc[ap * 3 + pass] += wv * res.data[rp];
              if (pass === 0) wsum[ap] += wv;
            } else if (outChannels === 3) {
              const r = res.data[rp];
              const g = res.channels === 3 ? res.data[ohw + rp] : r;
              const b = res.channels === 3 ? res.data[2 * ohw + rp] : r;
              acc[ap * 3] += wv * r;
              acc[ap * 3 + 1] += wv * g;
              acc[ap * 3 + 2] += wv * b;
              wsum[ap] += wv;
            } else {
              const v =
                res.channels === 3
                  ? KR * res.data[rp] + KG * res.data[ohw + rp] + KB * res.data[2 * ohw + rp]
                  : res.data[rp];
              acc[ap] += wv * v;
              wsum[ap] += wv;
            }
          }
        }
        done += 1;
        opts.onTile?.(done, total);
      }
    }
  }
  flushRows(EH * s);
  return { width: OW, height: OH, channels: outChannels, depth: outDepth, data: out };
}
