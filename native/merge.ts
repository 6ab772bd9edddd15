// AssemblyScript, compiled to WebAssembly (SIMD) by `npm run wasm:build` into
// src/engine/image/merge-wasm.ts. The photo merge of src/engine/image/color.ts (mergeLumaChroma):
// original luma + bilinearly upsampled chroma offsets, scaled down where a pixel would leave the
// RGB cube. Four pixels a step in 128-bit lanes; the caller lays out every buffer in this module's
// memory (from heapBase()) and copies rows in and out a band at a time.

import { FILL_A, FILL_B, pairA, pairAdvance, pairB, pairReset, ROW_PAIR_BYTES } from './row-pair';

const KR: f32 = 0.299;
const KG: f32 = 0.587;
const KB: f32 = 0.114;

// The two chroma rows (R−Y, G−Y, B−Y at full width) the current output row lies between (kept
// between bands: row-pair.ts).
const ROWS: usize = memory.data(ROW_PAIR_BYTES);

/** First free byte after the module's own data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Starts an image: forgets the cached chroma rows and gives their two scratch buffers. */
export function reset(a: usize, b: usize): void {
  pairReset(ROWS, a, b);
}

/** Floats per plane of a chroma row (and the luma row): the width rounded up for whole lanes. */
function rowStride(width: i32): i32 {
  return (width + 7) & ~3;
}

export function scratchFloats(width: i32): i32 {
  return rowStride(width);
}

// Chroma row sy interpolated along x to full width, as three planes R−Y, G−Y, B−Y from dst.
function fillRow(
  sy: i32, dst: usize, width: i32, u: usize, v: usize, cw: i32,
  axI0: usize, axI1: usize, axF: usize, rv: f32, gu: f32, gv: f32, bu: f32,
): void {
  const base = (<usize>sy * <usize>cw) << 2;
  const g = dst + (<usize>rowStride(width) << 2);
  const b = g + (<usize>rowStride(width) << 2);
  for (let x = 0; x < width; x++) {
    const o = <usize>x << 2;
    const a = base + (<usize>load<i32>(axI0 + o) << 2);
    const c = base + (<usize>load<i32>(axI1 + o) << 2);
    const f = load<f32>(axF + o);
    const ua = load<f32>(u + a);
    const va = load<f32>(v + a);
    const cu = ua + (load<f32>(u + c) - ua) * f;
    const cv = va + (load<f32>(v + c) - va) * f;
    store<f32>(dst + o, rv * cv);
    store<f32>(g + o, gu * cu + gv * cv);
    store<f32>(b + o, bu * cu);
  }
}

/**
 * Bytes per group of four output pixels in the table of prepareWiden: its first source index
 * (then padding), and the swizzle masks picking each pixel's two source floats out of the four
 * from there.
 */
const GROUP: usize = 48;

/** Bytes of prepareWiden's table for a row `width` wide. */
export function widenTableBytes(width: i32): i32 {
  return ((width + 3) >> 2) * <i32>GROUP;
}

/**
 * Fills `groups` (GROUP bytes per four output pixels of a row `width` wide) from the x taps, for
 * fillRowFast. Returns false, leaving the table unused, unless every group's two source floats
 * of all four pixels lie within four floats of its first (chroma enlarged at least about 1.5×
 * along x: a photo's model chroma, and the hint chroma of a photo over 1536 px).
 */
export function prepareWiden(width: i32, axI0: usize, axI1: usize, groups: usize): bool {
  for (let x = 0; x < width; x += 4) {
    const g = groups + (<usize>(x >> 2)) * GROUP;
    const s = load<i32>(axI0 + (<usize>x << 2));
    store<i32>(g, s);
    for (let j = 0; j < 4; j++) {
      // Lanes past the row's end repeat its last pixel (they land in the row's padding).
      const o = <usize>min(x + j, width - 1) << 2;
      const r0 = load<i32>(axI0 + o) - s;
      const r1 = load<i32>(axI1 + o) - s;
      if (r0 < 0 || r1 < 0 || r0 > 3 || r1 > 3) return false;
      for (let b = 0; b < 4; b++) {
        store<u8>(g + 16 + <usize>(j * 4 + b), <u8>(r0 * 4 + b));
        store<u8>(g + 32 + <usize>(j * 4 + b), <u8>(r1 * 4 + b));
      }
    }
  }
  return true;
}

