import type { Hint } from '../../../shared/hints';
import { KB, KG, KR, U_SCALE, V_SCALE } from '../../image/color';

/**
 * Edge-aware spreading of colour hints, on a reduced grid (at most HINT_GRID px on the long side).
 *
 * Levin, Lischinski and Weiss (2004) spread scribbled colours by asking neighbours of similar
 * luminance to have similar chroma. We solve their quadratic problem in its graph-Laplacian form,
 * with two changes so the model's own colour survives away from the hints:
 *
 *   minimise  Σ_{r~s} w_rs (z_r − z_s)²  +  μ Σ_r z_r²  +  Σ_r c_r (z_r − t_r)²
 *
 * for three fields z: α (how much of the hint colour a pixel takes, 0..1) and X = α·hint chroma
 * (U, V). w_rs = exp(−ΔY²/2σ²) cuts the spreading at luminance edges; the small μ makes it fade
 * with distance (decay length about a quarter of the grid) in open areas, so far from any hint
 * α → 0 and the model's chroma stays; c_r pins the painted pixels. Because the three fields share
 * one matrix, X/α is a weighted mean of the hint colours that reached a pixel: one hint colour
 * comes out exactly that colour (its hue), only its weight α fades.
 *
 * The result at full size is u = m + α (X/α − m) (m the model's chroma): see upsample.ts. What this
 * file returns is the fast-guided-filter (He and Sun 2015) coefficients of α and X against the
 * grid's luminance, so that the full-resolution luminance can re-sharpen the edges the coarse grid
 * blurred: q = A·Y + B, with A, B bilinearly upsampled.
 *
 * The solve is preconditioned conjugate gradients, cascaded coarse to fine (each level starts from
 * the coarser level's answer), in plain JS: the grid has ≤ 100 k pixels and it runs in well under a
 * second (bench/hints.ts measures it).
 */

/** Long side of the solve grid in px. */
export const HINT_GRID = 320;
/** Luminance difference (0..1) that halves a neighbour's pull, about: σ of the edge weight. */
const EDGE_SIGMA = 0.02;
/**
 * CG iterations per level below the coarsest: each level starts from the coarser one's answer, so
 * few are needed (the hint tests measure the bleed past an edge; the bench the time).
 */
const FINE_ITERATIONS = 24;
/** Luminance difference from the stroke's path at which the brush lets go, about (σ). */
const BRUSH_SIGMA = 0.06;
/** Pull of a painted pixel towards its target (large: nearly a hard constraint). */
const PIN = 100;
/** Decay length of the spreading in open areas, as a fraction of the grid's long side. */
const DECAY = 0.25;
/** Guided-filter window radius (grid px) and regularisation (luminance units squared). */
const GF_RADIUS = 1;
const GF_EPS = 1e-4;

interface Level {
  w: number;
  h: number;
  /** Guide luminance 0..1. */
  lum: Float32Array;
  /** Constraint weight per pixel (0 where nothing is painted). */
  pin: Float32Array;
  /** Targets of α, Xu, Xv where pinned. */
  target: [Float32Array, Float32Array, Float32Array];
  mu: number;
  /** Filled by prepare(): edge weights to the right and lower neighbour, and the diagonal. */
  wx?: Float32Array;
  wy?: Float32Array;
  diag?: Float32Array;
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

/**
 * Paints the hints onto the grid: each grid pixel whose centre lies within a stroke's radius of
 * its path (in picture pixels) is pinned; the pixel under each point always is, however thin the
 * brush. Later strokes paint over earlier ones. Anything outside the picture is clipped.
 *
 * The brush is luminance-aware, like a "smart" brush: a pixel is pinned only as far as its
 * luminance is close to the luminance under the stroke's path next to it, so a broad stroke along
 * a dress does not colour the wall its edge brushes over. (A path that itself crosses an edge
 * colours both sides: that is what was painted.)
 */
export function rasterizeHints(
  hints: readonly Hint[],
  width: number,
  height: number,
  lum: Float32Array,
  gw: number,
  gh: number,
): Pick<Level, 'pin' | 'target'> {
  const n = gw * gh;
  const pin = new Float32Array(n);
  const target: Level['target'] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const sx = gw / width;
  const sy = gh / height;
  // A grid pixel is 1/sx picture pixels wide: reach at least the one under the point.
  const minReach = 0.75 * Math.max(1 / sx, 1 / sy);
  for (const h of hints) {
    const strength = h.strength ?? 1;
    const c = h.erase ? { u: 0, v: 0 } : hintChroma(h.color!);
    // An eraser pins α = 0 (the model's colour) with its strength as the pull; a hint pins α to
    // its strength, fully pulled.
    const weight = h.erase ? PIN * strength : PIN;
    const a = h.erase ? 0 : strength;
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
          const dl = lum[p] - lum[cj * gw + ci];
          const gate = Math.exp(-(dl * dl) / (2 * BRUSH_SIGMA * BRUSH_SIGMA));
          if (gate < 0.01) continue;
          pin[p] = weight * gate;
          target[0][p] = a;
          target[1][p] = a * c.u;
          target[2][p] = a * c.v;
        }
      }
    }
  }
  return { pin, target };
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

