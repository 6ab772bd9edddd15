import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';

// libvips' operation cache keeps recent inputs alive; every engine call has new pixels, so over a
// film it only grows memory (measured: ~1 GB more after 240 1080p frames).
sharp.cache(false);
import { errnoCode, errorMessage, fileError, ioProblem, TintypeError } from '../errors';
import { writeFileAtomic } from '../fs/atomic';
import type { OutputFormat, Raster } from '../types';
import { spliceExif } from './exif';

/**
 * How strict decoding is. 'truncated' misses libtiff's short-strip message (a TIFF cut in its pixel
 * data decoded half black); 'error' refuses every file a decoder reports an error for, while the
 * warnings valid files often carry (unknown TIFF tags, odd EXIF) still pass. libjpeg is the
 * exception: it reports damaged entropy data only as a warning ("Corrupt JPEG data: premature end
 * of data segment") and fills the rest grey, so JPEGs are decoded at 'warning' (see decodeStrictly).
 */
export const DECODE_FAIL_ON = 'error' as const;

/** The one "Corrupt JPEG data" warning that leaves every pixel intact: junk after the image data. */
const HARMLESS_JPEG_WARNING = /extraneous bytes before marker/i;

/**
 * Runs a sharp decode at the strictness the file's format needs: JPEGs at 'warning' (their damage
 * is only a warning), retried at 'error' when the warning was the harmless one; others at 'error'.
 */
export async function decodeStrictly<T>(
  format: string | undefined,
  decode: (failOn: 'warning' | typeof DECODE_FAIL_ON) => Promise<T>,
): Promise<T> {
  if (format !== 'jpeg') return decode(DECODE_FAIL_ON);
  try {
    return await decode('warning');
  } catch (err) {
    if (!HARMLESS_JPEG_WARNING.test(errorMessage(err))) throw err;
    return decode(DECODE_FAIL_ON);
  }
}

/** Larger images are refused before decoding: a "pixel bomb" declares huge dimensions in a tiny file. */
export const MAX_INPUT_PIXELS = 16384 * 16384;

import { READABLE_FORMATS } from './formats';
export { IMAGE_EXTENSIONS, READABLE_FORMATS } from './formats';

export interface LoadedImage {
  /** Upright (EXIF orientation applied), in sRGB, alpha removed. */
  raster: Raster;
  /** The alpha channel, one sample per pixel at the raster's depth; carried through untouched. */
  alpha?: Uint8Array | Uint16Array;
  format: (typeof READABLE_FORMATS)[number];
  exif?: Buffer;
  icc?: Buffer;
  density?: number;
}

function typed(buf: Buffer, depth: 8 | 16): Uint8Array | Uint16Array {
  if (depth === 8) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  // Copy so the samples are aligned regardless of the Buffer's pool offset.
  const out = new Uint16Array(buf.byteLength / 2);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Reads an image for processing, with errors that name the file and the problem. */
/** Why Tintype will not decode an image sharp could parse the header of, or null when it will. */
export function unsupportedReason(meta: Pick<Metadata, 'format' | 'compression'>): string | null {
  const format = meta.format as string;
  if (!(READABLE_FORMATS as readonly string[]).includes(format))
    return `unsupported format "${format}" (Tintype reads JPEG, PNG, TIFF, WebP, GIF, AVIF and HEIC)`;
  // Phones save HEIC with HEVC, whose (patent-encumbered) decoder this build's libvips lacks: say so
  // up front rather than fail inside the decoder with a codec message.
  if (format === 'heif' && meta.compression === 'hevc')
    return 'HEIC photo compressed with HEVC (as phones save them), which Tintype cannot decode; export it as JPEG or PNG first';
  return null;
}

/** The format a file's first bytes announce (magic numbers), or undefined. */
async function signatureOf(path: string): Promise<string | undefined> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      head = Buffer.alloc(16);
      await fh.read(head, 0, 16, 0);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'JPEG';
  if (head.readUInt32BE(0) === 0x89504e47) return 'PNG';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'TIFF';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WebP';
  if (ascii(0, 4) === 'GIF8') return 'GIF';
  if (ascii(4, 8) === 'ftyp') return /^(avif|avis)/.test(ascii(8, 12)) ? 'AVIF' : 'HEIF';
  return undefined;
}

