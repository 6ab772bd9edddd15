/**
 * Damaged inputs made on the fly: pictures cut at several points, and TIFFs laid out the way
 * scanners write them (directory first, pixel strips after), which a cut in the pixel data leaves
 * with a readable header.
 */
import sharp from 'sharp';

/** An uncompressed 8-bit TIFF, IFD before the pixels, `rowsPerStrip` rows per strip. */
export function scannerTiff(width: number, height: number, channels: 1 | 3, rowsPerStrip: number): Buffer {
  const pixelBytes = width * height * channels;
  const strips = Math.ceil(height / rowsPerStrip);
  const entries = 10;
  const ifd = 8;
  const bpsAt = ifd + 2 + entries * 12 + 4;
  const offsetsAt = bpsAt + 8;
  const countsAt = offsetsAt + 4 * strips;
  const dataAt = countsAt + 4 * strips;
  const buf = Buffer.alloc(dataAt + pixelBytes);
  buf.write('II', 0);
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(ifd, 4);
  let o = ifd;
  buf.writeUInt16LE(entries, o);
  o += 2;
  const tag = (t: number, type: 3 | 4, count: number, value: number) => {
    buf.writeUInt16LE(t, o);
    buf.writeUInt16LE(type, o + 2);
    buf.writeUInt32LE(count, o + 4);
    if (type === 3 && count === 1) buf.writeUInt16LE(value, o + 8);
    else buf.writeUInt32LE(value, o + 8);
    o += 12;
  };
  tag(256, 4, 1, width);
  tag(257, 4, 1, height);
  tag(258, 3, channels, channels === 1 ? 8 : bpsAt);
  tag(259, 3, 1, 1); // no compression
  tag(262, 3, 1, channels === 1 ? 1 : 2);
  tag(273, 4, strips, strips === 1 ? dataAt : offsetsAt);
  tag(277, 3, 1, channels);
  tag(278, 4, 1, rowsPerStrip);
  tag(279, 4, strips, strips === 1 ? pixelBytes : countsAt);
  tag(284, 3, 1, 1);
  buf.writeUInt32LE(0, o);
  for (let i = 0; i < 3; i++) buf.writeUInt16LE(8, bpsAt + 2 * i);
  for (let s = 0; s < strips; s++) {
    const rows = Math.min(rowsPerStrip, height - s * rowsPerStrip);
    buf.writeUInt32LE(dataAt + s * rowsPerStrip * width * channels, offsetsAt + 4 * s);
    buf.writeUInt32LE(rows * width * channels, countsAt + 4 * s);
  }
  // Never 0, so a half-black decode would be visible in a test that looked.
  for (let i = 0; i < pixelBytes; i++) buf[dataAt + i] = ((i * 7) % 250) + 1;
  return buf;
}

/** The same picture in every format Tintype reads, as whole files. */
export async function wholePictures(width = 160, height = 120): Promise<Record<string, Buffer>> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = ((i * 7) % 250) + 1;
  const base = () => sharp(px, { raw: { width, height, channels: 3 } });
  return {
    'scan.tif': scannerTiff(width, height, 3, height),
    'strips.tif': scannerTiff(width, height, 3, 16),
    'grey.tif': scannerTiff(width, height, 1, 8),
    'lzw.tif': await base().tiff({ compression: 'lzw' }).toBuffer(),
    'deep.tif': await base().toColourspace('rgb16').tiff({ compression: 'none' }).toBuffer(),
    'photo.png': await base().png().toBuffer(),
    'photo.jpg': await base().jpeg().toBuffer(),
    'progressive.jpg': await base().jpeg({ progressive: true }).toBuffer(),
    'photo.webp': await base().webp().toBuffer(),
    'lossless.webp': await base().webp({ lossless: true }).toBuffer(),
    'photo.gif': await base().gif().toBuffer(),
  };
}

/**
 * Where files are cut: early (header), through the pixel data, and 64 bytes short of the end (the
 * last pixels; a PNG that loses only its 12-byte IEND trailer still has every pixel and may load).
 */
export function cutPoints(length: number): number[] {
  return [...[0.1, 0.35, 0.5, 0.75, 0.95].map((f) => Math.floor(length * f)), length - 64];
}
