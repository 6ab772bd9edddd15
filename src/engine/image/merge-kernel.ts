import { MERGE_WASM } from './merge-wasm';

/**
 * The WebAssembly side of mergeLumaChroma (native/merge.ts, 128-bit SIMD): about 2.5× less CPU than
 * the JavaScript loop it replaced at 12 MP, the same pixels within 1 level. One instance per
 * thread; its memory holds the chroma planes, the bilinear taps and one band of rows in and out at a
 * time, so it stays a few MB whatever the photo's size.
 */
interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchFloats(width: number): number;
  reset(rowA: number, rowB: number): void;
  mergeBand(...args: number[]): void;
}

let kernel: Exports | undefined;
function instance(): Exports {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(MERGE_WASM, 'base64')), {})
    .exports as unknown as Exports;
  return kernel;
}

/** Output bytes of one band: 128 KB stays in L2 beside its input (12 MP: 103 ms at 128 KB, 132 ms at 1 MB, 138 ms at 4 MB). */
const BAND_BYTES = 1 << 17;
/** Room past each buffer for the kernel's whole-lane reads and writes. */
const SLACK = 64;

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
  ch: number;
  ax: { i0: Int32Array; i1: Int32Array; f: Float32Array };
  ay: { i0: Int32Array; i1: Int32Array; f: Float32Array };
  /** Output levels per unit of U/V: R−Y = rv·V, G−Y = gu·U + gv·V, B−Y = bu·U. */
  rv: number;
  gu: number;
  gv: number;
  bu: number;
}

export function runMergeKernel(j: MergeJob): void {
  const k = instance();
  const { width, height } = j;
  const in16 = j.data instanceof Uint16Array;
  const out16 = j.out instanceof Uint16Array;
  const inBpp = j.channels * (in16 ? 2 : 1);
  const outBpp = out16 ? 6 : 3;
  const rows = Math.max(1, Math.min(j.y1 - j.y0, Math.floor(BAND_BYTES / (width * outBpp))));
  const stride = k.scratchFloats(width);
  let top = (k.heapBase() + 15) & ~15;
  const take = (bytes: number): number => {
    const at = top;
    top = (top + bytes + SLACK + 15) & ~15;
    return at;
  };
  const pu = take(j.u.byteLength);
  const pv = take(j.v.byteLength);
  const ax = [take(width * 4), take(width * 4), take(width * 4)];
  const ay = [take(height * 4), take(height * 4), take(height * 4)];
  const rowA = take(stride * 12);
  const rowB = take(stride * 12);
  const lrow = take(stride * 4);
  const pin = take(rows * width * inBpp);
  const pout = take(rows * width * outBpp);
  const have = k.memory.buffer.byteLength;
  if (top > have) k.memory.grow(Math.ceil((top - have) / 65536));
  // Views after growing: growth detaches the old buffer.
  const mem = k.memory.buffer;
  new Float32Array(mem, pu, j.u.length).set(j.u);
  new Float32Array(mem, pv, j.v.length).set(j.v);
  new Int32Array(mem, ax[0], width).set(j.ax.i0);
  new Int32Array(mem, ax[1], width).set(j.ax.i1);
  new Float32Array(mem, ax[2], width).set(j.ax.f);
  new Int32Array(mem, ay[0], height).set(j.ay.i0);
  new Int32Array(mem, ay[1], height).set(j.ay.i1);
  new Float32Array(mem, ay[2], height).set(j.ay.f);
  const bytes = new Uint8Array(mem);
  const src = new Uint8Array(j.data.buffer, j.data.byteOffset, j.data.byteLength);
  const dst = new Uint8Array(j.out.buffer, j.out.byteOffset, j.out.byteLength);
  const fmt = (j.channels === 1 ? 0 : 2) + (in16 ? 1 : 0);
  k.reset(rowA, rowB);
  for (let y0 = j.y0; y0 < j.y1; y0 += rows) {
    const y1 = Math.min(j.y1, y0 + rows);
    bytes.set(src.subarray(y0 * width * inBpp, y1 * width * inBpp), pin);
    k.mergeBand(
      width,
      y0,
      y1,
      pin,
      fmt,
      j.kIn,
      pout,
      out16 ? 1 : 0,
      out16 ? 65535 : 255,
      pu,
      pv,
      j.cw,
      ax[0],
      ax[1],
      ax[2],
      ay[0],
      ay[1],
      ay[2],
      j.rv,
      j.gu,
      j.gv,
      j.bu,
      lrow,
    );
    dst.set(bytes.subarray(pout, pout + (y1 - y0) * width * outBpp), y0 * width * outBpp);
  }
}
