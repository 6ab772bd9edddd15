import { MERGE_WASM } from './merge-wasm';

/**
 * The WebAssembly side of the two chroma merges of color.ts (native/merge.ts, 128-bit SIMD): the
 * photo merge (mergeLumaChroma: about 2.5× less CPU than the JavaScript loop it replaced at 12 MP)
 * and the film one (chromaForYuv420), each the same values within 1 level. One instance per
 * thread; its memory holds the chroma planes, the bilinear taps and one band of rows in and out at
 * a time, so it stays a few MB whatever the picture's size.
 */
interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchFloats(width: number): number;
  reset(rowA: number, rowB: number): void;
  resetYuv(rowA: number, rowB: number): void;
  widenTableBytes(width: number): number;
  prepareWiden(width: number, axI0: number, axI1: number, groups: number): number;
  mergeBand(...args: number[]): void;
  yuvChromaBand(...args: number[]): void;
}

let kernel: Exports | undefined;
function instance(): Exports {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(MERGE_WASM, 'base64')), {})
    .exports as unknown as Exports;
  return kernel;
}

/**
 * Output bytes of one band: 128 KB stays in L2 beside its input (12 MP photo: 103 ms of CPU at
 * 128 KB, 132 ms at 1 MB, 138 ms at 4 MB).
 */
const BAND_BYTES = 1 << 17;
/** Room past each buffer for the kernel's whole-lane reads and writes. */
const SLACK = 64;

export interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/** Lays buffers out in the kernel's memory (grown as needed); views are made after the last take. */
class Arena {
  private top: number;
  constructor(private readonly k: Exports) {
    this.top = (k.heapBase() + 15) & ~15;
  }
  take(bytes: number): number {
    const at = this.top;
    this.top = (this.top + bytes + SLACK + 15) & ~15;
    return at;
  }
  /** Grows the memory to hold everything taken; returns its buffer (growing detaches the old one). */
  commit(): ArrayBuffer {
    const have = this.k.memory.buffer.byteLength;
    if (this.top > have) this.k.memory.grow(Math.ceil((this.top - have) / 65536));
    return this.k.memory.buffer;
  }
}

/** Takes room for chroma planes and two sets of taps, and fills it once committed. */
function inputs(a: Arena, u: Float32Array, v: Float32Array, ax: Taps, ay: Taps) {
  const at = {
    u: a.take(u.byteLength),
    v: a.take(v.byteLength),
    ax: [a.take(ax.i0.length * 4), a.take(ax.i0.length * 4), a.take(ax.i0.length * 4)],
    ay: [a.take(ay.i0.length * 4), a.take(ay.i0.length * 4), a.take(ay.i0.length * 4)],
  };
  const fill = (mem: ArrayBuffer): void => {
    new Float32Array(mem, at.u, u.length).set(u);
    new Float32Array(mem, at.v, v.length).set(v);
    for (const [t, p] of [
      [ax, at.ax],
      [ay, at.ay],
    ] as const) {
      new Int32Array(mem, p[0], t.i0.length).set(t.i0);
      new Int32Array(mem, p[1], t.i1.length).set(t.i1);
      new Float32Array(mem, p[2], t.f.length).set(t.f);
    }
  };
  return { at, fill };
}

export interface MergeJob {
  width: number;
  height: number;
  /** Rows [y0, y1) of the image are merged. */
  y0: number;
  y1: number;
  /** The original's samples (the whole image), and how to read them. */
  data: Uint8Array | Uint16Array;
  channels: 1 | 3;
  /** Output scale per input sample (S / input max). */
  kIn: number;
  /** Interleaved RGB output for the whole image; rows [y0, y1) are written. */
  out: Uint8Array | Uint16Array;
  u: Float32Array;
  v: Float32Array;
  cw: number;
  ax: Taps;
  ay: Taps;
  /** Output levels per unit of U/V: R−Y = rv·V, G−Y = gu·U + gv·V, B−Y = bu·U. */
  rv: number;
  gu: number;
  gv: number;
  bu: number;
}