export async function readImage(path: string): Promise<LoadedImage> {
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw fileError(path, 'is a folder, not an image', 'NOT_IMAGE');
    // A named pipe or a device would block the decoder forever (or read without end).
    if (!s.isFile()) throw fileError(path, 'is not a regular file (a pipe, socket or device)', 'NOT_IMAGE');
    size = s.size;
  } catch (err) {
    if (err instanceof TintypeError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === undefined) throw fileError(path, 'file not found', 'ENOENT', err);
    throw fileError(path, `cannot read: ${ioProblem(err, path) ?? errorMessage(err)}`, 'NOT_IMAGE', err);
  }
  if (size === 0) throw fileError(path, 'file is empty (0 bytes)', 'EMPTY');

  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (err) {
    const msg = errorMessage(err);
    const looksLike = await signatureOf(path);
    if (looksLike) {
      // The first bytes say what it is, yet no decoder accepts it: a damaged or cut-off file.
      throw fileError(
        path,
        `${looksLike} image is damaged or truncated (cannot read its header: ${msg.split('\n')[0]})`,
        'CORRUPT_IMAGE',
        err,
      );
    }
    if (/unsupported image format/i.test(msg)) {
      throw fileError(
        path,
        'not an image Tintype can read (JPEG, PNG, TIFF, WebP, GIF, AVIF or HEIC expected)',
        'NOT_IMAGE',
        err,
      );
    }
    throw fileError(
      path,
      `image is damaged or truncated (cannot read its header: ${msg})`,
      'CORRUPT_IMAGE',
      err,
    );
  }
  const format = meta.format as string;
  const unsupported = unsupportedReason(meta);
  if (unsupported) throw fileError(path, unsupported, 'UNSUPPORTED_FORMAT');
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw fileError(path, 'image has no pixels', 'CORRUPT_IMAGE');
  if (width * height > MAX_INPUT_PIXELS) {
    throw fileError(
      path,
      `declared size ${width}×${height} (${Math.round((width * height) / 1e6)} MP) is over the ${MAX_INPUT_PIXELS / 1e6} MP limit`,
      'TOO_LARGE',
    );
  }

  const depth: 8 | 16 = meta.depth === 'ushort' ? 16 : 8;
  const grey =
    meta.space === 'b-w' ||
    meta.space === 'grey16' ||
    meta.channels === 1 ||
    (meta.channels === 2 && meta.hasAlpha === true);
  const space = grey ? (depth === 16 ? 'grey16' : 'b-w') : depth === 16 ? 'rgb16' : 'srgb';
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await decodeStrictly(meta.format, (failOn) =>
      sharp(path, { limitInputPixels: MAX_INPUT_PIXELS, failOn })
        .autoOrient()
        .toColourspace(space)
        .raw({ depth: depth === 16 ? 'ushort' : 'uchar' })
        .toBuffer({ resolveWithObject: true }),
    );
  } catch (err) {
    const msg = errorMessage(err).split('\n')[0];
    throw fileError(path, `image data is damaged or truncated (${msg})`, 'CORRUPT_IMAGE', err);
  }
  const { info } = decoded;
  // A decoder that gives back another size than the header declared lost rows on the way.
  const turned = (meta.orientation ?? 1) >= 5;
  if (info.width !== (turned ? height : width) || info.height !== (turned ? width : height)) {
    throw fileError(
      path,
      `image data is damaged or truncated (decoded ${info.width}×${info.height}, the header says ${width}×${height})`,
      'CORRUPT_IMAGE',
    );
  }
  const samples = typed(decoded.data, depth);
  const colourChannels = grey ? 1 : 3;
  const hasAlpha = info.channels === colourChannels + 1;
  let data = samples;
  let alpha: Uint8Array | Uint16Array | undefined;
  if (hasAlpha || info.channels !== colourChannels) {
    const n = info.width * info.height;
    data = depth === 16 ? new Uint16Array(n * colourChannels) : new Uint8Array(n * colourChannels);
    if (hasAlpha) alpha = depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
    const stride = info.channels;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < colourChannels; c++) data[i * colourChannels + c] = samples[i * stride + c];
      if (alpha) alpha[i] = samples[i * stride + colourChannels];
    }
  }
  return {
    raster: { width: info.width, height: info.height, channels: colourChannels, depth, data },
    alpha,
    format: format as LoadedImage['format'],
    exif: meta.exif,
    icc: meta.icc,
    density: meta.density,
  };
}