function prepare(L: Level): void {
  const { w, h, lum, pin, mu } = L;
  const n = w * h;
  const wx = new Float32Array(n);
  const wy = new Float32Array(n);
  const diag = new Float32Array(n);
  const k = -1 / (2 * EDGE_SIGMA * EDGE_SIGMA);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (x + 1 < w) {
        const d = lum[p + 1] - lum[p];
        const e = Math.exp(k * d * d);
        wx[p] = e;
        diag[p] += e;
        diag[p + 1] += e;
      }
      if (y + 1 < h) {
        const d = lum[p + w] - lum[p];
        const e = Math.exp(k * d * d);
        wy[p] = e;
        diag[p] += e;
        diag[p + w] += e;
      }
    }
  }
  for (let p = 0; p < n; p++) diag[p] += mu + pin[p];
  L.wx = wx;
  L.wy = wy;
  L.diag = diag;
}

/** out = A z for the level's matrix. */
function apply(L: Level, z: Float64Array, out: Float64Array): void {
  const { w, h } = L;
  const wx = L.wx!;
  const wy = L.wy!;
  const diag = L.diag!;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const p = row + x;
      let s = diag[p] * z[p];
      if (x + 1 < w) s -= wx[p] * z[p + 1];
      if (x > 0) s -= wx[p - 1] * z[p - 1];
      if (y + 1 < h) s -= wy[p] * z[p + w];
      if (y > 0) s -= wy[p - w] * z[p - w];
      out[p] = s;
    }
  }
}

/** Jacobi-preconditioned CG from the guess in z (updated in place). */
function pcg(L: Level, b: Float64Array, z: Float64Array, maxIter: number, tol: number): number {
  const n = L.w * L.h;
  const diag = L.diag!;
  const r = new Float64Array(n);
  const d = new Float64Array(n);
  const q = new Float64Array(n);
  const s = new Float64Array(n);
  apply(L, z, q);
  let bb = 0;
  for (let i = 0; i < n; i++) {
    r[i] = b[i] - q[i];
    bb += b[i] * b[i];
  }
  if (bb === 0) {
    z.fill(0);
    return 0;
  }
  let rho = 0;
  for (let i = 0; i < n; i++) {
    s[i] = r[i] / diag[i];
    d[i] = s[i];
    rho += r[i] * s[i];
  }
  const stop = tol * tol * bb;
  let it = 0;
  for (; it < maxIter; it++) {
    let rr = 0;
    for (let i = 0; i < n; i++) rr += r[i] * r[i];
    if (rr <= stop) break;
    apply(L, d, q);
    let dq = 0;
    for (let i = 0; i < n; i++) dq += d[i] * q[i];
    const alpha = rho / dq;
    let rho1 = 0;
    for (let i = 0; i < n; i++) {
      z[i] += alpha * d[i];
      r[i] -= alpha * q[i];
      s[i] = r[i] / diag[i];
      rho1 += r[i] * s[i];
    }
    const beta = rho1 / rho;
    rho = rho1;
    for (let i = 0; i < n; i++) d[i] = s[i] + beta * d[i];
  }
  return it;
}

