import type { Hint } from '../../../shared/hints';
import { KB, KG, KR, U_SCALE, V_SCALE } from '../../image/color';
import type { HintsMemory } from './kernel';

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
/** Guided-filter regularisation (luminance units squared); its window is 3×3 grid px. */
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

/**
 * Paints the hints onto the grid: each grid pixel whose centre lies within a stroke's radius of
 * its path (in picture pixels) becomes a seed of the stroke's label; the pixel under each point
 * always does, however thin the brush. Anything outside the picture is clipped. Into owner (per
 * grid pixel its label, −1 for none) and start (its starting distance); returns the labels.
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
  owner: Int32Array,
  start: Float32Array,
): Label[] {
  owner.fill(-1);
  start.fill(Infinity);
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
  return labels;
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

/** Buckets of the geodesic queue for a gw×gh grid: FAR in steps of the shortest step. */
export function geodesicBuckets(gw: number, gh: number): number {
  return Math.ceil(FAR * REACH * Math.max(gw, gh)) + 2;
}

/**
 * Spreads the hints over a picture whose luminance at the grid size (gw×gh, 0..1) is in the
 * kernel's memory at M.at.glum, and leaves the guided-upsampling coefficients of the three
 * fields α, Xu, Xv at M.at.grid (planar [Aα, Au, Av, Bα, Bu, Bv], each gw×gh).
 *
 * In the kernel (native/hints.ts), per label: its seeds, then the geodesic distance from them
 * over the 8-neighbour grid (Dijkstra's algorithm with a bucket queue, Dial's, as in Yatziv,
 * Bartesaghi and Sapiro's O(N) fast marching: a bucket is as wide as the shortest step, so a step
 * always lands in a later bucket, taking a bucket's pixels in any order is exact, and each pixel
 * within FAR is settled once, with no heap), then its weights added to the sums; then the fields
 * and He and Sun's fast-guided-filter coefficients (p ≈ A·I + B per 3×3 window, then averaged).
 */
export function propagateHints(
  hints: readonly Hint[],
  width: number,
  height: number,
  M: HintsMemory,
  gw: number,
  gh: number,
): void {
  const n = gw * gh;
  const { k, at } = M;
  const labels = rasterizeHints(
    hints,
    width,
    height,
    M.f32(at.glum, n),
    gw,
    gh,
    M.i32(at.owner, n),
    M.f32(at.start, n),
  );
  // A step costs its length in REACH (unit: a grid pixel) plus stepPrice of the luminance it crosses.
  const unit = 1 / (REACH * Math.max(gw, gh));
  k.padLuma(at.glum, gw, gh, at.plum);
  k.stepCosts(at.plum, gw, gh, unit, STEP_FREE, STEP_SCALE, at.costs);
  // Sums over the labels: all weights (the model's is 1), and hint weight × strength, × its U, V.
  const [total, alpha, xu, xv] = at.sums;
  k.clearSums(n, total, alpha, xu, xv);
  const buckets = geodesicBuckets(gw, gh);
  labels.forEach((L, label) => {
    if (!k.seed(at.owner, at.start, label, gw, gh, at.d)) return;
    // prettier-ignore
    k.geodesic(
      at.d, at.costs, gw, gh, 1 / unit, FAR,
      at.pool, at.head, at.tail, buckets, at.done,
    );
    // An eraser pulls towards the model's colour, its strength scaling its weight.
    k.accumulate(at.d, gw, gh, W_EPS, L.erase ? 1 : 0, L.strength, L.u, L.v, total, alpha, xu, xv);
  });
  k.fields(n, total, alpha, xu, xv, at.fields);
  k.guided(at.glum, at.fields, gw, gh, GF_EPS, at.scratch, at.grid);
}
