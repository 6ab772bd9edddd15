// AssemblyScript, compiled to WebAssembly (SIMD) by `npm run wasm:build` into
// src/engine/ops/hints/hints-wasm.ts. The per-pixel work of colour hints: the grid solve of
// src/engine/ops/hints/propagate.ts (geodesic distances, weights, guided-filter coefficients) and
// the detail-size work of apply.ts (luminance, box mean onto the grid, and the blend: the grid's
// coefficients and the model's chroma enlarged bilinearly give the hinted chroma of each pixel,
// four pixels a step in 128-bit lanes). The caller lays out every buffer in this module's memory
// (from heapBase()).

import { FILL_A, FILL_B, pairA, pairAdvance, pairB, pairReset, ROW_PAIR_BYTES } from './row-pair';

/** First free byte after the module's own data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Floats a plane of one widened row (a row of the detail width dw, rounded up for whole lanes). */
// @ts-ignore: decorator
@inline
function slotStride(dw: i32): i32 {
  return (dw + 7) & ~3;
}

const GRID_ROWS: usize = memory.data(ROW_PAIR_BYTES);
const MODEL_ROWS: usize = memory.data(ROW_PAIR_BYTES);

/** Floats of the scratch blend() needs for a detail width dw: four widened rows (6 + 6 + 2 + 2 planes). */
export function blendScratchFloats(dw: i32): i32 {
  return 16 * slotStride(dw);
}

/**
 * Row r of each of `planes` planes (w floats a row, `plane` floats apart) at src, interpolated
 * along x to `to` samples with the taps i0/i1/f (color.ts bilinearAxis) into dst, one plane every
 * `stride` floats: the horizontal half of the bilinear enlargements blend() finishes.
 */
function widenRow(
  src: usize, planes: i32, plane: i32, r: i32, w: i32,
  i0: usize, i1: usize, f: usize, to: i32, dst: usize, stride: i32,
): void {
  for (let k = 0; k < planes; k++) {
    const row = src + ((<usize>k * <usize>plane + <usize>r * <usize>w) << 2);
    const out = dst + ((<usize>k * <usize>stride) << 2);
    for (let x = 0; x < to; x++) {
      const o = (<usize>x) << 2;
      const a = load<f32>(row + ((<usize>load<i32>(i0 + o)) << 2));
      const b = load<f32>(row + ((<usize>load<i32>(i1 + o)) << 2));
      store<f32>(out + o, a + (b - a) * load<f32>(f + o));
    }
  }
}

/** n floats at p times k (the model's chroma by the saturation), in place. */
export function scale(p: usize, n: i32, k: f64): void {
  for (let i = 0; i < n; i++) {
    const o = p + ((<usize>i) << 2);
    store<f32>(o, <f32>(<f64>load<f32>(o) * k));
  }
}

/**
 * The hinted chroma u, v of the dw×dh detail picture (dw floats a row). lum: the detail luminance
 * 0..1; grid: the guided-filter coefficients, 6 planes (A of α, Xu, Xv, then B of each) of gw×gh;
 * chroma: the model's U then V planes of cw×ch (saturation applied); gx*, mx*: the column taps
 * (color.ts bilinearAxis) from the grid and from the model to the detail width, gy*, my*: the row
 * taps; scratch: blendScratchFloats(dw). Both are enlarged bilinearly: each grid and model row
 * is widened once, into one of two rows kept (rows are visited in order), and the two rows a
 * detail row lies between are interpolated. Per pixel: q = A·Y + B, α = clip(qα, 0, 1), and
 * u = m + (Xu · α / max(qα, 10⁻³)) − α·m. Reads and writes up to 3 floats past a row's end (rows
 * are done in order, so what spills into the next row is overwritten): the caller leaves room
 * past the last row.
 */