/**
 * The next coarser level: 2×2 means of the luminance. A coarse cell is pinned as strongly as its
 * strongest pinned child, discounted by how far that child's luminance is from the cell's: a cell
 * that straddles an edge mixes both sides, and pinning it would pour the hint across the edge.
 */
function coarsen(L: Level): Level {
  const w = Math.ceil(L.w / 2);
  const h = Math.ceil(L.h / 2);
  const n = w * h;
  const lum = new Float32Array(n);
  const pin = new Float32Array(n);
  const target: Level['target'] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const k = -1 / (2 * EDGE_SIGMA * EDGE_SIGMA);
  const kids: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      kids.length = 0;
      let ls = 0;
      for (let dy = 0; dy < 2; dy++) {
        const yy = 2 * y + dy;
        if (yy >= L.h) continue;
        for (let dx = 0; dx < 2; dx++) {
          const xx = 2 * x + dx;
          if (xx >= L.w) continue;
          const p = yy * L.w + xx;
          ls += L.lum[p];
          kids.push(p);
        }
      }
      const q = y * w + x;
      const l = ls / kids.length;
      lum[q] = l;
      let pmax = 0;
      let psum = 0;
      const ts = [0, 0, 0];
      for (const p of kids) {
        const c = L.pin[p];
        if (c <= 0) continue;
        const d = L.lum[p] - l;
        const g = c * Math.exp(k * d * d);
        pmax = Math.max(pmax, g);
        psum += c;
        for (let t = 0; t < 3; t++) ts[t] += c * L.target[t][p];
      }
      pin[q] = pmax;
      if (psum > 0) for (let t = 0; t < 3; t++) target[t][q] = ts[t] / psum;
    }
  }
  return { w, h, lum, pin, target, mu: L.mu * 4 };
}

/**
 * Enlarges a coarse solution onto the finer level as its starting guess: bilinear, with each coarse
 * sample also weighted by how close its luminance is to the fine pixel's (joint bilateral), so a
 * coarse cell that straddles an edge does not hand its colour to the far side.
 */
