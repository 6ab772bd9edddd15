import type { Hint } from '../../../shared/hints';
import { KB, KG, KR, U_SCALE, V_SCALE } from '../../image/color';

/**
 * Edge-aware spreading of colour hints, on a reduced grid (at most HINT_GRID px on the long side).
 *
 * Each hint colour spreads by **geodesic distance** (as in Yatziv and Sapiro 2006, "Fast image and
 * video colorization using chrominance blending"): the cheapest path from the stroke, where a step
 * costs its length (in units of REACH) plus a price for the luminance step it crosses. A step
 * within a region of similar luminance (or along a gentle ramp such as a sky) costs little; one
 * across an edge costs as much as crossing the picture. Each label (a hint colour at a strength,
 * or an eraser) weighs in at a pixel by its distance d there, and the model's own colour is one
 * more label, at distance 1 everywhere:
 *
 *   u = (Σ_k w_k c_k + w_model m) / (Σ_k w_k + w_model),   w_k = 1 / (d_k⁶ + ε),   w_model = 1
 *
 * so a lone hint is at full strength over its region up to the region's edges (in an open area
 * α > 0.95 out to 0.9 of the picture's long side, 0.5 at 1.5), the model's colour stays beyond an
 * edge, and several hints share a region by distance. Why not Levin, Lischinski
 * and Weiss's optimisation (this file's earlier method): to let the model's colour survive it
 * needs a leak term, and in 2-D the screened diffusion from a stroke falls off steeply near the
 * stroke (a point source's K₀ profile), so in open areas the hint faded within a few dozen pixels
 * of the stroke; a distance has the profile we choose, and costs one pass over the grid per
 * label instead of a sparse solve.
 *
 * The result at full size is u = m + α (X/α − m), with α = Σ_hints w s / W (how much hint colour a
 * pixel takes) and X = Σ_hints w s c / W; X/α is a weighted mean of the hint colours that reached
 * the pixel (one hint colour comes out exactly that colour, its hue). What this file returns is
 * also the fast-guided-filter (He and Sun 2015) coefficients of α and X against the grid's
 * luminance, so that a finer luminance re-sharpens the edges the coarse grid blurred: q = A·Y + B,
 * with A, B bilinearly upsampled (apply.ts).
 */

/** Long side of the solve grid in px. */
export const HINT_GRID = 320;
/**
 * Travel, in long sides of the picture, at which a lone hint in an open area is down to half: far
 * enough that a hint fills any region of the picture that edges close, so that it is edges, not
 * distance, that decide where a colour ends.
 */
const REACH = 1.5;
/**
 * Luminance step (0..1) between neighbouring grid pixels that is free: grain and JPEG noise, which
 * a path crosses hundreds of times in a large flat region, must not add up to an edge.
 */
const STEP_FREE = 0.01;
/**
 * Luminance step beyond STEP_FREE that costs as much as REACH of travel. The price grows
 * with the square of the step, so a sharp edge costs far more than the same change spread over a
 * gentle ramp: a step of 0.045 (11 levels) halves a lone hint just past it, 0.05 leaves 17 %, 0.06
 * 1.4 %, 0.08 nothing (beyond FAR).
 */
const STEP_SCALE = 0.035;
/**
 * The distance weights are 1 / (d⁶ + ε): the high power keeps a hint flat out to most of its reach;
 * ε keeps the weight of a pixel at distance 0 finite (it then outweighs everything else).
 */
const W_EPS = 1e-12;
/**
 * Distance (in REACH) beyond which a label is not followed: there its weight is under 0.4 % of the
 * model's, a fraction of a level.
 */
const FAR = 2.5;
/** Guided-filter regularisation (luminance units squared); its window is 3×3 grid px (boxMean3). */
const GF_EPS = 1e-4;

/** One colour that spreads: a hint colour at a strength, or an eraser (the model's colour). */
interface Label {
  erase: boolean;
  strength: number;
  u: number;
  v: number;
}

/** The chroma (BT.601 analog U, V) of an sRGB '#rrggbb'. */
export function hintChroma(color: string): { u: number; v: number } {
  const r = parseInt(color.slice(1, 3), 16) / 255;
  const g = parseInt(color.slice(3, 5), 16) / 255;
  const b = parseInt(color.slice(5, 7), 16) / 255;
  const y = KR * r + KG * g + KB * b;
  return { u: U_SCALE * (b - y), v: V_SCALE * (r - y) };
}

