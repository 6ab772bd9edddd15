import { HINTS_WASM } from './hints-wasm';

/**
 * The WebAssembly side of colour hints (native/hints.ts): the grid work of propagate.ts (step
 * geodesic distances, weights, guided-filter coefficients) and the detail-size work of
 * apply.ts (luminance, box mean onto the grid, widening, blend). One instance per thread; its
 * memory holds one picture's planes at a time, laid out by hintsMemory().
 */
export interface HintsKernel {
  memory: WebAssembly.Memory;
  heapBase(): number;
  blend(...args: number[]): void;
  blendScratchFloats(dw: number): number;
  scale(p: number, n: number, k: number): void;
  areaRows(...args: number[]): void;
  areaCols(...args: number[]): void;
  luma(...args: number[]): void;
  padLuma(...args: number[]): void;
  stepCosts(...args: number[]): void;
  queueBytes(n: number, buckets: number): number;
  seed(owner: number, start: number, label: number, w: number, h: number, d: number): number;
  geodesic(...args: number[]): void;
  clearSums(...args: number[]): void;
  accumulate(...args: number[]): void;
  fields(...args: number[]): void;
  guided(...args: number[]): void;
}

let kernel: HintsKernel | undefined;

/** Room past each buffer for the kernel's whole-lane reads and writes. */
const SLACK = 64;

export interface HintsSizes {
  /** Detail size (apply.ts), the solve grid (propagate.ts), the model's chroma. */
  dw: number;
  dh: number;
  gw: number;
  gh: number;
  cw: number;
  ch: number;
  /** Detail pixels (bytes) of the shrunk picture copied in, and the box mean's taps per cell. */
  smallBytes: number;
  span: number;
  spanY: number;
  /** Buckets of the geodesic queue. */
  buckets: number;
}

/**
 * The kernel's memory laid out for one picture: pointers (`at`) and views of every plane. The
 * views are made after the memory has grown and stay valid until the next hintsMemory() call:
 * the kernel's functions allocate nothing. Synchronous from here until the outputs are read (no
 * await), so two pictures in one thread never share it.
 */
export function hintsMemory(s: HintsSizes) {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(HINTS_WASM, 'base64')), {})
    .exports as unknown as HintsKernel;
  const k = kernel;
  let top = (k.heapBase() + 15) & ~15;
  const take = (bytes: number) => {
    const at = top;
    top = (top + bytes + SLACK + 15) & ~15;
    return at;
  };
  const f = (floats: number) => take(4 * floats);
  const dbl = (doubles: number) => take(8 * doubles);
  const { dw, dh, gw, gh, cw, ch } = s;
  const n = dw * dh;
  const g = gw * gh;
  // The geodesic distances' planes have a border of one pixel.
  const bordered = (gw + 2) * (gh + 2);
  const at = {
    // Detail size (apply.ts).
    small: take(s.smallBytes),
    lum: f(n),
    chroma: f(2 * cw * ch),
    gx: [f(dw), f(dw), f(dw)],
    mx: [f(dw), f(dw), f(dw)],
    rows: f(gw * dh),
    first: f(gw),
    weight: f(gw * s.span),
    firstY: f(gh),
    weightY: f(gh * s.spanY),
    blend: f(k.blendScratchFloats(dw)),
    gy: [f(dh), f(dh), f(dh)],
    my: [f(dh), f(dh), f(dh)],
    u: f(n),
    v: f(n),
    // The solve grid (propagate.ts).
    glum: f(g),
    owner: f(g),
    start: f(g),
    plum: f(bordered),
    costs: dbl(4 * bordered),
    d: dbl(bordered),
    sums: [dbl(g), dbl(g), dbl(g), dbl(g)],
    fields: f(3 * g),
    scratch: f(7 * g),
    grid: f(6 * g),
    pool: take(k.queueBytes(g, s.buckets)),
    head: take(4 * s.buckets),
    tail: take(4 * s.buckets),
    done: take(bordered),
  };
  const have = k.memory.buffer.byteLength;
  if (top > have) k.memory.grow(Math.ceil((top - have) / 65536));
  const mem = k.memory.buffer;
  const f32 = (p: number, len: number) => new Float32Array(mem, p, len);
  return {
    k,
    at,
    mem,
    f32,
    i32: (p: number, len: number) => new Int32Array(mem, p, len),
    /** Copies bilinear taps (color.ts bilinearAxis) to p[0..2]. */
    taps: (p: number[], t: { i0: Int32Array; i1: Int32Array; f: Float32Array }) => {
      new Int32Array(mem, p[0], t.i0.length).set(t.i0);
      new Int32Array(mem, p[1], t.i1.length).set(t.i1);
      f32(p[2], t.f.length).set(t.f);
    },
  };
}

export type HintsMemory = ReturnType<typeof hintsMemory>;
