// AssemblyScript, compiled to WebAssembly (SIMD) by `npm run wasm:build` into
// src/engine/ops/hints/hints-wasm.ts. The per-pixel half of the colour-hint blend at the detail
// size (src/engine/ops/hints/apply.ts): the grid's guided-filter coefficients and the model's
// chroma, already widened along x to the detail width (one row per source row), are interpolated
// between rows and give the hinted chroma of each pixel, four pixels a step in 128-bit lanes. The
// caller lays out every buffer in this module's memory (from heapBase()).

/** First free byte after the module's own data. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Detail rows [y0, y1) of u, v (dw floats a row). lum: the detail luminance 0..1 (dw a row);
 * coef: 6 planes (A of α, Xu, Xv, then B of each) of gh rows × dw, `coefPlane` floats apart;
 * model: U then V planes of ch rows × dw, `modelPlane` floats apart (saturation applied);
 * gyI0/gyI1/gyF, myI0/myI1/myF: the row taps (color.ts bilinearAxis) from the grid and from the
 * model to the detail rows. Per pixel: q = A·Y + B, α = clip(qα, 0, 1), and
 * u = m + (Xu · α / max(qα, 10⁻³)) − α·m. Reads and writes up to 3 floats past a row's end
 * (rows are done in order, so what spills into the next row is overwritten): the caller leaves
 * room past the last row.
 */
export function blendRows(
  dw: i32,
  y0: i32,
  y1: i32,
  lum: usize,
  coef: usize,
  coefPlane: i32,
  model: usize,
  modelPlane: i32,
  gyI0: usize,
  gyI1: usize,
  gyF: usize,
  myI0: usize,
  myI1: usize,
  myF: usize,
  outU: usize,
  outV: usize,
): void {
  const cp = (<usize>coefPlane) << 2;
  const mp = (<usize>modelPlane) << 2;
  const row = (<usize>dw) << 2;
  const vZero = f32x4.splat(0);
  const vOne = f32x4.splat(1);
  const vMin = f32x4.splat(1e-3);
  for (let y = y0; y < y1; y++) {
    const yo = (<usize>y) << 2;
    const ga = coef + <usize>load<i32>(gyI0 + yo) * row;
    const gb = coef + <usize>load<i32>(gyI1 + yo) * row;
    const gf = f32x4.splat(load<f32>(gyF + yo));
    const ma = model + <usize>load<i32>(myI0 + yo) * row;
    const mb = model + <usize>load<i32>(myI1 + yo) * row;
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
      const mv = lerp(ma + mp + o, mb + mp + o, mf);
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
 * Each of `rows` rows of w floats at planes, interpolated along x to `to` samples with the taps
 * i0/i1/f (color.ts bilinearAxis, `to` entries each), into out (rows × to): the horizontal half of
 * the bilinear enlargements that blendRows finishes, done here once per source row (in JavaScript
 * this loop cost about as much as the blend itself).
 */
export function widenRows(
  planes: usize,
  rows: i32,
  w: i32,
  i0: usize,
  i1: usize,
  f: usize,
  to: i32,
  out: usize,
): void {
  const row = (<usize>w) << 2;
  for (let r = 0; r < rows; r++) {
    const src = planes + <usize>r * row;
    const dst = out + ((<usize>r * <usize>to) << 2);
    for (let x = 0; x < to; x++) {
      const o = (<usize>x) << 2;
      const a = load<f32>(src + ((<usize>load<i32>(i0 + o)) << 2));
      const b = load<f32>(src + ((<usize>load<i32>(i1 + o)) << 2));
      store<f32>(dst + o, a + (b - a) * load<f32>(f + o));
    }
  }
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