/**
 * The solve grid for a width×height picture, the aspect kept: the long side at most HINT_GRID, and
 * for small pictures (the app's live previews) half theirs, not under 160 px: the guided upsampling
 * restores the edges, and the solve, which does not shrink with the picture otherwise, costs a
 * quarter.
 */
export function hintGridSize(width: number, height: number, grid = HINT_GRID): { gw: number; gh: number } {
  const long = Math.max(width, height);
  const want = long <= 160 ? long : Math.min(grid, Math.max(160, Math.round(long / 2)));
  const k = Math.min(1, want / long);
  return { gw: Math.max(1, Math.round(width * k)), gh: Math.max(1, Math.round(height * k)) };
}

/** Price of a luminance step between neighbours (in long sides of travel); see STEP_SCALE. */
function stepPrice(dl: number): number {
  const e = Math.max(0, Math.abs(dl) - STEP_FREE) / STEP_SCALE;
  return e * e;
}

/** What the strokes paint on the grid: per pixel its label (−1: none) and its starting distance. */
export interface Seeds {
  labels: Label[];
  owner: Int32Array;
  start: Float32Array;
}

/**
 * Paints the hints onto the grid: each grid pixel whose centre lies within a stroke's radius of
 * its path (in picture pixels) becomes a seed of the stroke's label; the pixel under each point
 * always does, however thin the brush. Anything outside the picture is clipped.
 *
 * The brush is luminance-aware, like a "smart" brush: a seed starts at the price of the luminance
 * step between it and the path next to it, so a broad stroke along a dress does not colour the
 * wall its edge brushes over. (A path that itself crosses an edge colours both sides: that is what
 * was painted.) Where strokes overlap, the one whose seed starts lower wins, a later one on a tie:
 * painting over a stroke replaces it, brushing past it does not.
 */
export function rasterizeHints(
  hints: readonly Hint[],
  width: number,
  height: number,
  lum: Float32Array,
  gw: number,
  gh: number,
): Seeds {
  const n = gw * gh;
  const owner = new Int32Array(n).fill(-1);
  const start = new Float32Array(n).fill(Infinity);
  const labels: Label[] = [];
  const byKey = new Map<string, number>();
  const sx = gw / width;
  const sy = gh / height;
  // A grid pixel is 1/sx picture pixels wide: reach at least the one under the point.
  const minReach = 0.75 * Math.max(1 / sx, 1 / sy);
  for (const h of hints) {
    const strength = h.strength ?? 1;
    const key = h.erase ? `erase ${strength}` : `${h.color!.toLowerCase()} ${strength}`;
    let label = byKey.get(key);
    if (label === undefined) {
      const c = h.erase ? { u: 0, v: 0 } : hintChroma(h.color!);
      label = labels.push({ erase: !!h.erase, strength, u: c.u, v: c.v }) - 1;
      byKey.set(key, label);
    }
    const reach = Math.max(h.radius, minReach);
    // Points much closer together than the brush change nothing visible: thinning them keeps a
    // thousand-point stroke of a wide brush from stamping the same pixels a thousand times.
    const pts = thin(h.points, 0.25 * reach);
    const segments = Math.max(1, pts.length - 1);
    for (let k = 0; k < segments; k++) {
      const [x0, y0] = pts[k];
      const [x1, y1] = pts[Math.min(k + 1, pts.length - 1)];
      const jx0 = Math.max(0, Math.floor((Math.min(x0, x1) - reach) * sx));
      const jx1 = Math.min(gw - 1, Math.floor((Math.max(x0, x1) + reach) * sx));
      const jy0 = Math.max(0, Math.floor((Math.min(y0, y1) - reach) * sy));
      const jy1 = Math.min(gh - 1, Math.floor((Math.max(y0, y1) + reach) * sy));
      const dx = x1 - x0;
      const dy = y1 - y0;
      const len2 = dx * dx + dy * dy;
      for (let j = jy0; j <= jy1; j++) {
        const py = (j + 0.5) / sy;
        for (let i = jx0; i <= jx1; i++) {
          const px = (i + 0.5) / sx;
          const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2)) : 0;
          const ex = px - (x0 + t * dx);
          const ey = py - (y0 + t * dy);
          if (ex * ex + ey * ey > reach * reach) continue;
          const p = j * gw + i;
          // The luminance under the path at the nearest point (clipped into the picture).
          const ci = Math.max(0, Math.min(gw - 1, Math.floor((x0 + t * dx) * sx)));
          const cj = Math.max(0, Math.min(gh - 1, Math.floor((y0 + t * dy) * sy)));
          const d0 = stepPrice(lum[p] - lum[cj * gw + ci]);
          if (d0 > start[p]) continue;
          start[p] = d0;
          owner[p] = label;
        }
      }
    }
  }
  return { labels, owner, start };
}

