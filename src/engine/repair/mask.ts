import sharp from 'sharp';
import type { MaskStroke } from '../../shared/repair';
import { fileError } from '../errors';
import { writeFileAtomic } from '../fs/atomic';
import { readImage } from '../image/io';

/**
 * A repair mask: one byte per pixel of the picture, 255 = repair (damaged), 0 = keep. The same
 * convention as the files people give (`--mask`, white = repair) and the file `--save-mask` writes.
 */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

const raw1 = (width: number, height: number) => ({ raw: { width, height, channels: 1 as const } });

/** Mid-grey and lighter counts as "repair": masks saved with antialiased brushes or as JPEG stay usable. */
const WHITE_FROM = 128;

/**
 * Reads the user's mask for a picture of `width`×`height` (after EXIF orientation, like the picture):
 * a greyscale image of exactly that size, white = repair. Transparent parts of a mask with alpha count
 * as black. Anything else is refused with the file's name and what is wrong.
 */
export async function readMask(path: string, width: number, height: number): Promise<Mask> {
  // readImage gives every check a picture gets (missing, damaged, truncated, too large, not an image).
  const { raster, alpha } = await readImage(path);
  if (raster.width !== width || raster.height !== height) {
    throw fileError(
      path,
      `the mask is ${raster.width}×${raster.height} but the picture is ${width}×${height}; a mask must be the picture's size`,
      'BAD_ARGUMENT',
    );
  }
  const { data, depth } = raster;
  let grey = sharp(data, raw1(width, height));
  if (raster.channels === 3) {
    // A grey mask saved as RGB is still grey; a coloured one is a mistake (a photo given as the mask?).
    const planes = await Promise.all(
      ([0, 1, 2] as const).map((c) =>
        sharp(data, { raw: { width, height, channels: 3 } })
          .extractChannel(c)
          .raw({ depth: depth === 16 ? 'ushort' : 'uchar' })
          .toBuffer(),
      ),
    );
    if (!planes[0].equals(planes[1]) || !planes[0].equals(planes[2])) {
      throw fileError(
        path,
        'the mask is a colour image; give a greyscale one (white = repair, black = keep)',
        'BAD_ARGUMENT',
      );
    }
    grey = sharp(
      depth === 16 ? new Uint16Array(planes[0].buffer, planes[0].byteOffset, width * height) : planes[0],
      raw1(width, height),
    );
  }
  if (alpha) {
    const a = sharp(alpha, raw1(width, height));
    grey = sharp(
      await grey
        .joinChannel(
          await a.raw({ depth: depth === 16 ? 'ushort' : 'uchar' }).toBuffer(),
          raw1(width, height),
        )
        .flatten({ background: '#000000' })
        .raw({ depth: depth === 16 ? 'ushort' : 'uchar' })
        .toBuffer(),
      raw1(width, height),
    );
  }
  // To 8 bits first (threshold compares in 0..255), then binary.
  const eight = await grey.toColourspace('b-w').raw({ depth: 'uchar' }).toBuffer();
  return { width, height, data: await binary(eight, width, height, WHITE_FROM) };
}

/** 255 where v >= threshold (0..255), else 0. */
export async function binary(
  data: Uint8Array,
  width: number,
  height: number,
  threshold: number,
): Promise<Uint8Array> {
  const out = await sharp(data, raw1(width, height))
    .threshold(Math.min(255, Math.max(1, Math.round(threshold))))
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * The mask grown by `by` pixels in every direction (a square structuring element, as two 1-D sums:
 * any marked pixel within reach saturates the sum, the threshold makes it 255 again).
 */
export async function growMask(mask: Mask, by: number): Promise<Mask> {
  if (by <= 0) return mask;
  const { width, height } = mask;
  const k = 2 * by + 1;
  // sharp wants kernels of at least 3×3: a 1-D sum is the middle row (column) of a k×3 (3×k) one.
  const row = Array.from({ length: 3 * k }, (_, i) => (i >= k && i < 2 * k ? 1 : 0));
  const col = Array.from({ length: 3 * k }, (_, i) => (i % 3 === 1 ? 1 : 0));
  const across = await sharp(mask.data, raw1(width, height))
    .convolve({ width: k, height: 3, kernel: row, scale: 1 })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const down = await sharp(across, raw1(width, height))
    .convolve({ width: 3, height: k, kernel: col, scale: 1 })
    .threshold(1)
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(down.buffer, down.byteOffset, down.length) };
}

/** Writes the mask as an 8-bit greyscale PNG (white = repair), atomically. */
export async function writeMask(path: string, mask: Mask, opts: { overwrite?: boolean } = {}): Promise<void> {
  const png = await sharp(mask.data, raw1(mask.width, mask.height)).toColourspace('b-w').png().toBuffer();
  await writeFileAtomic(path, png, opts);
}

/** Whether any pixel of rows [y0, y1) × columns [x0, x1) is marked; compares whole rows natively (memcmp). */
export function anyMarked(mask: Mask, x0: number, y0: number, x1: number, y1: number): boolean {
  const zeros = ZERO_ROW.length >= x1 - x0 ? ZERO_ROW : (ZERO_ROW = Buffer.alloc(x1 - x0));
  const z = zeros.subarray(0, x1 - x0);
  const buf = Buffer.from(mask.data.buffer, mask.data.byteOffset, mask.data.length);
  for (let y = y0; y < y1; y++) {
    const start = y * mask.width;
    if (!buf.subarray(start + x0, start + x1).equals(z)) return true;
  }
  return false;
}
let ZERO_ROW = Buffer.alloc(4096);

/** An empty mask (nothing to repair) of a picture's size. */
export const emptyMask = (width: number, height: number): Mask => ({
  width,
  height,
  data: new Uint8Array(width * height),
});

/**
 * The mask with the user's strokes painted on in order: a stroke adds its pixels, an eraser stroke
 * takes them out (so a later stroke wins over an earlier one and over what was found). The strokes
 * are drawn as SVG by librsvg (round brushes, a dab for a single point) and composited natively.
 */
export async function applyStrokes(mask: Mask, strokes: readonly MaskStroke[]): Promise<Mask> {
  if (strokes.length === 0) return mask;
  const { width, height } = mask;
  const n = (v: number) => (Math.round(v * 100) / 100).toString();
  const shapes = strokes.map((s) => {
    const colour = s.erase ? '#000' : '#fff';
    if (s.points.length === 1) {
      const [[x, y]] = s.points;
      return `<circle cx="${n(x)}" cy="${n(y)}" r="${n(s.radius)}" fill="${colour}"/>`;
    }
    const pts = s.points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ');
    return `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="${n(2 * s.radius)}" stroke-linecap="round" stroke-linejoin="round"/>`;
  });
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${shapes.join('')}</svg>`,
  );
  const painted = await sharp(mask.data, raw1(width, height))
    .composite([{ input: svg, left: 0, top: 0 }])
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return { width, height, data: await binary(painted, width, height, WHITE_FROM) };
}