// fillRow four pixels a step, with the table of prepareWiden: the same values (the same float
// operations per pixel). Reads up to 3 floats past a chroma row and writes past the row's end
// into its padding.
function fillRowFast(
  sy: i32, dst: usize, width: i32, u: usize, v: usize, cw: i32,
  groups: usize, axF: usize, rv: f32, gu: f32, gv: f32, bu: f32,
): void {
  const base = (<usize>sy * <usize>cw) << 2;
  const g = dst + (<usize>rowStride(width) << 2);
  const b = g + (<usize>rowStride(width) << 2);
  const vRv = f32x4.splat(rv);
  const vGu = f32x4.splat(gu);
  const vGv = f32x4.splat(gv);
  const vBu = f32x4.splat(bu);
  for (let x = 0; x < width; x += 4) {
    const o = <usize>x << 2;
    const t = groups + (<usize>(x >> 2)) * GROUP;
    const s = base + (<usize>load<i32>(t) << 2);
    const m0 = v128.load(t, 16);
    const m1 = v128.load(t, 32);
    const f = v128.load(axF + o);
    const U = v128.load(u + s);
    const V = v128.load(v + s);
    const ua = i8x16.swizzle(U, m0);
    const va = i8x16.swizzle(V, m0);
    const cu = f32x4.add(ua, f32x4.mul(f32x4.sub(i8x16.swizzle(U, m1), ua), f));
    const cv = f32x4.add(va, f32x4.mul(f32x4.sub(i8x16.swizzle(V, m1), va), f));
    v128.store(dst + o, f32x4.mul(vRv, cv));
    v128.store(g + o, f32x4.add(f32x4.mul(vGu, cu), f32x4.mul(vGv, cv)));
    v128.store(b + o, f32x4.mul(vBu, cu));
  }
}

/**
 * Output rows [y0, y1): `luma` holds those rows of the original (fmt 0 grey 8-bit, 1 grey 16-bit,
 * 2 RGB 8-bit, 3 RGB 16-bit; kIn maps its samples to the output scale S), `out` receives them as
 * interleaved RGB, 8 or 16-bit. u, v: the chroma planes (cw wide); axI0/axI1/axF, ayI0/ayI1/ayF: bilinear taps along x
 * and y (color.ts bilinearAxis); rv, gu, gv, bu: output levels per unit of U/V. Writes up to 24
 * bytes past the last pixel and reads up to 32 bytes past the last input sample: the caller leaves room.
 * groups: prepareWiden's table when it returned true, else 0 (chroma rows widened one pixel a step).
 */