function thin(points: readonly (readonly [number, number])[], step: number): (readonly [number, number])[] {
  const out = [points[0]];
  for (let k = 1; k < points.length; k++) {
    const [x, y] = out[out.length - 1];
    const [px, py] = points[k];
    if ((px - x) ** 2 + (py - y) ** 2 >= step * step || k === points.length - 1) out.push(points[k]);
  }
  return out;
}

/**
 * The price of a step from each pixel to its right, lower, lower-right and lower-left neighbour
 * (the other four directions are these read backwards): its length in REACH plus the price of the
 * luminance it crosses. Infinity where the neighbour is outside.
 */
function stepCosts(lum: Float32Array, w: number, h: number) {
  const n = w * h;
  const unit = 1 / (REACH * Math.max(w, h));
  const diag = Math.SQRT2 * unit;
  const right = f64('right', n).fill(Infinity);
  const down = f64('down', n).fill(Infinity);
  const downRight = f64('downRight', n).fill(Infinity);
  const downLeft = f64('downLeft', n).fill(Infinity);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const l = lum[p];
      if (x + 1 < w) right[p] = unit + stepPrice(lum[p + 1] - l);
      if (y + 1 < h) {
        down[p] = unit + stepPrice(lum[p + w] - l);
        if (x + 1 < w) downRight[p] = diag + stepPrice(lum[p + w + 1] - l);
        if (x > 0) downLeft[p] = diag + stepPrice(lum[p + w - 1] - l);
      }
    }
  }
  return { right, down, downRight, downLeft, unit };
}

/**
 * Scratch room of geodesic(), reused across labels: the bucket queue as linked lists of entries
 * (pixel, next), one list head per bucket, and which pixels are settled.
 */
class Queue {
  pixel: Int32Array;
  next: Int32Array;
  head: Int32Array;
  done: Uint8Array;
  constructor(n: number, buckets: number) {
    this.pixel = new Int32Array(2 * n);
    this.next = new Int32Array(2 * n);
    this.head = new Int32Array(buckets);
    this.done = new Uint8Array(n);
  }
  grow(): { pixel: Int32Array; next: Int32Array } {
    const pixel = new Int32Array(2 * this.pixel.length);
    const next = new Int32Array(2 * this.pixel.length);
    pixel.set(this.pixel);
    next.set(this.next);
    this.pixel = pixel;
    this.next = next;
    return this;
  }
}

/**
 * Geodesic distance from the seeds over the 8-neighbour grid: d holds the seeds' starting
 * distances and Infinity elsewhere, and is updated in place, up to FAR (beyond, it stays Infinity).
 * Dijkstra's algorithm with a bucket queue (Dial's; as in Yatziv, Bartesaghi and Sapiro's O(N)
 * fast marching): a bucket is as wide as the shortest step, so a step always lands in a later
 * bucket, taking a bucket's pixels in any order is exact, and each pixel within FAR is settled
 * once, with no heap.
 */
