import type { Raster } from '../types';

/*
 * Colorizers decide colour frame by frame, so a wall that does not move can still change hue from
 * one frame to the next: that is the flicker people see. It is measured where the picture itself
 * is static (luma barely changes), so real motion is not counted as flicker.
 */

const KR = 0.299;
const KB = 0.114;
const KG = 1 - KR - KB;

export interface FlickerOptions {
  /** A pixel counts as static when the motion around it (see regionalMotion) is below this (0..1 of full scale). Default 3/255. */
  lumaThreshold?: number;
}

export interface FlickerStats {
  /** Mean absolute change of Cb and Cr between consecutive frames over static pixels, in 8-bit levels. */
  meanChromaChange: number;
  /** Fraction of pixels (over all frame pairs) that were static and so counted. */
  staticFraction: number;
  framePairs: number;
}

/** Accumulates the flicker metric over a sequence of RGB frames. Grey frames have no chroma and add 0. */
export class FlickerMeter {
  private prev: YCbCr | undefined;
  private prevFrame: Raster | undefined;
  private sum = 0;
  private counted = 0;
  private pixels = 0;
  private pairs = 0;
  private readonly threshold: number;

  constructor(opts: FlickerOptions = {}) {
    this.threshold = opts.lumaThreshold ?? 3 / 255;
  }

  add(frame: Raster): void {
    const cur = frame.channels === 3 ? toYCbCr(frame) : undefined;
    const prev = this.prev;
    const prevFrame = this.prevFrame;
    this.prev = cur;
    this.prevFrame = frame;
    if (
      !prevFrame ||
      prevFrame.width !== frame.width ||
      prevFrame.height !== frame.height ||
      prevFrame.channels !== frame.channels
    )
      return;
    this.pairs += 1;
    const n = frame.width * frame.height;
    this.pixels += n;
    if (!cur || !prev) {
      this.counted += n;
      return;
    }
    const motion = regionalMotion(cur.Y, prev.Y, frame.width, frame.height);
    for (let i = 0; i < n; i++) {
      if (motion[i] >= this.threshold) continue;
      this.sum += (Math.abs(cur.Cb[i] - prev.Cb[i]) + Math.abs(cur.Cr[i] - prev.Cr[i])) / 2;
      this.counted += 1;
    }
  }

  get stats(): FlickerStats {
    return {
      meanChromaChange: this.counted ? (this.sum / this.counted) * 255 : 0,
      staticFraction: this.pixels ? this.counted / this.pixels : 0,
      framePairs: this.pairs,
    };
  }
}

export interface ChromaSmoothingOptions {
  /** How much of the previous frame's chroma a fully static pixel keeps (0..0.95). Default 0.7. */
  strength?: number;
  /** Mean local luma change (0..1) at which smoothing stops entirely: motion is never smeared. Default 6/255. */
  motionThreshold?: number;
  /** A chroma jump (0..1) this large is a real colour change (a cut, a new object), not flicker. Default 24/255. */
  chromaThreshold?: number;
}

/**
 * Motion-adaptive temporal chroma smoothing: per pixel, the chroma is blended with the previous
 * output's chroma in proportion to how static the pixel is (regionalMotion: film grain does
 * not read as motion), and not
 * at all where it moves or where the colour changes a lot. Luma is left exactly as it was, so
 * detail and motion stay sharp; only the colour is steadied. Frames must be fed in order.
 */
export class ChromaSmoother {
  private prevY: Float32Array | undefined;
  private prevCb: Float32Array | undefined;
  private prevCr: Float32Array | undefined;
  private key = '';
  private readonly strength: number;
  private readonly motion: number;
  private readonly chroma: number;

  constructor(opts: ChromaSmoothingOptions = {}) {
    this.strength = Math.min(0.95, Math.max(0, opts.strength ?? 0.7));
    this.motion = opts.motionThreshold ?? 6 / 255;
    this.chroma = opts.chromaThreshold ?? 24 / 255;
  }

  reset(): void {
    this.prevY = this.prevCb = this.prevCr = undefined;
  }