export function mergeBand(
  width: i32, y0: i32, y1: i32,
  luma: usize, fmt: i32, kIn: f32,
  out: usize, depth16: bool, S: f32,
  u: usize, v: usize, cw: i32,
  axI0: usize, axI1: usize, axF: usize,
  ayI0: usize, ayI1: usize, ayF: usize,
  rv: f32, gu: f32, gv: f32, bu: f32,
  lrow: usize, groups: usize,
): void {
  const plane = <usize>rowStride(width) << 2;
  const vS = f32x4.splat(S);
  const vOne = f32x4.splat(1);
  const vZero = f32x4.splat(0);
  const vHalf = f32x4.splat(0.5);
  const vk = f32x4.splat(kIn);
  const vKr = f32x4.splat(KR);
  const vKg = f32x4.splat(KG);
  const vKb = f32x4.splat(KB);
  const lo16 = i32x4.splat(0xffff);
  // Guards the divisions: a channel that does not move limits nothing.
  const vEps = f32x4.splat(1e-20);
  const inStride: usize = <usize>width * (fmt == 0 ? 1 : fmt == 1 ? 2 : fmt == 2 ? 3 : 6);
  const outStride: usize = <usize>width * (depth16 ? 6 : 3);
  let inRow = luma;
  let outRow = out;
  for (let y = y0; y < y1; y++) {
    const s0 = load<i32>(ayI0 + (<usize>y << 2));
    const s1 = load<i32>(ayI1 + (<usize>y << 2));
    const fill = pairAdvance(ROWS, s0, s1);
    const rowA = pairA(ROWS);
    const rowB = pairB(ROWS);
    if (fill & FILL_A) {
      if (groups) fillRowFast(s0, rowA, width, u, v, cw, groups, axF, rv, gu, gv, bu);
      else fillRow(s0, rowA, width, u, v, cw, axI0, axI1, axF, rv, gu, gv, bu);
    }
    if (fill & FILL_B) {
      if (groups) fillRowFast(s1, rowB, width, u, v, cw, groups, axF, rv, gu, gv, bu);
      else fillRow(s1, rowB, width, u, v, cw, axI0, axI1, axF, rv, gu, gv, bu);
    }
    // The row's luma on the output scale (BT.601 weights for RGB input, as the reference), four
    // samples a step: lanes past the row's end read the next bytes of the band (or its slack) and
    // land in lrow's padding, which nothing reads.
    if (fmt == 0) {
      for (let x = 0; x < width; x += 4) {
        const q = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(inRow + x)));
        v128.store(lrow + (<usize>x << 2), f32x4.mul(f32x4.convert_i32x4_u(q), vk));
      }
    } else if (fmt == 1) {
      for (let x = 0; x < width; x += 4) {
        const q = i32x4.extend_low_i16x8_u(v128.load64_zero(inRow + (<usize>x << 1)));
        v128.store(lrow + (<usize>x << 2), f32x4.mul(f32x4.convert_i32x4_u(q), vk));
      }
    } else if (fmt == 2) {
      for (let x = 0; x < width; x += 4) {
        const p = v128.load(inRow + <usize>x * 3);
        // Byte c of each 3-byte pixel into its own 32-bit lane (swizzle indices ≥ 16 give 0).
        const r = f32x4.convert_i32x4_u(i8x16.swizzle(p, i8x16(0, 16, 16, 16, 3, 16, 16, 16, 6, 16, 16, 16, 9, 16, 16, 16)));
        const g = f32x4.convert_i32x4_u(i8x16.swizzle(p, i8x16(1, 16, 16, 16, 4, 16, 16, 16, 7, 16, 16, 16, 10, 16, 16, 16)));
        const b = f32x4.convert_i32x4_u(i8x16.swizzle(p, i8x16(2, 16, 16, 16, 5, 16, 16, 16, 8, 16, 16, 16, 11, 16, 16, 16)));
        const l = f32x4.add(f32x4.add(f32x4.mul(vKr, r), f32x4.mul(vKg, g)), f32x4.mul(vKb, b));
        v128.store(lrow + (<usize>x << 2), f32x4.mul(l, vk));
      }
    } else {
      for (let x = 0; x < width; x += 4) {
        const p = inRow + <usize>x * 6;
        const a = v128.load(p);
        const c = v128.load(p, 16);
        // Sample c (2 bytes) of each 6-byte pixel into the low half of its own 32-bit lane.
        const r = v128.and(i8x16.shuffle(a, c, 0, 1, 0, 0, 6, 7, 0, 0, 12, 13, 0, 0, 18, 19, 0, 0), lo16);
        const g = v128.and(i8x16.shuffle(a, c, 2, 3, 0, 0, 8, 9, 0, 0, 14, 15, 0, 0, 20, 21, 0, 0), lo16);
        const b = v128.and(i8x16.shuffle(a, c, 4, 5, 0, 0, 10, 11, 0, 0, 16, 17, 0, 0, 22, 23, 0, 0), lo16);
        const l = f32x4.add(
          f32x4.add(f32x4.mul(vKr, f32x4.convert_i32x4_u(r)), f32x4.mul(vKg, f32x4.convert_i32x4_u(g))),
          f32x4.mul(vKb, f32x4.convert_i32x4_u(b)),
        );
        v128.store(lrow + (<usize>x << 2), f32x4.mul(l, vk));
      }
    }
    const fy = f32x4.splat(load<f32>(ayF + (<usize>y << 2)));
    for (let x = 0; x < width; x += 4) {
      const o = <usize>x << 2;
      const ar = v128.load(rowA + o);
      const ag = v128.load(rowA + plane + o);
      const ab = v128.load(rowA + 2 * plane + o);
      const dr = f32x4.add(ar, f32x4.mul(f32x4.sub(v128.load(rowB + o), ar), fy));
      const dg = f32x4.add(ag, f32x4.mul(f32x4.sub(v128.load(rowB + plane + o), ag), fy));
      const db = f32x4.add(ab, f32x4.mul(f32x4.sub(v128.load(rowB + 2 * plane + o), ab), fy));
      const yv = v128.load(lrow + o);
      // The largest t in [0, 1] keeping yv + t·d inside [0, S] in every channel (1 when inside).
      const up = f32x4.max(f32x4.max(dr, dg), f32x4.max(db, vEps));
      const down = f32x4.max(f32x4.neg(f32x4.min(f32x4.min(dr, dg), db)), vEps);
      // Most pixels are inside, where both quotients are ≥ 1 and t is exactly 1: the divisions
      // are left to groups of four with a pixel at the edge.
      let t = vOne;
      if (!i32x4.all_true(v128.and(f32x4.ge(f32x4.sub(vS, yv), up), f32x4.ge(yv, down))))
        t = f32x4.max(
          vZero,
          f32x4.min(vOne, f32x4.min(f32x4.div(f32x4.sub(vS, yv), up), f32x4.div(yv, down))),
        );
      const base = f32x4.add(yv, vHalf);
      // Signed truncation (one instruction on x64, the unsigned one is a sequence): every value
      // here lies in (−1, S + 1), where both give the same, 0 below zero.
      const r = i32x4.trunc_sat_f32x4_s(f32x4.add(base, f32x4.mul(dr, t)));
      const g = i32x4.trunc_sat_f32x4_s(f32x4.add(base, f32x4.mul(dg, t)));
      const b = i32x4.trunc_sat_f32x4_s(f32x4.add(base, f32x4.mul(db, t)));
      const rg = i16x8.narrow_i32x4_u(r, g);
      const bb = i16x8.narrow_i32x4_u(b, b);
      if (depth16) {
        // r0 g0 b0 r1 g1 b1 r2 g2 | b2 r3 g3 b3 (16-bit samples)
        const p = outRow + <usize>x * 6;
        v128.store(p, i8x16.shuffle(rg, bb, 0, 1, 8, 9, 16, 17, 2, 3, 10, 11, 18, 19, 4, 5, 12, 13));
        v128.store(p + 16, i8x16.shuffle(rg, bb, 20, 21, 6, 7, 14, 15, 22, 23, 0, 0, 0, 0, 0, 0, 0, 0));
      } else {
        const bytes = i8x16.narrow_i16x8_u(rg, bb);
        const rgb = i8x16.swizzle(bytes, i8x16(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 13, 14, 15));
        v128.store(outRow + <usize>x * 3, rgb);
      }
    }
    inRow += inStride;
    outRow += outStride;
  }
}