export function blend(
  dw: i32, dh: i32, lum: usize,
  grid: usize, gw: i32, gh: i32, chroma: usize, cw: i32, ch: i32,
  gxI0: usize, gxI1: usize, gxF: usize, mxI0: usize, mxI1: usize, mxF: usize,
  gyI0: usize, gyI1: usize, gyF: usize, myI0: usize, myI1: usize, myF: usize,
  scratch: usize, outU: usize, outV: usize,
): void {
  const S = slotStride(dw);
  const cp = (<usize>S) << 2;
  // The grid's and the model's two widened rows (row-pair.ts).
  pairReset(GRID_ROWS, scratch, scratch + 6 * cp);
  pairReset(MODEL_ROWS, scratch + 12 * cp, scratch + 14 * cp);
  const row = (<usize>dw) << 2;
  const vZero = f32x4.splat(0);
  const vOne = f32x4.splat(1);
  const vMin = f32x4.splat(1e-3);
  for (let y = 0; y < dh; y++) {
    const yo = (<usize>y) << 2;
    const g0 = load<i32>(gyI0 + yo);
    const g1 = load<i32>(gyI1 + yo);
    const gFill = pairAdvance(GRID_ROWS, g0, g1);
    const ga = pairA(GRID_ROWS);
    const gb = pairB(GRID_ROWS);
    if (gFill & FILL_A) widenRow(grid, 6, gw * gh, g0, gw, gxI0, gxI1, gxF, dw, ga, S);
    if (gFill & FILL_B) widenRow(grid, 6, gw * gh, g1, gw, gxI0, gxI1, gxF, dw, gb, S);
    const m0 = load<i32>(myI0 + yo);
    const m1 = load<i32>(myI1 + yo);
    const mFill = pairAdvance(MODEL_ROWS, m0, m1);
    const ma = pairA(MODEL_ROWS);
    const mb = pairB(MODEL_ROWS);
    if (mFill & FILL_A) widenRow(chroma, 2, cw * ch, m0, cw, mxI0, mxI1, mxF, dw, ma, S);
    if (mFill & FILL_B) widenRow(chroma, 2, cw * ch, m1, cw, mxI0, mxI1, mxF, dw, mb, S);
    const gf = f32x4.splat(load<f32>(gyF + yo));
    const mf = f32x4.splat(load<f32>(myF + yo));
    const lr = lum + <usize>y * row;
    const ur = outU + <usize>y * row;
    const vr = outV + <usize>y * row;
    for (let x = 0; x < dw; x += 4) {
      const o = (<usize>x) << 2;
      const Y = v128.load(lr + o);
      const la = lerp(ga + o, gb + o, gf);
      const ua = lerp(ga + cp + o, gb + cp + o, gf);
      const va = lerp(ga + 2 * cp + o, gb + 2 * cp + o, gf);
      const lb = lerp(ga + 3 * cp + o, gb + 3 * cp + o, gf);
      const ub = lerp(ga + 4 * cp + o, gb + 4 * cp + o, gf);
      const vb = lerp(ga + 5 * cp + o, gb + 5 * cp + o, gf);
      const qa = f32x4.add(f32x4.mul(la, Y), lb);
      const alpha = f32x4.min(vOne, f32x4.max(vZero, qa));
      const k = f32x4.div(alpha, f32x4.max(qa, vMin));
      const mu = lerp(ma + o, mb + o, mf);
      const mv = lerp(ma + cp + o, mb + cp + o, mf);
      const xu = f32x4.add(f32x4.mul(ua, Y), ub);
      const xv = f32x4.add(f32x4.mul(va, Y), vb);
      v128.store(ur + o, f32x4.sub(f32x4.add(mu, f32x4.mul(xu, k)), f32x4.mul(alpha, mu)));
      v128.store(vr + o, f32x4.sub(f32x4.add(mv, f32x4.mul(xv, k)), f32x4.mul(alpha, mv)));
    }
  }
}