function geodesic(d: Float64Array, c: ReturnType<typeof stepCosts>, w: number, h: number, Q: Queue): void {
  const { right, down, downRight, downLeft, unit } = c;
  const inv = 1 / unit;
  const { head, done } = Q;
  let { pixel, next } = Q;
  head.fill(-1);
  done.fill(0);
  let used = 0;
  let nd = 0;
  let nb = 0;
  for (let p = 0; p < d.length; p++) {
    if (!(d[p] < FAR)) continue;
    if (used === pixel.length) ({ pixel, next } = Q.grow());
    nb = Math.floor(d[p] * inv);
    pixel[used] = p;
    next[used] = head[nb];
    head[nb] = used++;
  }
  // The eight relaxations are written out: a helper or a table of directions costs a third more.
  for (let b = 0; b < head.length; b++) {
    while (head[b] >= 0) {
      const e = head[b];
      head[b] = next[e];
      const p = pixel[e];
      if (done[p]) continue;
      done[p] = 1;
      const k = d[p];
      const x = p % w;
      const y = (p - x) / w;
      if (x + 1 < w) {
        nd = k + right[p];
        if (nd < d[p + 1] && nd < FAR) {
          d[p + 1] = nd;
          if (used === pixel.length) ({ pixel, next } = Q.grow());
          nb = Math.floor(nd * inv);
          pixel[used] = p + 1;
          next[used] = head[nb];
          head[nb] = used++;
        }
      }
      if (x > 0) {
        nd = k + right[p - 1];
        if (nd < d[p - 1] && nd < FAR) {
          d[p - 1] = nd;
          if (used === pixel.length) ({ pixel, next } = Q.grow());
          nb = Math.floor(nd * inv);
          pixel[used] = p - 1;
          next[used] = head[nb];
          head[nb] = used++;
        }
      }
      if (y + 1 < h) {
        nd = k + down[p];
        if (nd < d[p + w] && nd < FAR) {
          d[p + w] = nd;
          if (used === pixel.length) ({ pixel, next } = Q.grow());
          nb = Math.floor(nd * inv);
          pixel[used] = p + w;
          next[used] = head[nb];
          head[nb] = used++;
        }
        if (x + 1 < w) {
          nd = k + downRight[p];
          if (nd < d[p + w + 1] && nd < FAR) {
            d[p + w + 1] = nd;
            if (used === pixel.length) ({ pixel, next } = Q.grow());
            nb = Math.floor(nd * inv);
            pixel[used] = p + w + 1;
            next[used] = head[nb];
            head[nb] = used++;
          }
        }
        if (x > 0) {
          nd = k + downLeft[p];
          if (nd < d[p + w - 1] && nd < FAR) {
            d[p + w - 1] = nd;
            if (used === pixel.length) ({ pixel, next } = Q.grow());
            nb = Math.floor(nd * inv);
            pixel[used] = p + w - 1;
            next[used] = head[nb];
            head[nb] = used++;
          }
        }
      }
      if (y > 0) {
        nd = k + down[p - w];
        if (nd < d[p - w] && nd < FAR) {
          d[p - w] = nd;
          if (used === pixel.length) ({ pixel, next } = Q.grow());
          nb = Math.floor(nd * inv);
          pixel[used] = p - w;
          next[used] = head[nb];
          head[nb] = used++;
        }
        if (x > 0) {
          nd = k + downRight[p - w - 1];
          if (nd < d[p - w - 1] && nd < FAR) {
            d[p - w - 1] = nd;
            if (used === pixel.length) ({ pixel, next } = Q.grow());
            nb = Math.floor(nd * inv);
            pixel[used] = p - w - 1;
            next[used] = head[nb];
            head[nb] = used++;
          }
        }
        if (x + 1 < w) {
          nd = k + downLeft[p - w + 1];
          if (nd < d[p - w + 1] && nd < FAR) {
            d[p - w + 1] = nd;
            if (used === pixel.length) ({ pixel, next } = Q.grow());
            nb = Math.floor(nd * inv);
            pixel[used] = p - w + 1;
            next[used] = head[nb];
            head[nb] = used++;
          }
        }
      }
    }
  }
}

/**
 * Scratch arrays of one grid size, kept between calls: a re-render then allocates (and the
 * garbage collector frees) none of the ~7 MB of working planes at 320 px. Safe because
 * propagateHints is synchronous (one picture at a time per thread) and none of these arrays is
 * returned. A different grid size replaces them.
 */
const scratch = new Map<string, Float64Array | Float32Array | Queue>();
function f64(key: string, n: number): Float64Array {
  const a = scratch.get(key);
  if (a instanceof Float64Array && a.length === n) return a;
  const b = new Float64Array(n);
  scratch.set(key, b);
  return b;
}
function f32(key: string, n: number): Float32Array {
  const a = scratch.get(key);
  if (a instanceof Float32Array && a.length === n) return a;
  const b = new Float32Array(n);
  scratch.set(key, b);
  return b;
}
function queueFor(n: number, buckets: number): Queue {
  const q = scratch.get('queue');
  if (q instanceof Queue && q.done.length === n && q.head.length === buckets) return q;
  const b = new Queue(n, buckets);
  scratch.set('queue', b);
  return b;
}

export interface Propagated {
  gw: number;
  gh: number;
  /** α, Xu, Xv on the grid. */
  fields: [Float32Array, Float32Array, Float32Array];
  /** Guided-filter coefficients, planar [Aα, Au, Av, Bα, Bu, Bv], each gw×gh. */
  coefficients: Float32Array;
}

/**
 * Spreads the hints over a picture whose luminance at the grid size is `lum` (gw×gh, 0..1).
 * Returns the three fields and their guided-upsampling coefficients.
 */
