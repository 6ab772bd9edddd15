import { TILES_WASM } from './tiles-wasm';

/**
 * The WebAssembly side of tiled inference (native/tiles.ts): cutting tiles to float, blending the
 * model's output with feather weights and writing rows back to 8/16 bits, the same values bit for
 * bit as the JavaScript loops it replaced. runTiled awaits the model between tiles, so two calls may
 * interleave on one thread: each call gets its own instance (its memory, a band of rows, goes with
 * it), and the compiled module is shared.
 */
interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  cutTile(...args: number[]): void;
  blendTile(...args: number[]): void;
  writeRows(...args: number[]): void;
  slide(buf: number, rows: number, bandRows: number, rowBytes: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** Bytes of output rows written back a chunk at a time (stays in cache beside the accumulators). */
const CHUNK_BYTES = 1 << 18;

export interface TileLayout {
  /** Source frame: width, channels, 16-bit samples. */
  width: number;
  channels: number;
  wide: boolean;
  /** Frames cut per tile (1, or 3 for a model that takes neighbours). */
  frames: number;
  /** Model input tile (padded) and the part of it taken from the picture. */
  pw: number;
  ph: number;
  tileW: number;
  tileH: number;
  /** Planes the model takes (channels × frames). */
  planes: number;
  scale: number;
  /** Accumulator band: rows, pixels a row, channels; output row width and 16-bit output. */
  bandRows: number;
  eow: number;
  outChannels: number;
  outWidth: number;
  outWide: boolean;
}

/** One runTiled call's buffers in its own kernel instance. */
export class TileKernel {
  private readonly k: Exports;
  private readonly at: Record<
    'acc' | 'wsum' | 'res' | 'input' | 'wy' | 'wx' | 'rows' | 'cols' | 'out',
    number
  >;
  private readonly bands: number[];
  private readonly chunkRows: number;
  private readonly mem: ArrayBuffer;

  constructor(private readonly l: TileLayout) {
    compiled ??= new WebAssembly.Module(Buffer.from(TILES_WASM, 'base64'));
    this.k = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports;
    let top = (this.k.heapBase() + 15) & ~15;
    const take = (bytes: number) => {
      const a = top;
      top = (top + bytes + 15) & ~15;
      return a;
    };
    const outBytes = l.outWide ? 2 : 1;
    const rowOut = l.outWidth * l.outChannels * outBytes;
    this.chunkRows = Math.max(1, Math.floor(CHUNK_BYTES / rowOut));
    this.at = {
      acc: take(l.bandRows * l.eow * l.outChannels * 4),
      wsum: take(l.bandRows * l.eow * 4),
      res: take(l.ph * l.scale * l.pw * l.scale * 3 * 4),
      input: take(l.planes * l.ph * l.pw * 4),
      wy: take(l.tileH * 4),
      wx: take(l.tileW * 4),
      rows: take(l.ph * 4),
      cols: take(l.pw * 4),
      out: take(this.chunkRows * rowOut),
    };
    this.bands = Array.from({ length: l.frames }, () =>
      take(l.ph * l.width * l.channels * (l.wide ? 2 : 1)),
    );
    const have = this.k.memory.buffer.byteLength;
    if (top > have) this.k.memory.grow(Math.ceil((top - have) / 65536));
    this.mem = this.k.memory.buffer;
    // Band row y starts at element y × width × channels of every frame's band.
    const rows = new Int32Array(this.mem, this.at.rows, l.ph);
    for (let y = 0; y < l.ph; y++) rows[y] = y * l.width * l.channels;
  }

  /** Copies frame f's source rows (one per tile row, already mirrored into the picture) into its band. */
  loadBand(f: number, data: Uint8Array | Uint16Array, srcRows: ArrayLike<number>): void {
    const n = this.l.width * this.l.channels;
    const band = this.l.wide
      ? new Uint16Array(this.mem, this.bands[f], this.l.ph * n)
      : new Uint8Array(this.mem, this.bands[f], this.l.ph * n);
    for (let y = 0; y < this.l.ph; y++) band.set(data.subarray(srcRows[y] * n, (srcRows[y] + 1) * n), y * n);
  }

  /** Source columns of the tile (mirrored into the picture), for the next cuts. */
  setColumns(cols: ArrayLike<number>): void {
    const c = new Int32Array(this.mem, this.at.cols, this.l.pw);
    for (let x = 0; x < this.l.pw; x++) c[x] = cols[x] * this.l.channels;
  }

  /** Cuts frame f's planes (nch channels, source channel sel or each in turn when sel < 0) into input. */
  cut(f: number, nch: number, sel: number, srcMax: number): void {
    const l = this.l;
    const dst = this.at.input + f * nch * l.ph * l.pw * 4;
    this.k.cutTile(this.bands[f], l.wide ? 1 : 0, this.at.rows, this.at.cols, l.pw, l.ph, l.channels, nch, sel, dst, srcMax);
  }

  /** The model input cut so far, as a copy (the model may keep it while the next tile is cut). */
  input(): Float32Array {
    return new Float32Array(this.mem, this.at.input, this.l.planes * this.l.ph * this.l.pw).slice();
  }

  /** Blends a tile's output (see native/tiles.ts blendTile for the modes). */
  blend(
    res: { data: Float32Array; width: number; height: number; channels: number },
    wy: Float32Array,
    wx: Float32Array,
    ay0: number,
    ax0: number,
    mode: number,
    pass: number,
  ): void {
    const l = this.l;
    new Float32Array(this.mem, this.at.res, res.data.length).set(res.data);
    new Float32Array(this.mem, this.at.wy, l.tileH).set(wy);
    new Float32Array(this.mem, this.at.wx, l.tileW).set(wx);
    this.k.blendTile(
      this.at.acc, this.at.wsum, this.at.res, res.width, res.height, res.channels,
      l.tileH * l.scale, l.tileW * l.scale, l.scale, this.at.wy, this.at.wx, ay0, ax0, l.eow, mode, pass,
    );
  }

  /**
   * Writes band rows [r0, r1) to out from element `at` on, then slides the band up by `rows` rows.
   * ps: the mirrored pad in output pixels on each side of a band row.
   */
  flush(r0: number, r1: number, ps: number, outMax: number, out: Uint8Array | Uint16Array, at: number, rows: number): void {
    const l = this.l;
    const n = l.outWidth * l.outChannels;
    for (let r = r0; r < r1; r += this.chunkRows) {
      const e = Math.min(r1, r + this.chunkRows);
      this.k.writeRows(this.at.acc, this.at.wsum, r, e, l.eow, l.outWidth, ps, l.outChannels, outMax, this.at.out, l.outWide ? 1 : 0);
      const view = l.outWide
        ? new Uint16Array(this.mem, this.at.out, (e - r) * n)
        : new Uint8Array(this.mem, this.at.out, (e - r) * n);
      out.set(view, at + (r - r0) * n);
    }
    this.k.slide(this.at.acc, rows, l.bandRows, l.eow * l.outChannels * 4);
    this.k.slide(this.at.wsum, rows, l.bandRows, l.eow * 4);
  }
}