// a + (b − a)·f of four floats at a and b (small: -O3 inlines it).
function lerp(a: usize, b: usize, f: v128): v128 {
  const va = v128.load(a);
  return f32x4.add(va, f32x4.mul(f32x4.sub(v128.load(b), va), f));
}

/**
 * The row pass of the box mean from the detail luminance onto the solve grid (apply.ts areaMean):
 * each of h rows of w floats at src, reduced to `to` cells, cell j the sum of `span` pixels from
 * first[j] with weights weight[j·span …] (those past the row's end skipped), into out (h × to).
 */
export function areaRows(
  src: usize,
  w: i32,
  h: i32,
  first: usize,
  weight: usize,
  span: i32,
  to: i32,
  out: usize,
): void {
  for (let y = 0; y < h; y++) {
    const row = src + ((<usize>y * <usize>w) << 2);
    const dst = out + ((<usize>y * <usize>to) << 2);
    for (let j = 0; j < to; j++) {
      const f = load<i32>(first + ((<usize>j) << 2));
      const wt = weight + ((<usize>j * <usize>span) << 2);
      const end = min(span, w - f);
      let s: f32 = 0;
      for (let t = 0; t < end; t++)
        s += load<f32>(row + ((<usize>(f + t)) << 2)) * load<f32>(wt + ((<usize>t) << 2));
      store<f32>(dst + ((<usize>j) << 2), s);
    }
  }
}

// --- The detail luminance and the solve grid (apply.ts, propagate.ts) -----------------------------
// Double-precision arithmetic on single-precision planes wherever the JavaScript this replaced
// computed in doubles, so the results are the same bit for bit.

/**
 * Luminance 0..1 of n pixels at src into out: fmt 0 grey 8-bit, 1 grey 16-bit, 2 RGB 8-bit,
 * 3 RGB 16-bit (BT.601 weights kr, kg, kb); inv = 1 / the largest sample value.
 */
export function luma(src: usize, n: i32, fmt: i32, inv: f64, kr: f64, kg: f64, kb: f64, out: usize): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i;
    let y: f64;
    if (fmt == 0) y = <f64>load<u8>(src + o) * inv;
    else if (fmt == 1) y = <f64>load<u16>(src + (o << 1)) * inv;
    else if (fmt == 2) {
      const p = src + o * 3;
      y = (kr * <f64>load<u8>(p) + kg * <f64>load<u8>(p, 1) + kb * <f64>load<u8>(p, 2)) * inv;
    } else {
      const p = src + o * 6;
      y = (kr * <f64>load<u16>(p) + kg * <f64>load<u16>(p, 2) + kb * <f64>load<u16>(p, 4)) * inv;
    }
    store<f32>(out + (o << 2), <f32>y);
  }
}

/**
 * The column pass of the box mean onto the grid (after areaRows): rows (h rows × gw, from
 * areaRows) reduced to gh rows, row j the sum of `span` rows from first[j] with weights
 * weight[j·span …] (those past the last row and zero weights skipped), into out (gh × gw).
 */
export function areaCols(rows: usize, gw: i32, h: i32, first: usize, weight: usize, span: i32, gh: i32, out: usize): void {
  memory.fill(out, 0, (<usize>gw * <usize>gh) << 2);
  for (let j = 0; j < gh; j++) {
    const f = load<i32>(first + ((<usize>j) << 2));
    const dst = out + ((<usize>j * <usize>gw) << 2);
    for (let t = 0; t < span && f + t < h; t++) {
      const wt = <f64>load<f32>(weight + ((<usize>(j * span + t)) << 2));
      if (wt == 0) continue;
      const src = rows + ((<usize>(f + t) * <usize>gw) << 2);
      for (let x = 0; x < gw; x++) {
        const o = (<usize>x) << 2;
        store<f32>(dst + o, <f32>(<f64>load<f32>(dst + o) + <f64>load<f32>(src + o) * wt));
      }
    }
  }
}