// --- Film frames in YUV 4:2:0 (color.ts chromaForYuv420) -------------------------------------------

// Chroma rows kept by the film kernel: U and V of source row sy interpolated to CW samples.
const UV_ROWS: usize = memory.data(ROW_PAIR_BYTES);

/** Starts a frame for yuvChromaBand: forgets its cached rows and gives their scratch buffers. */
export function resetYuv(a: usize, b: usize): void {
  pairReset(UV_ROWS, a, b);
}

// U and V of chroma row sy interpolated along x to CW samples: two planes of rowStride(CW) floats.
function fillUv(sy: i32, dst: usize, CW: i32, u: usize, v: usize, cw: i32, axI0: usize, axI1: usize, axF: usize): void {
  const base = (<usize>sy * <usize>cw) << 2;
  const vd = dst + (<usize>rowStride(CW) << 2);
  for (let x = 0; x < CW; x++) {
    const o = <usize>x << 2;
    const a = base + (<usize>load<i32>(axI0 + o) << 2);
    const c = base + (<usize>load<i32>(axI1 + o) << 2);
    const f = load<f32>(axF + o);
    const ua = load<f32>(u + a);
    const va = load<f32>(v + a);
    store<f32>(dst + o, ua + (load<f32>(u + c) - ua) * f);
    store<f32>(vd + o, va + (load<f32>(v + c) - va) * f);
  }
}

/**
 * Chroma rows [j0, j1) of a 4:2:0 frame (CW = width / 2 samples a row): `luma` holds luma rows
 * 2·j0 … 2·j1 − 1 (width bytes each), outU/outV receive the Cb/Cr rows. Each sample's chroma is
 * scaled down just enough that none of its 2×2 luma pixels leaves the RGB cube. bu, rv: colour
 * differences per unit of U/V (saturation included); kr, kb: the frame's luma weights; cbK, crK:
 * codes per unit of colour difference; yOff, invYs: luma code → 0..1. Reads up to 8 bytes past a
 * luma row and writes up to 3 past an output row: the caller leaves room.
 */