function prolong(z: Float64Array, coarse: Level, fine: Level): Float64Array {
  const { w: cw, h: ch, lum: cl } = coarse;
  const { w, h, lum } = fine;
  const out = new Float64Array(w * h);
  const k = -1 / (2 * EDGE_SIGMA * EDGE_SIGMA);
  for (let y = 0; y < h; y++) {
    const sy = Math.max(0, Math.min(ch - 1, (y + 0.5) / 2 - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(ch - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < w; x++) {
      const sx = Math.max(0, Math.min(cw - 1, (x + 0.5) / 2 - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(cw - 1, x0 + 1);
      const fx = sx - x0;
      const l = lum[y * w + x];
      let num = 0;
      let den = 0;
      const tap = (p: number, wb: number) => {
        const d = cl[p] - l;
        const wt = wb * Math.exp(k * d * d) + 1e-12;
        num += wt * z[p];
        den += wt;
      };
      tap(y0 * cw + x0, (1 - fx) * (1 - fy));
      tap(y0 * cw + x1, fx * (1 - fy));
      tap(y1 * cw + x0, (1 - fx) * fy);
      tap(y1 * cw + x1, fx * fy);
      out[y * w + x] = num / den;
    }
  }
  return out;
}

export interface Propagated {
  gw: number;
  gh: number;
  /** α, Xu, Xv on the grid. */
  fields: [Float32Array, Float32Array, Float32Array];
  /** Guided-filter coefficients, planar [Aα, Au, Av, Bα, Bu, Bv], each gw×gh. */
  coefficients: Float32Array;
  /** CG iterations on the finest level (the bench reports them). */
  iterations: number;
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
  const { pin, target } = rasterizeHints(hints, width, height, lum, gw, gh);
  const decay = DECAY * Math.max(gw, gh);
  const levels: Level[] = [{ w: gw, h: gh, lum, pin, target, mu: 1 / (decay * decay) }];
  while (Math.max(levels[levels.length - 1].w, levels[levels.length - 1].h) > 24)
    levels.push(coarsen(levels[levels.length - 1]));
  for (const L of levels) prepare(L);
  const fields: Propagated['fields'] = [
    new Float32Array(gw * gh),
    new Float32Array(gw * gh),
    new Float32Array(gw * gh),
  ];
  // The three fields share one matrix, so with a single hint colour X is exactly α times it: one
  // solve instead of three (erasers only pin α = 0 and X = 0, which keeps that true).
  const colours = new Set(hints.filter((h) => !h.erase).map((h) => h.color!.toLowerCase()));
  const single = colours.size <= 1 ? hintChroma([...colours][0] ?? '#808080') : undefined;
  let iterations = 0;
  for (let k = 0; k < (single ? 1 : 3); k++) {
    let z: Float64Array | undefined;
    for (let li = levels.length - 1; li >= 0; li--) {
      const L = levels[li];
      const n = L.w * L.h;
      const b = new Float64Array(n);
      for (let p = 0; p < n; p++) b[p] = L.pin[p] * L.target[k][p];
      const prev = levels[li + 1];
      z = z && prev ? prolong(z, prev, L) : new Float64Array(n);
      const coarsest = li === levels.length - 1;
      const it = pcg(L, b, z, coarsest ? 400 : FINE_ITERATIONS, 1e-6);
      if (li === 0) iterations = Math.max(iterations, it);
    }
    const f = fields[k];
    for (let p = 0; p < gw * gh; p++) f[p] = z![p];
  }
  if (single) {
    for (let p = 0; p < gw * gh; p++) {
      fields[1][p] = fields[0][p] * single.u;
      fields[2][p] = fields[0][p] * single.v;
    }
  }
  return { gw, gh, fields, coefficients: guidedCoefficients(lum, fields, gw, gh), iterations };
}

/** Mean over a (2r+1)² window, clipped at the borders (separable running sums). */
function boxMean(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      const a = Math.max(0, x - r);
      const b = Math.min(w - 1, x + r);
      for (let i = a; i <= b; i++) s += src[row + i];
      tmp[row + x] = s / (b - a + 1);
    }
  }
  for (let y = 0; y < h; y++) {
    const a = Math.max(0, y - r);
    const b = Math.min(h - 1, y + r);
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = a; j <= b; j++) s += tmp[j * w + x];
      out[y * w + x] = s / (b - a + 1);
    }
  }
  return out;
}

/** He and Sun's fast guided filter, coefficient part: p ≈ A·I + B per window, then averaged. */
function guidedCoefficients(
  lum: Float32Array,
  fields: readonly Float32Array[],
  w: number,
  h: number,
): Float32Array {
  const n = w * h;
  const out = new Float32Array(6 * n);
  const meanI = boxMean(lum, w, h, GF_RADIUS);
  const ii = new Float32Array(n);
  for (let p = 0; p < n; p++) ii[p] = lum[p] * lum[p];
  const meanII = boxMean(ii, w, h, GF_RADIUS);
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k];
    const ip = new Float32Array(n);
    for (let p = 0; p < n; p++) ip[p] = lum[p] * f[p];
    const meanP = boxMean(f, w, h, GF_RADIUS);
    const meanIP = boxMean(ip, w, h, GF_RADIUS);
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    for (let p = 0; p < n; p++) {
      const varI = meanII[p] - meanI[p] * meanI[p];
      const cov = meanIP[p] - meanI[p] * meanP[p];
      a[p] = cov / (varI + GF_EPS);
      b[p] = meanP[p] - a[p] * meanI[p];
    }
    out.set(boxMean(a, w, h, GF_RADIUS), k * n);
    out.set(boxMean(b, w, h, GF_RADIUS), (3 + k) * n);
  }
  return out;
}