/**
 * The grid's luminance (w×h singles at lum) into the interior of a plane with a border of one
 * pixel (w + 2 wide), as geodesic() reads it; the border is left as it is (never read for a
 * step: its distances are −Infinity).
 */
export function padLuma(lum: usize, w: i32, h: i32, out: usize): void {
  const W2 = w + 2;
  for (let y = 0; y < h; y++)
    memory.copy(out + ((<usize>((y + 1) * W2 + 1)) << 2), lum + ((<usize>(y * w)) << 2), (<usize>w) << 2);
}

/**
 * The price of a step from each inner pixel of the bordered grid luminance lum (padLuma) to its
 * right, lower, lower-right and lower-left neighbour, as four doubles a pixel (in that order) in
 * the bordered plane costs: its length (unit, √2·unit) plus stepPrice (free, scale) of the
 * luminance it crosses. (A step into the border gets a meaningless price: geodesic() never takes
 * it.) Interleaved, so that the steps of a pixel and of its neighbours share cache lines.
 */
export function stepCosts(lum: usize, w: i32, h: i32, unit: f64, free: f64, scale: f64, costs: usize): void {
  const W2 = w + 2;
  const diag = Math.SQRT2 * unit;
  for (let y = 1; y <= h; y++)
    for (let x = 1; x <= w; x++) {
      const p = y * W2 + x;
      const o = costs + ((<usize>p) << 5);
      const l = <f64>load<f32>(lum + ((<usize>p) << 2));
      store<f64>(o, unit + stepPrice(<f64>load<f32>(lum + ((<usize>(p + 1)) << 2)) - l, free, scale));
      store<f64>(o, unit + stepPrice(<f64>load<f32>(lum + ((<usize>(p + W2)) << 2)) - l, free, scale), 8);
      store<f64>(o, diag + stepPrice(<f64>load<f32>(lum + ((<usize>(p + W2 + 1)) << 2)) - l, free, scale), 16);
      store<f64>(o, diag + stepPrice(<f64>load<f32>(lum + ((<usize>(p + W2 - 1)) << 2)) - l, free, scale), 24);
    }
}

// Price of a luminance step dl between neighbours (propagate.ts stepPrice).
// @ts-ignore: decorator
@inline
function stepPrice(dl: f64, free: f64, scale: f64): f64 {
  const e = max<f64>(0, abs<f64>(dl) - free) / scale;
  return e * e;
}

/**
 * The starting distances of one label in the bordered plane d ((w + 2) × (h + 2) doubles):
 * start[p] (single) where owner[p] == label, Infinity elsewhere inside, −Infinity on the border
 * (so that no step ever enters it). Returns whether the label has any seed.
 */
export function seed(owner: usize, start: usize, label: i32, w: i32, h: i32, d: usize): bool {
  const W2 = w + 2;
  let any = false;
  for (let x = 0; x < W2; x++) {
    store<f64>(d + ((<usize>x) << 3), -Infinity);
    store<f64>(d + ((<usize>((h + 1) * W2 + x)) << 3), -Infinity);
  }
  for (let y = 0; y < h; y++) {
    const row = d + ((<usize>((y + 1) * W2)) << 3);
    store<f64>(row, -Infinity);
    store<f64>(row + ((<usize>(w + 1)) << 3), -Infinity);
    for (let x = 0; x < w; x++) {
      const p = (<usize>(y * w + x)) << 2;
      const mine = load<i32>(owner + p) == label;
      store<f64>(row + ((<usize>(x + 1)) << 3), mine ? <f64>load<f32>(start + p) : Infinity);
      any = any || mine;
    }
  }
  return any;
}

// The geodesic queue's buckets are chains of chunks of CHUNK entries, so that a bucket's pixels
// are read in runs rather than one scattered list entry each. A chunk: next chunk (−1: none),
// count, then the entries (pixel indices in the bordered plane).
const CHUNK: i32 = 14;
const CHUNK_BYTES: usize = 64;