export function yuvChromaBand(
  width: i32, j0: i32, j1: i32,
  luma: usize, outU: usize, outV: usize,
  u: usize, v: usize, cw: i32,
  axI0: usize, axI1: usize, axF: usize,
  ayI0: usize, ayI1: usize, ayF: usize,
  bu: f32, rv: f32, kr: f32, kb: f32, cbK: f32, crK: f32, yOff: f32, invYs: f32,
): void {
  const CW = width >> 1;
  const plane = <usize>rowStride(CW) << 2;
  const vOne = f32x4.splat(1);
  const vZero = f32x4.splat(0);
  const vEps = f32x4.splat(1e-20);
  const vMax = f32x4.splat(255);
  const vMid = f32x4.splat(128.5);
  const vOff = f32x4.splat(yOff);
  const vInv = f32x4.splat(invYs);
  const vBu = f32x4.splat(bu);
  const vRv = f32x4.splat(rv);
  const vGr = f32x4.splat(-kr / (1 - kr - kb));
  const vGb = f32x4.splat(-kb / (1 - kr - kb));
  const vCb = f32x4.splat(cbK);
  const vCr = f32x4.splat(crK);
  const lo16 = i32x4.splat(0xffff);
  let l0 = luma;
  let ou = outU;
  let ov = outV;
  for (let j = j0; j < j1; j++) {
    const s0 = load<i32>(ayI0 + (<usize>j << 2));
    const s1 = load<i32>(ayI1 + (<usize>j << 2));
    const fill = pairAdvance(UV_ROWS, s0, s1);
    const yuvA = pairA(UV_ROWS);
    const yuvB = pairB(UV_ROWS);
    if (fill & FILL_A) fillUv(s0, yuvA, CW, u, v, cw, axI0, axI1, axF);
    if (fill & FILL_B) fillUv(s1, yuvB, CW, u, v, cw, axI0, axI1, axF);
    const fy = f32x4.splat(load<f32>(ayF + (<usize>j << 2)));
    const l1 = l0 + <usize>width;
    for (let i = 0; i < CW; i += 4) {
      const o = <usize>i << 2;
      const ut = v128.load(yuvA + o);
      const vt = v128.load(yuvA + plane + o);
      const dB = f32x4.mul(f32x4.add(ut, f32x4.mul(f32x4.sub(v128.load(yuvB + o), ut), fy)), vBu);
      const dR = f32x4.mul(f32x4.add(vt, f32x4.mul(f32x4.sub(v128.load(yuvB + plane + o), vt), fy)), vRv);
      // G − Y from the other two, so the frame's own luma (Kr R + Kg G + Kb B) does not move.
      const dG = f32x4.add(f32x4.mul(dR, vGr), f32x4.mul(dB, vGb));
      // Darkest and brightest of each sample's 2×2 luma pixels (8 bytes of each of the two rows).
      const a = v128.load64_zero(l0 + (<usize>i << 1));
      const b = v128.load64_zero(l1 + (<usize>i << 1));
      const mn = i16x8.extend_low_i8x16_u(i8x16.min_u(a, b));
      const mx = i16x8.extend_low_i8x16_u(i8x16.max_u(a, b));
      const lo = i32x4.min_u(v128.and(mn, lo16), i32x4.shr_u(mn, 16));
      const hi = i32x4.max_u(v128.and(mx, lo16), i32x4.shr_u(mx, 16));
      const ymin = f32x4.min(vOne, f32x4.max(vZero, f32x4.mul(f32x4.sub(f32x4.convert_i32x4_u(lo), vOff), vInv)));
      const ymax = f32x4.min(vOne, f32x4.max(vZero, f32x4.mul(f32x4.sub(f32x4.convert_i32x4_u(hi), vOff), vInv)));
      const up = f32x4.max(f32x4.max(dR, dG), f32x4.max(dB, vEps));
      const down = f32x4.max(f32x4.neg(f32x4.min(f32x4.min(dR, dG), dB)), vEps);
      // t is exactly 1 where every pixel stays inside (both quotients ≥ 1): divide only otherwise.
      const headroom = f32x4.sub(vOne, ymax);
      let t = vOne;
      if (!i32x4.all_true(v128.and(f32x4.ge(headroom, up), f32x4.ge(ymin, down))))
        t = f32x4.min(vOne, f32x4.min(f32x4.div(headroom, up), f32x4.div(ymin, down)));
      // Codes round to nearest; Cb/Cr lie within ±0.5, whose full-range ends (255.5) are clamped.
      // Signed truncation is one instruction on x64 and the same as unsigned on these values.
      const cu = i32x4.trunc_sat_f32x4_s(f32x4.min(vMax, f32x4.add(vMid, f32x4.mul(f32x4.mul(dB, t), vCb))));
      const cv = i32x4.trunc_sat_f32x4_s(f32x4.min(vMax, f32x4.add(vMid, f32x4.mul(f32x4.mul(dR, t), vCr))));
      const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(cu, cv), vZero);
      v128.store32_lane(ou + <usize>i, bytes, 0);
      v128.store32_lane(ov + <usize>i, bytes, 1);
    }
    l0 += <usize>width << 1;
    ou += <usize>CW;
    ov += <usize>CW;
  }
}