export function propagateHints(
  hints: readonly Hint[],
  width: number,
  height: number,
  lum: Float32Array,
  gw: number,
  gh: number,
): Propagated {
  const n = gw * gh;
  const { labels, owner, start } = rasterizeHints(hints, width, height, lum, gw, gh);
  const costs = stepCosts(lum, gw, gh);
  // Sums over the labels: all weights (the model's is 1), and hint weight × strength, × its U, V.
  const total = f64('total', n).fill(1);
  const alpha = f64('alpha', n).fill(0);
  const xu = f64('xu', n).fill(0);
  const xv = f64('xv', n).fill(0);
  const d = f64('d', n);
  const queue = queueFor(n, Math.ceil(FAR * REACH * Math.max(gw, gh)) + 2);
  labels.forEach((L, k) => {
    let any = false;
    for (let p = 0; p < n; p++) {
      const mine = owner[p] === k;
      d[p] = mine ? start[p] : Infinity;
      any ||= mine;
    }
    if (!any) return;
    geodesic(d, costs, gw, gh, queue);
    for (let p = 0; p < n; p++) {
      if (d[p] === Infinity) continue;
      const d2 = d[p] * d[p];
      const wt = 1 / (d2 * d2 * d2 + W_EPS);
      if (L.erase) {
        // An eraser pulls towards the model's colour, its strength scaling its weight.
        total[p] += L.strength * wt;
        continue;
      }
      total[p] += wt;
      alpha[p] += L.strength * wt;
      xu[p] += L.strength * wt * L.u;
      xv[p] += L.strength * wt * L.v;
    }
  });
  const fields: Propagated['fields'] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let p = 0; p < n; p++) {
    fields[0][p] = alpha[p] / total[p];
    fields[1][p] = xu[p] / total[p];
    fields[2][p] = xv[p] / total[p];
  }
  return { gw, gh, fields, coefficients: guidedCoefficients(lum, fields, gw, gh) };
}

/**
 * Mean over each pixel's 3×3 window, clipped at the borders, into out; tmp is
 * scratch. Separable: rows, then columns.
 */
function boxMean3(src: ArrayLike<number>, w: number, h: number, tmp: Float32Array, out: Float32Array): void {
  for (let y = 0; y < h; y++) {
    const r = y * w;
    if (w === 1) {
      tmp[r] = src[r];
      continue;
    }
    tmp[r] = (src[r] + src[r + 1]) / 2;
    for (let x = 1; x < w - 1; x++) tmp[r + x] = (src[r + x - 1] + src[r + x] + src[r + x + 1]) / 3;
    tmp[r + w - 1] = (src[r + w - 2] + src[r + w - 1]) / 2;
  }
  for (let y = 0; y < h; y++) {
    const a = y > 0 ? (y - 1) * w : y * w;
    const b = y + 1 < h ? (y + 1) * w : y * w;
    const k = 1 / (1 + (y > 0 ? 1 : 0) + (y + 1 < h ? 1 : 0));
    const m = y * w;
    for (let x = 0; x < w; x++) {
      let s = tmp[m + x];
      if (a !== m) s += tmp[a + x];
      if (b !== m) s += tmp[b + x];
      out[m + x] = s * k;
    }
  }
}

/** He and Sun's fast guided filter, coefficient part: p ≈ A·I + B per 3×3 window, then averaged. */
function guidedCoefficients(
  lum: Float32Array,
  fields: readonly Float32Array[],
  w: number,
  h: number,
): Float32Array {
  const n = w * h;
  const out = new Float32Array(6 * n);
  // Scratch, each fully written before it is read.
  const tmp = f32('tmp', n);
  const meanI = f32('meanI', n);
  const varI = f32('varI', n);
  const work = f32('work', n);
  const meanP = f32('meanP', n);
  const a = f32('a', n);
  const b = f32('b', n);
  boxMean3(lum, w, h, tmp, meanI);
  for (let p = 0; p < n; p++) work[p] = lum[p] * lum[p];
  boxMean3(work, w, h, tmp, varI);
  for (let p = 0; p < n; p++) varI[p] -= meanI[p] * meanI[p];
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k];
    boxMean3(f, w, h, tmp, meanP);
    for (let p = 0; p < n; p++) work[p] = lum[p] * f[p];
    boxMean3(work, w, h, tmp, a);
    for (let p = 0; p < n; p++) {
      const A = (a[p] - meanI[p] * meanP[p]) / (varI[p] + GF_EPS);
      a[p] = A;
      b[p] = meanP[p] - A * meanI[p];
    }
    boxMean3(a, w, h, tmp, out.subarray(k * n, (k + 1) * n));
    boxMean3(b, w, h, tmp, out.subarray((3 + k) * n, (4 + k) * n));
  }
  return out;
}
