// AssemblyScript, compiled to WebAssembly by `npm run wasm:build` into src/engine/ops/tiles-wasm.ts.
// The per-pixel work of tiled inference (src/engine/ops/tiled.ts): cutting a tile out of a band of
// source rows into the model's float planes, blending the model's output into the band's feathered
// accumulators, and writing finished rows back to 8 or 16 bits. Every value is worked out in f64
// and rounded to f32 where the JavaScript it replaced stored into a Float32Array, so the results
// are the same bit for bit. The caller lays out every buffer in this module's memory (from
// heapBase()); one instance serves one runTiled call.

const KR: f64 = 0.299;
const KG: f64 = 0.587;
const KB: f64 = 0.114;

/** First free byte after the module's own data. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * One tile's input plane(s) from a band of source rows: dst[c][y][x] = src[rows[y] + cols[x]]
 * (channel sel, or channel c when sel < 0) / srcMax. rows[y] and cols[x] are element offsets into
 * src (row start in the band; column × channels); `wide` means 16-bit samples.
 */
export function cutTile(
  src: usize, wide: bool, rows: usize, cols: usize, pw: i32, ph: i32, rc: i32,
  nch: i32, sel: i32, dst: usize, srcMax: f64,
): void {
  const hw = <usize>(pw * ph);
  for (let c = 0; c < nch; c++) {
    const sc = <usize>(sel >= 0 ? sel : rc === 1 ? 0 : c);
    const plane = dst + ((<usize>c * hw) << 2);
    for (let y = 0; y < ph; y++) {
      const row = <usize>load<i32>(rows + (<usize>y << 2)) + sc;
      const d = plane + ((<usize>(y * pw)) << 2);
      if (wide) {
        for (let x = 0; x < pw; x++) {
          const p = row + <usize>load<i32>(cols + (<usize>x << 2));
          store<f32>(d + (<usize>x << 2), <f32>(<f64>load<u16>(src + (p << 1)) / srcMax));
        }
      } else {
        for (let x = 0; x < pw; x++) {
          const p = row + <usize>load<i32>(cols + (<usize>x << 2));
          store<f32>(d + (<usize>x << 2), <f32>(<f64>load<u8>(src + p) / srcMax));
        }
      }
    }
  }
}

/**
 * Adds one tile's model output (res: resCh planes resW wide) into the band's accumulators with the
 * feather weights wy (per tile row) and wx (per tile column), each covering s output pixels.
 * mode 0: channel `pass` of a 3-channel accumulator (an RGB picture through a grey model, weights
 * summed on pass 0); 1: RGB (a grey result repeated); 2: one channel (an RGB result as luminance).
 * ay0, ax0: where the tile's first output pixel lies in the band (EOW pixels a row).
 */
export function blendTile(
  acc: usize, wsum: usize, res: usize, resW: i32, resH: i32, resCh: i32,
  rowsOut: i32, colsOut: i32, s: i32, wy: usize, wx: usize, ay0: i32, ax0: i32, eow: i32,
  mode: i32, pass: i32,
): void {
  const ohw = <usize>(resW * resH);
  for (let y = 0; y < rowsOut; y++) {
    const wyv = <f64>load<f32>(wy + (<usize>(y / s) << 2));
    if (wyv === 0) continue;
    const arow = <usize>((ay0 + y) * eow + ax0);
    const rrow = <usize>(y * resW);
    for (let x = 0; x < colsOut; x++) {
      const wv = wyv * <f64>load<f32>(wx + (<usize>(x / s) << 2));
      if (wv === 0) continue;
      const rp = rrow + <usize>x;
      const ap = arow + <usize>x;
      const r = <f64>load<f32>(res + (rp << 2));
      const wp = wsum + (ap << 2);
      if (mode === 0) {
        const a = acc + ((ap * 3 + <usize>pass) << 2);
        store<f32>(a, <f32>(<f64>load<f32>(a) + wv * r));
        if (pass === 0) store<f32>(wp, <f32>(<f64>load<f32>(wp) + wv));
      } else if (mode === 1) {
        const g = resCh === 3 ? <f64>load<f32>(res + ((ohw + rp) << 2)) : r;
        const b = resCh === 3 ? <f64>load<f32>(res + ((2 * ohw + rp) << 2)) : r;
        const a = acc + ((ap * 3) << 2);
        store<f32>(a, <f32>(<f64>load<f32>(a) + wv * r));
        store<f32>(a + 4, <f32>(<f64>load<f32>(a + 4) + wv * g));
        store<f32>(a + 8, <f32>(<f64>load<f32>(a + 8) + wv * b));
        store<f32>(wp, <f32>(<f64>load<f32>(wp) + wv));
      } else {
        const v =
          resCh === 3
            ? KR * r + KG * <f64>load<f32>(res + ((ohw + rp) << 2)) + KB * <f64>load<f32>(res + ((2 * ohw + rp) << 2))
            : r;
        const a = acc + (ap << 2);
        store<f32>(a, <f32>(<f64>load<f32>(a) + wv * v));
        store<f32>(wp, <f32>(<f64>load<f32>(wp) + wv));
      }
    }
  }
}

/**
 * Finished rows [r0, r1) of the band to samples in dst (ow pixels × ch a row, from its start):
 * acc / wsum (0 read as 1) × outMax, rounded and clamped as a store into a Uint8/Uint16Array does.
 * ps: the mirrored pad's width in output pixels (the band's rows are ps wider on each side).
 */
export function writeRows(
  acc: usize, wsum: usize, r0: i32, r1: i32, eow: i32, ow: i32, ps: i32, ch: i32,
  outMax: f64, dst: usize, wide: bool,
): void {
  let o: usize = dst;
  for (let r = r0; r < r1; r++) {
    for (let x = 0; x < ow; x++) {
      const ex = <usize>(r * eow + x + ps);
      let wv = <f64>load<f32>(wsum + (ex << 2));
      if (wv === 0 || wv !== wv) wv = 1;
      for (let c = 0; c < ch; c++) {
        const v = (<f64>load<f32>(acc + ((ex * <usize>ch + <usize>c) << 2)) / wv) * outMax + 0.5;
        // NaN stores as 0 (ToUint8/ToUint16 of NaN), like the typed-array store it replaces.
        const q: u32 = v < 0 ? 0 : v > outMax ? <u32>outMax : v === v ? <u32>v : 0;
        if (wide) {
          store<u16>(o, <u16>q);
          o += 2;
        } else {
          store<u8>(o, <u8>q);
          o += 1;
        }
      }
    }
  }
}

/** Slides the band up by `rows` rows (of rowBytes accumulator bytes) and zeroes what came free. */
export function slide(buf: usize, rows: i32, bandRows: i32, rowBytes: i32): void {
  const keep = bandRows - rows;
  const rb = <usize>rowBytes;
  const z: usize = keep > 0 ? <usize>keep : 0;
  if (z > 0) memory.copy(buf, buf + <usize>rows * rb, z * rb);
  memory.fill(buf + z * rb, 0, (<usize>bandRows - z) * rb);
}
