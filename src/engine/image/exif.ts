import { crc32 } from 'node:zlib';

/**
 * sharp can only re-attach EXIF as string fields, which loses most tags. Tintype outputs are
 * re-encoded from raw pixels, so the original EXIF block is spliced into the encoded file instead
 * (JPEG APP1, PNG eXIf, WebP EXIF chunk), with the orientation reset: the pixels are already
 * upright. TIFF output carries no EXIF: its EXIF lives in the TIFF's own IFD tree, which libvips
 * does not write (the XMP note and the ICC profile are kept there).
 */

const EXIF_HEADER = Buffer.from('Exif\0\0', 'binary');

/** The TIFF structure inside an EXIF block, without sharp's/JPEG's "Exif\0\0" prefix. */
function tiffPart(exif: Buffer): Buffer {
  return exif.subarray(0, 6).equals(EXIF_HEADER) ? exif.subarray(6) : exif;
}

/** A copy of the EXIF block whose IFD0 Orientation (0x0112) says 1 (upright). */
function withUprightOrientation(exif: Buffer): Buffer {
  const out = Buffer.from(exif);
  const start = out.subarray(0, 6).equals(EXIF_HEADER) ? 6 : 0;
  const t = out.subarray(start);
  if (t.length < 8) return out;
  const le = t.toString('binary', 0, 2) === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > t.length) return out;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) break;
    if (u16(e) === 0x0112) {
      if (le) t.writeUInt16LE(1, e + 8);
      else t.writeUInt16BE(1, e + 8);
    }
  }
  return out;
}

function spliceJpeg(jpeg: Buffer, exif: Buffer): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  const payload = Buffer.concat([EXIF_HEADER, tiffPart(exif)]);
  if (payload.length + 2 > 0xffff) return jpeg; // does not fit one APP1 segment
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xffe1, 0);
  segment.writeUInt16BE(payload.length + 2, 2);
  // After SOI and a JFIF APP0 if present, before everything else.
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, at), segment, payload, jpeg.subarray(at)]);
}

function splicePng(png: Buffer, exif: Buffer): Buffer {
  // Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 crc) = 33 bytes.
  if (png.length < 33 || png.toString('binary', 12, 16) !== 'IHDR') return png;
  const data = tiffPart(exif);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write('eXIf', 4, 'binary');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([png.subarray(0, 33), head, data, crc, png.subarray(33)]);
}

function spliceWebp(webp: Buffer, exif: Buffer): Buffer {
  // Only the extended format (VP8X) can carry EXIF; Tintype's WebP always has XMP, hence VP8X.
  if (webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 12, 16) !== 'VP8X') return webp;
  const data = tiffPart(exif);
  const head = Buffer.alloc(8);
  head.write('EXIF', 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  const pad = data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0);
  const out = Buffer.concat([webp, head, data, pad]);
  out.writeUInt32LE(out.length - 8, 4);
  out[20] |= 0x08; // VP8X flags: EXIF present
  return out;
}

/** Inserts EXIF into an encoded JPEG, PNG or WebP; other formats are returned unchanged. */
export function spliceExif(encoded: Buffer, format: string, exif: Buffer | undefined): Buffer {
  if (!exif || exif.length < 8) return encoded;
  const upright = withUprightOrientation(exif);
  if (format === 'jpeg') return spliceJpeg(encoded, upright);
  if (format === 'png') return splicePng(encoded, upright);
  if (format === 'webp') return spliceWebp(encoded, upright);
  return encoded;
}