/** Bytes of the geodesic queue's chunk pool for a grid of n pixels and `buckets` buckets. */
export function queueBytes(n: i32, buckets: i32): i32 {
  // A pixel is pushed as a seed and at most once from each of its 8 neighbours (each settled
  // once), and each bucket's last chunk may be part full.
  return ((9 * n) / CHUNK + buckets + 1) * <i32>CHUNK_BYTES;
}

let poolTop: i32 = 0;

// Pushes pixel q at distance nd onto its bucket.
// @ts-ignore: decorator
@inline
function push(q: i32, nd: f64, inv: f64, pool: usize, head: usize, tail: usize): void {
  const b = (<usize>(<i32>Math.floor(nd * inv))) << 2;
  let t = load<i32>(tail + b);
  let c = t >= 0 ? pool + <usize>t * CHUNK_BYTES : 0;
  if (t < 0 || load<i32>(c, 4) == CHUNK) {
    const fresh = poolTop++;
    const f = pool + <usize>fresh * CHUNK_BYTES;
    store<i32>(f, -1);
    store<i32>(f, 0, 4);
    if (t < 0) store<i32>(head + b, fresh);
    else store<i32>(c, fresh);
    store<i32>(tail + b, fresh);
    c = f;
  }
  const k = load<i32>(c, 4);
  store<i32>(c + 8 + ((<usize>k) << 2), q);
  store<i32>(c, k + 1, 4);
}

// Relaxes the step from a settled pixel at distance k to q, costing c.
// @ts-ignore: decorator
@inline
function relax(q: i32, k: f64, c: f64, d: usize, far: f64, inv: f64, pool: usize, head: usize, tail: usize): void {
  const nd = k + c;
  const dq = d + ((<usize>q) << 3);
  if (nd < load<f64>(dq) && nd < far) {
    store<f64>(dq, nd);
    push(q, nd, inv, pool, head, tail);
  }
}

/**
 * Geodesic distance from the seeds over the 8-neighbour w×h grid (propagate.ts explains it), on
 * bordered planes (w + 2 wide; seed(), stepCosts()'s interleaved costs): d holds the starting distances (doubles) and
 * is updated in place up to `far`. Dijkstra's algorithm with a bucket queue (Dial's), buckets
 * `1 / inv` wide (the shortest step): `buckets` heads and tails of chunk chains in pool
 * (queueBytes), a settled flag a pixel in done.
 */
export function geodesic(
  d: usize, costs: usize, w: i32, h: i32, inv: f64, far: f64,
  pool: usize, head: usize, tail: usize, buckets: i32, done: usize,
): void {
  const W2 = w + 2;
  memory.fill(head, 0xff, (<usize>buckets) << 2);
  memory.fill(tail, 0xff, (<usize>buckets) << 2);
  memory.fill(done, 0, <usize>(W2 * (h + 2)));
  poolTop = 0;
  for (let y = 1; y <= h; y++)
    for (let x = 1; x <= w; x++) {
      const p = y * W2 + x;
      const dp = load<f64>(d + ((<usize>p) << 3));
      if (!(dp < far)) continue;
      push(p, dp, inv, pool, head, tail);
    }
  const up = (<usize>W2) << 5;
  for (let b = 0; b < buckets; b++) {
    let ci = load<i32>(head + ((<usize>b) << 2));
    while (ci >= 0) {
      const c = pool + <usize>ci * CHUNK_BYTES;
      // Pixels pushed onto this bucket while it is read (a step rounding to its own bucket)
      // are read too: count and next are read again each time.
      for (let i = 0; i < load<i32>(c, 4); i++) {
        const p = load<i32>(c + 8 + ((<usize>i) << 2));
        if (load<u8>(done + <usize>p)) continue;
        store<u8>(done + <usize>p, 1);
        const k = load<f64>(d + ((<usize>p) << 3));
        const c = costs + ((<usize>p) << 5);
        // The order of the original: right, left, down, down-right, down-left, up, up-left, up-right.
        relax(p + 1, k, load<f64>(c), d, far, inv, pool, head, tail);
        relax(p - 1, k, load<f64>(c - 32), d, far, inv, pool, head, tail);
        relax(p + W2, k, load<f64>(c, 8), d, far, inv, pool, head, tail);
        relax(p + W2 + 1, k, load<f64>(c, 16), d, far, inv, pool, head, tail);
        relax(p + W2 - 1, k, load<f64>(c, 24), d, far, inv, pool, head, tail);
        relax(p - W2, k, load<f64>(c - up, 8), d, far, inv, pool, head, tail);
        relax(p - W2 - 1, k, load<f64>(c - up - 32, 16), d, far, inv, pool, head, tail);
        relax(p - W2 + 1, k, load<f64>(c - up + 32, 24), d, far, inv, pool, head, tail);
      }
      ci = load<i32>(c);
    }
  }
}