  apply(frame: Raster): Raster {
    if (frame.channels !== 3) return frame;
    const { width: w, height: h } = frame;
    const n = w * h;
    const key = `${w}x${h}`;
    if (key !== this.key) {
      this.reset();
      this.key = key;
    }
    const max = frame.depth === 16 ? 65535 : 255;
    const { Y, Cb, Cr } = toYCbCr(frame);
    const pY = this.prevY,
      pCb = this.prevCb,
      pCr = this.prevCr;
    this.prevY = Y;
    if (!pY || !pCb || !pCr) {
      this.prevCb = Cb;
      this.prevCr = Cr;
      return frame;
    }
    const motion = regionalMotion(Y, pY, w, h);
    const out = frame.depth === 16 ? new Uint16Array(frame.data.length) : new Uint8Array(frame.data.length);
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      let wgt = this.strength * Math.max(0, 1 - motion[i] / this.motion);
      if (wgt > 0) {
        const jump = Math.abs(Cb[i] - pCb[i]) + Math.abs(Cr[i] - pCr[i]);
        wgt *= Math.max(0, 1 - jump / this.chroma);
      }
      const cb = wgt * pCb[i] + (1 - wgt) * Cb[i];
      const cr = wgt * pCr[i] + (1 - wgt) * Cr[i];
      Cb[i] = cb;
      Cr[i] = cr;
      const y = Y[i];
      const r = y + 2 * (1 - KR) * cr;
      const b = y + 2 * (1 - KB) * cb;
      const g = (y - KR * r - KB * b) / KG;
      out[p] = clampRound(r * max, max);
      out[p + 1] = clampRound(g * max, max);
      out[p + 2] = clampRound(b * max, max);
    }
    this.prevCb = Cb;
    this.prevCr = Cr;
    return { ...frame, data: out };
  }
}

function clampRound(v: number, max: number): number {
  return v <= 0 ? 0 : v >= max ? max : Math.round(v);
}

interface YCbCr {
  Y: Float32Array;
  Cb: Float32Array;
  Cr: Float32Array;
}

/** Full-range BT.601 Y, Cb, Cr in 0..1 (Cb, Cr centred on 0). */
function toYCbCr(frame: Raster): YCbCr {
  const n = frame.width * frame.height;
  const scale = frame.depth === 16 ? 1 / 65535 : 1 / 255;
  const src = frame.data;
  const Y = new Float32Array(n);
  const Cb = new Float32Array(n);
  const Cr = new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const r = src[p] * scale;
    const g = src[p + 1] * scale;
    const b = src[p + 2] * scale;
    const y = KR * r + KG * g + KB * b;
    Y[i] = y;
    Cb[i] = (b - y) / (2 * (1 - KB));
    Cr[i] = (r - y) / (2 * (1 - KR));
  }
  return { Y, Cb, Cr };
}

const RADIUS = 2;

/** Mean over each pixel's 5×5 neighbourhood (separable; edges use the pixels that exist). */
function box5(d: Float32Array, w: number, h: number): Float32Array {
  const rows = new Float32Array(d.length);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      const x0 = Math.max(0, x - RADIUS);
      const x1 = Math.min(w - 1, x + RADIUS);
      for (let k = x0; k <= x1; k++) s += d[row + k];
      rows[row + x] = s / (x1 - x0 + 1);
    }
  }
  const out = new Float32Array(d.length);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - RADIUS);
    const y1 = Math.min(h - 1, y + RADIUS);
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = y0; k <= y1; k++) s += rows[k * w + x];
      out[y * w + x] = s / (y1 - y0 + 1);
    }
  }
  return out;
}

/**
 * How much the picture moved around each pixel (0..1 luma units). Film grain changes every pixel
 * every frame but averages out over a neighbourhood, while motion shifts whole edges: so motion is
 * the larger of |mean ΔY| over 5×5 (grain cancels, edges do not) and a third of mean |ΔY| (so
 * fine texture sliding past, whose signed differences also cancel, still counts as moving).
 */
export function regionalMotion(a: Float32Array, b: Float32Array, w: number, h: number): Float32Array {
  const signed = new Float32Array(a.length);
  const abs = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    signed[i] = a[i] - b[i];
    abs[i] = Math.abs(signed[i]);
  }
  const ms = box5(signed, w, h);
  const ma = box5(abs, w, h);
  for (let i = 0; i < ms.length; i++) ms[i] = Math.max(Math.abs(ms[i]), ma[i] / 3);
  return ms;
}