export function runMergeKernel(j: MergeJob): void {
  const k = instance();
  const { width } = j;
  const in16 = j.data instanceof Uint16Array;
  const out16 = j.out instanceof Uint16Array;
  const inBpp = j.channels * (in16 ? 2 : 1);
  const outBpp = out16 ? 6 : 3;
  const rows = Math.max(1, Math.min(j.y1 - j.y0, Math.floor(BAND_BYTES / (width * outBpp))));
  const stride = k.scratchFloats(width);
  const a = new Arena(k);
  const { at, fill } = inputs(a, j.u, j.v, j.ax, j.ay);
  const rowA = a.take(stride * 12);
  const rowB = a.take(stride * 12);
  const lrow = a.take(stride * 4);
  const groups = a.take(k.widenTableBytes(width));
  const pin = a.take(rows * width * inBpp);
  const pout = a.take(rows * width * outBpp);
  const mem = a.commit();
  fill(mem);
  const bytes = new Uint8Array(mem);
  const src = new Uint8Array(j.data.buffer, j.data.byteOffset, j.data.byteLength);
  const dst = new Uint8Array(j.out.buffer, j.out.byteOffset, j.out.byteLength);
  const fmt = (j.channels === 1 ? 0 : 2) + (in16 ? 1 : 0);
  k.reset(rowA, rowB);
  const widen = k.prepareWiden(width, at.ax[0], at.ax[1], groups) ? groups : 0;
  for (let y0 = j.y0; y0 < j.y1; y0 += rows) {
    const y1 = Math.min(j.y1, y0 + rows);
    bytes.set(src.subarray(y0 * width * inBpp, y1 * width * inBpp), pin);
    // prettier-ignore
    k.mergeBand(
      width, y0, y1,
      pin, fmt, j.kIn,
      pout, out16 ? 1 : 0, out16 ? 65535 : 255,
      at.u, at.v, j.cw,
      at.ax[0], at.ax[1], at.ax[2],
      at.ay[0], at.ay[1], at.ay[2],
      j.rv, j.gu, j.gv, j.bu,
      lrow, widen,
    );
    dst.set(bytes.subarray(pout, pout + (y1 - y0) * width * outBpp), y0 * width * outBpp);
  }
}

export interface YuvChromaJob {
  /** Even frame size; luma is width × height bytes. */
  width: number;
  height: number;
  luma: Uint8Array;
  u: Float32Array;
  v: Float32Array;
  cw: number;
  /** Taps from the prediction to the chroma grid (width / 2 and height / 2 entries). */
  ax: Taps;
  ay: Taps;
  /** Colour differences per unit of U/V (saturation included). */
  bu: number;
  rv: number;
  /** The frame's luma weights, Cb/Cr codes per unit of colour difference, luma code → 0..1. */
  kr: number;
  kb: number;
  cbK: number;
  crK: number;
  yOff: number;
  invYs: number;
}

export function runYuvChromaKernel(j: YuvChromaJob): { u: Uint8Array; v: Uint8Array } {
  const k = instance();
  const { width } = j;
  const CW = width >> 1;
  const CH = j.height >> 1;
  const outU = new Uint8Array(CW * CH);
  const outV = new Uint8Array(CW * CH);
  const rows = Math.max(1, Math.min(CH, Math.floor(BAND_BYTES / (2 * width))));
  const stride = k.scratchFloats(CW);
  const a = new Arena(k);
  const { at, fill } = inputs(a, j.u, j.v, j.ax, j.ay);
  const rowA = a.take(stride * 8);
  const rowB = a.take(stride * 8);
  const pin = a.take(rows * 2 * width);
  const pu = a.take(rows * CW);
  const pv = a.take(rows * CW);
  const mem = a.commit();
  fill(mem);
  const bytes = new Uint8Array(mem);
  k.resetYuv(rowA, rowB);
  for (let j0 = 0; j0 < CH; j0 += rows) {
    const j1 = Math.min(CH, j0 + rows);
    bytes.set(j.luma.subarray(2 * j0 * width, 2 * j1 * width), pin);
    // prettier-ignore
    k.yuvChromaBand(
      width, j0, j1,
      pin, pu, pv,
      at.u, at.v, j.cw,
      at.ax[0], at.ax[1], at.ax[2],
      at.ay[0], at.ay[1], at.ay[2],
      j.bu, j.rv, j.kr, j.kb, j.cbK, j.crK, j.yOff, j.invYs,
    );
    outU.set(bytes.subarray(pu, pu + (j1 - j0) * CW), j0 * CW);
    outV.set(bytes.subarray(pv, pv + (j1 - j0) * CW), j0 * CW);
  }
  return { u: outU, v: outV };
}
