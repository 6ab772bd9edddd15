import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as zlib from 'node:zlib';

/**
 * CRC32 (the publisher's checksum) and SHA-256 (ours, written into the manifest), both in one pass.
 * node:zlib has crc32 from Node 20.15 / 22.2; older runtimes use the table below.
 */

type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Uint32Array | null = null;
function crc32Table(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The reflected CRC-32 (IEEE 802.3, as zlib computes it); `value` continues a running checksum. */
export function crc32Portable(data: Uint8Array, value = 0): number {
  const t = crc32Table();
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: Crc32 }).crc32;
export const crc32: Crc32 = nativeCrc32 ? (data, value = 0) => nativeCrc32(data, value) : crc32Portable;

export const crc32Hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Reads the first 8-hex-digit word of a publisher's .hash file; null when there is none. */
export function parseCrc32Text(text: string): string | null {
  const m = /^\s*([0-9a-fA-F]{8})\b/.exec(text);
  return m ? m[1].toLowerCase() : null;
}

export interface FileDigest {
  bytes: number;
  sha256: string;
  crc32: string;
}

export async function digestFile(path: string, signal?: AbortSignal): Promise<FileDigest> {
  const sha = createHash('sha256');
  let crc = 0;
  let bytes = 0;
  for await (const chunk of createReadStream(path, {
    signal,
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    sha.update(chunk);
    crc = crc32(chunk, crc);
    bytes += chunk.length;
  }
  return { bytes, sha256: sha.digest('hex'), crc32: crc32Hex(crc) };
}