/**
 * The photo already shrunk to size×size (aspect not kept), upright, 8-bit sRGB, read straight from
 * a JPEG or WebP file: their decoders can shrink while decoding (JPEG by 2/4/8 in the DCT), which
 * costs a fraction of a full decode and runs while the full-size decode does. Other formats have
 * no such shortcut (a second full decode would cost more than resizing the decoded raster), and
 * any failure is left to readImage to report: both return undefined.
 */
export async function readShrunk(path: string, size: number): Promise<Raster | undefined> {
  if (!/\.(jpe?g|webp)$/i.test(path)) return undefined;
  try {
    const { data, info } = await sharp(path, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'truncated' })
      .autoOrient()
      .resize(size, size, { fit: 'fill', kernel: 'cubic' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size) return undefined;
    return { width: size, height: size, channels: 3, depth: 8, data: typed(data, 8) };
  } catch {
    return undefined;
  }
}

export interface WriteOptions {
  format: OutputFormat;
  overwrite?: boolean;
  /** Keep 16-bit samples where the format allows it (PNG, TIFF). */
  keep16bit?: boolean;
  alpha?: Uint8Array | Uint16Array;
  exif?: Buffer;
  icc?: Buffer;
  density?: number;
  /** Recorded in XMP (dc:description and xmp:CreatorTool), e.g. "AI-colorized by Tintype with model X". */
  note?: string;
  watermark?: string;
  quality?: number;
  /** Background for transparent pixels when the format has no alpha (JPEG): '#rrggbb', default white. */
  background?: string;
}

/** '#rgb' or '#rrggbb' (the '#' optional) as 0..255 channels, or undefined when it is not a colour. */
export function parseHexColour(text: string): { r: number; g: number; b: number } | undefined {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text.trim());
  if (!m) return undefined;
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  return {
    r: parseInt(hex.slice(0, 2), 16),
    g: parseInt(hex.slice(2, 4), 16),
    b: parseInt(hex.slice(4, 6), 16),
  };
}

export function formatFromPath(path: string): OutputFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpg';
  if (ext === '.png') return 'png';
  if (ext === '.tif' || ext === '.tiff') return 'tif';
  if (ext === '.webp') return 'webp';
  return undefined;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmpPacket(note: string): string {
  const n = xmlEscape(note);
  return (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">' +
    `<xmp:CreatorTool>Tintype</xmp:CreatorTool><dc:description><rdf:Alt><rdf:li xml:lang="x-default">${n}</rdf:li></rdf:Alt></dc:description>` +
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
  );
}

/** True when an ICC profile describes the colour space the output has (RGB or grey). */
function iccMatches(icc: Buffer, channels: 1 | 3): boolean {
  if (icc.length < 20) return false;
  const space = icc.toString('latin1', 16, 20);
  return channels === 3 ? space === 'RGB ' : space === 'GRAY';
}

function to8bit(data: Uint16Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] + 128) / 257;
  return out;
}