/**
 * Adds one label's weights w = 1 / (d⁶ + eps) (where d, the bordered plane of geodesic(), is
 * finite) to the sums over the labels (doubles, w×h): total += w; a hint label also
 * alpha += s·w, xu += s·w·u, xv += s·w·v; an eraser only total += s·w.
 */
export function accumulate(
  d: usize, w: i32, h: i32, eps: f64, erase: bool, s: f64, u: f64, v: f64,
  total: usize, alpha: usize, xu: usize, xv: usize,
): void {
  const W2 = w + 2;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (<usize>(y * w + x)) << 3;
      const dp = load<f64>(d + ((<usize>((y + 1) * W2 + x + 1)) << 3));
      if (dp == Infinity) continue;
      const d2 = dp * dp;
      const wt = 1 / (d2 * d2 * d2 + eps);
      if (erase) {
        store<f64>(total + o, load<f64>(total + o) + s * wt);
        continue;
      }
      store<f64>(total + o, load<f64>(total + o) + wt);
      store<f64>(alpha + o, load<f64>(alpha + o) + s * wt);
      store<f64>(xu + o, load<f64>(xu + o) + s * wt * u);
      store<f64>(xv + o, load<f64>(xv + o) + s * wt * v);
    }
}

/** The sums before the first label: total 1 (the model's weight), the others 0. */
export function clearSums(n: i32, total: usize, alpha: usize, xu: usize, xv: usize): void {
  for (let p = 0; p < n; p++) store<f64>(total + ((<usize>p) << 3), 1);
  memory.fill(alpha, 0, (<usize>n) << 3);
  memory.fill(xu, 0, (<usize>n) << 3);
  memory.fill(xv, 0, (<usize>n) << 3);
}

/** α, Xu, Xv = alpha, xu, xv / total, three single planes of n from fields. */
export function fields(n: i32, total: usize, alpha: usize, xu: usize, xv: usize, out: usize): void {
  const plane = (<usize>n) << 2;
  for (let p = 0; p < n; p++) {
    const o = (<usize>p) << 3;
    const t = load<f64>(total + o);
    const q = out + ((<usize>p) << 2);
    store<f32>(q, <f32>(load<f64>(alpha + o) / t));
    store<f32>(q + plane, <f32>(load<f64>(xu + o) / t));
    store<f32>(q + 2 * plane, <f32>(load<f64>(xv + o) / t));
  }
}