function watermarkSvg(width: number, height: number, text: string): Buffer {
  const size = Math.max(10, Math.round(Math.min(width, height) / 40));
  const pad = Math.round(size * 0.6);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<text x="${width - pad}" y="${height - pad}" text-anchor="end" font-family="sans-serif" font-size="${size}" ` +
      `fill="white" fill-opacity="0.75" stroke="black" stroke-opacity="0.5" stroke-width="${Math.max(1, size / 16)}">${xmlEscape(text)}</text></svg>`,
  );
}

/** Burns the mark into the pixels (a composite would add an alpha band the output must not have). */
async function drawWatermark(
  data: Uint8Array | Uint16Array,
  raster: Raster,
  channels: number,
  sixteen: boolean,
  text: string,
): Promise<Uint8Array | Uint16Array> {
  let img = sharp(data, {
    raw: { width: raster.width, height: raster.height, channels: channels as 1 | 2 | 3 | 4 },
  });
  if (sixteen) img = img.toColourspace(raster.channels === 1 ? 'grey16' : 'rgb16');
  const { data: out, info } = await img
    .composite([{ input: watermarkSvg(raster.width, raster.height, text) }])
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const bytes = sixteen
    ? new Uint16Array(out.buffer, out.byteOffset, out.byteLength / 2)
    : new Uint8Array(out);
  if (info.channels === channels) return bytes;
  // Drop the alpha band the composite added; keep our own channels.
  const n = raster.width * raster.height;
  const res = sixteen ? new Uint16Array(n * channels) : new Uint8Array(n * channels);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++) res[i * channels + c] = bytes[i * info.channels + c];
  return res;
}

function hasTransparency(alpha: Uint8Array | Uint16Array): boolean {
  const opaque = alpha instanceof Uint16Array ? 65535 : 255;
  for (let i = 0; i < alpha.length; i++) if (alpha[i] !== opaque) return true;
  return false;
}

/**
 * Encodes a raster (plus untouched alpha) and writes it atomically. ICC profiles are carried over
 * when they match the output's colour space (an RGB profile for RGB output): pixels were decoded to
 * sRGB, so sharp converts them back into the original profile and attaches it.
 */
export async function writeImage(
  path: string,
  raster: Raster,
  opts: WriteOptions,
): Promise<{ notes: string[] }> {
  const { format } = opts;
  const notes: string[] = [];
  const sixteen = raster.depth === 16 && (opts.keep16bit ?? true) && (format === 'png' || format === 'tif');
  let data: Uint8Array | Uint16Array = raster.data;
  let alpha = opts.alpha;
  if (raster.depth === 16 && !sixteen) {
    data = to8bit(raster.data as Uint16Array);
    if (alpha instanceof Uint16Array) alpha = to8bit(alpha);
  }
  let channels: number = raster.channels;
  if (alpha) {
    const n = raster.width * raster.height;
    const joined = sixteen ? new Uint16Array(n * (channels + 1)) : new Uint8Array(n * (channels + 1));
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) joined[i * (channels + 1) + c] = data[i * channels + c];
      joined[i * (channels + 1) + channels] = alpha[i];
    }
    data = joined;
    channels += 1;
  }
  let tmpDir: string | undefined;
  try {
    if (opts.watermark) data = await drawWatermark(data, raster, channels, sixteen, opts.watermark);
    let img = sharp(data, {
      raw: { width: raster.width, height: raster.height, channels: channels as 1 | 2 | 3 | 4 },
      limitInputPixels: false,
    });
    if (sixteen) img = img.toColourspace(raster.channels === 1 ? 'grey16' : 'rgb16');
    if (opts.icc && iccMatches(opts.icc, raster.channels) && !sixteen) {
      tmpDir = await mkdtemp(join(tmpdir(), 'tintype-icc-'));
      const iccPath = join(tmpDir, 'profile.icc');
      await writeFile(iccPath, opts.icc);
      img = img.withIccProfile(iccPath);
    }
    if (opts.note) img = img.withXmp(xmpPacket(opts.note));
    if (opts.density) img = img.withDensity(opts.density);
    switch (format) {
      case 'jpg':
        if (channels === raster.channels + 1) {
          // JPEG has no alpha: dropping it would turn transparent pixels into whatever colour they
          // hide (often black). Lay them on the background instead, and say so.
          const background = parseHexColour(opts.background ?? '#ffffff');
          if (!background)
            throw fileError(
              path,
              `--background ${opts.background}: use a colour like #ffffff`,
              'BAD_ARGUMENT',
            );
          img = img.flatten({ background });
          if (alpha && hasTransparency(alpha))
            notes.push(
              `transparency flattened onto ${opts.background ?? 'white (#ffffff)'}: JPEG has no alpha (choose PNG, TIFF or WebP to keep it, or --background)`,
            );
        }
        // Huffman optimisation triples encode time (236 → 73 ms at 12 MP) for a 5% smaller file.
        img = img.jpeg({ quality: opts.quality ?? 92, chromaSubsampling: '4:4:4', optimiseCoding: false });
        break;
      case 'png':
        img = img.png({ compressionLevel: 6 });
        break;
      case 'tif':
        // sharp's default TIFF compression is JPEG, which would force 8 bits and lose quality.
        img = img.tiff({ compression: 'deflate', predictor: 'horizontal' });
        break;
      case 'webp':
        img = img.webp({ quality: opts.quality ?? 92 });
        break;
    }
    const encoded = spliceExif(await img.toBuffer(), format === 'jpg' ? 'jpeg' : format, opts.exif);
    await writeFileAtomic(path, encoded, { overwrite: opts.overwrite });
    return { notes };
  } catch (err) {
    if (err instanceof TintypeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw fileError(path, 'output already exists (use --overwrite to replace it)', 'OUTPUT_EXISTS', err);
    const words = ioProblem(err, path);
    if (words) throw fileError(path, `cannot write output: ${words}`, 'OUTPUT_UNWRITABLE', err);
    throw fileError(path, `cannot encode output: ${errorMessage(err)}`, 'OUTPUT_UNWRITABLE', err);
  } finally {
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  }
}