// Mean over each pixel's 3×3 window, clipped at the borders, of the w×h single plane src into
// out; tmp is scratch. Rows, then columns.
function boxMean3(src: usize, w: i32, h: i32, tmp: usize, out: usize): void {
  for (let y = 0; y < h; y++) {
    const r = src + ((<usize>(y * w)) << 2);
    const t = tmp + ((<usize>(y * w)) << 2);
    if (w == 1) {
      store<f32>(t, load<f32>(r));
      continue;
    }
    store<f32>(t, <f32>((<f64>load<f32>(r) + <f64>load<f32>(r, 4)) / 2));
    for (let x = 1; x < w - 1; x++) {
      const o = (<usize>x) << 2;
      const a = <f64>load<f32>(r + o - 4);
      const b = <f64>load<f32>(r + o);
      const c = <f64>load<f32>(r + o + 4);
      store<f32>(t + o, <f32>((a + b + c) / 3));
    }
    const e = (<usize>(w - 1)) << 2;
    store<f32>(t + e, <f32>((<f64>load<f32>(r + e - 4) + <f64>load<f32>(r + e)) / 2));
  }
  for (let y = 0; y < h; y++) {
    const m = tmp + ((<usize>(y * w)) << 2);
    const up = y > 0;
    const dn = y + 1 < h;
    const a = m - ((<usize>w) << 2);
    const b = m + ((<usize>w) << 2);
    const k: f64 = 1 / <f64>(1 + (up ? 1 : 0) + (dn ? 1 : 0));
    const dst = out + ((<usize>(y * w)) << 2);
    for (let x = 0; x < w; x++) {
      const o = (<usize>x) << 2;
      let s = <f64>load<f32>(m + o);
      if (up) s += <f64>load<f32>(a + o);
      if (dn) s += <f64>load<f32>(b + o);
      store<f32>(dst + o, <f32>(s * k));
    }
  }
}

/**
 * He and Sun's fast guided filter, coefficient part, of the three fields (single planes of n =
 * w·h from `fieldPlanes`) against the grid luminance lum: p ≈ A·I + B per 3×3 window (eps the
 * regularisation), then averaged; into out, planar [Aα, Au, Av, Bα, Bu, Bv]. scratch: 7 planes.
 */
export function guided(lum: usize, fieldPlanes: usize, w: i32, h: i32, eps: f64, scratch: usize, out: usize): void {
  const n = w * h;
  const plane = (<usize>n) << 2;
  const tmp = scratch;
  const meanI = scratch + plane;
  const varI = scratch + 2 * plane;
  const work = scratch + 3 * plane;
  const meanP = scratch + 4 * plane;
  const a = scratch + 5 * plane;
  const b = scratch + 6 * plane;
  boxMean3(lum, w, h, tmp, meanI);
  for (let p = 0; p < n; p++) {
    const o = (<usize>p) << 2;
    const l = <f64>load<f32>(lum + o);
    store<f32>(work + o, <f32>(l * l));
  }
  boxMean3(work, w, h, tmp, varI);
  for (let p = 0; p < n; p++) {
    const o = (<usize>p) << 2;
    const m = <f64>load<f32>(meanI + o);
    store<f32>(varI + o, <f32>(<f64>load<f32>(varI + o) - m * m));
  }
  for (let k = 0; k < 3; k++) {
    const f = fieldPlanes + <usize>k * plane;
    boxMean3(f, w, h, tmp, meanP);
    for (let p = 0; p < n; p++) {
      const o = (<usize>p) << 2;
      store<f32>(work + o, <f32>(<f64>load<f32>(lum + o) * <f64>load<f32>(f + o)));
    }
    boxMean3(work, w, h, tmp, a);
    for (let p = 0; p < n; p++) {
      const o = (<usize>p) << 2;
      const mI = <f64>load<f32>(meanI + o);
      const mP = <f64>load<f32>(meanP + o);
      const A = (<f64>load<f32>(a + o) - mI * mP) / (<f64>load<f32>(varI + o) + eps);
      store<f32>(a + o, <f32>A);
      store<f32>(b + o, <f32>(mP - A * mI));
    }
    boxMean3(a, w, h, tmp, out + <usize>k * plane);
    boxMean3(b, w, h, tmp, out + <usize>(3 + k) * plane);
  }
}
