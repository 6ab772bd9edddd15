import { readFile } from 'node:fs/promises';
import { float16ToNumber } from '../onnx/float16';

/**
 * Reader for ncnn's model format: a text `.param` (the graph) and a binary `.bin` (the weights, in
 * layer order). Only the layers whose weights Tintype converts have readers for their weights here;
 * any other layer that carries weights is refused, so a misread never shifts every later weight.
 * Format reference: ncnn's wiki "param and model file structure" and src/modelbin.cpp.
 */

export const PARAM_MAGIC = 7767517;

/** A parameter value: an int, a float, or an array (keys -23300 - id in the file). */
export type ParamValue = number | number[];

export interface NcnnLayer {
  type: string;
  name: string;
  bottoms: string[];
  tops: string[];
  /** Parameter id → value. */
  params: Map<number, ParamValue>;
  /** 1-based line in the .param, for messages. */
  line: number;
}

export interface NcnnGraph {
  path: string;
  layers: NcnnLayer[];
}

function parseValue(text: string, where: string): number {
  const v = Number(text);
  if (!Number.isFinite(v)) throw new Error(`${where}: "${text}" is not a number`);
  return v;
}

export function parseParam(text: string, path: string): NcnnGraph {
  const lines = text.split(/\r?\n/);
  if (Number(lines[0]?.trim()) !== PARAM_MAGIC)
    throw new Error(`${path}: not an ncnn .param file (first line must be ${PARAM_MAGIC})`);
  const counts = (lines[1] ?? '').trim().split(/\s+/).map(Number);
  if (counts.length !== 2 || !counts.every((n) => Number.isInteger(n) && n > 0))
    throw new Error(`${path}: line 2 must hold the layer and blob counts`);
  const layers: NcnnLayer[] = [];
  for (let i = 2; i < lines.length; i++) {
    const parts = lines[i].trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) continue;
    const where = `${path}:${i + 1}`;
    const [type, name, nb, nt] = parts;
    const bottomCount = Number(nb);
    const topCount = Number(nt);
    if (!Number.isInteger(bottomCount) || !Number.isInteger(topCount) || bottomCount < 0 || topCount < 0)
      throw new Error(`${where}: bad bottom/top counts`);
    const bottoms = parts.slice(4, 4 + bottomCount);
    const tops = parts.slice(4 + bottomCount, 4 + bottomCount + topCount);
    if (bottoms.length !== bottomCount || tops.length !== topCount)
      throw new Error(`${where}: fewer blob names than counted`);
    const params = new Map<number, ParamValue>();
    for (const kv of parts.slice(4 + bottomCount + topCount)) {
      const eq = kv.indexOf('=');
      if (eq < 1) throw new Error(`${where}: parameter "${kv}" is not key=value`);
      const key = parseValue(kv.slice(0, eq), where);
      const value = kv.slice(eq + 1);
      if (key <= -23300) {
        const [count, ...items] = value.split(',').map((s) => parseValue(s, where));
        if (items.length !== count) throw new Error(`${where}: array ${key} announces ${count} items`);
        params.set(-23300 - key, items);
      } else {
        params.set(key, parseValue(value, where));
      }
    }
    layers.push({ type, name, bottoms, tops, params, line: i + 1 });
  }
  if (layers.length !== counts[0])
    throw new Error(`${path}: ${layers.length} layers, line 2 says ${counts[0]}`);
  return { path, layers };
}

/** ncnn's weight tags (the 4 bytes before a tagged blob). */
const TAG_FLOAT16 = 0x01306b47;
const TAG_FLOAT32_RAW = 0x0002c056;

export interface WeightBlob {
  data: Float32Array;
  /** How the .bin stored it: the converter keeps float16 weights as float16 (no loss). */
  storage: 'float16' | 'float32';
}

/** Reads weight blobs sequentially from a .bin, as ncnn's ModelBinFromDataReader does. */
export class BinReader {
  private offset = 0;
  constructor(
    private readonly bytes: Buffer,
    readonly path: string,
  ) {}

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private take(n: number, what: string): Buffer {
    if (this.offset + n > this.bytes.length)
      throw new Error(
        `${this.path}: ends at byte ${this.bytes.length}, ${what} needs ${n} bytes at ${this.offset}`,
      );
    const b = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }

  private floats(count: number, what: string): Float32Array {
    const b = this.take(count * 4, what);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = b.readFloatLE(i * 4);
    return out;
  }

  /** type 1 in ncnn: untagged float32 (biases, PReLU slopes). */
  raw(count: number, what: string): Float32Array {
    return this.floats(count, what);
  }

  /** type 0 in ncnn: a 4-byte tag says float16, float32 or a quantized form (refused). */
  tagged(count: number, what: string): WeightBlob {
    const tag = this.take(4, `${what} tag`).readUInt32LE(0);
    if (tag === TAG_FLOAT16) {
      const b = this.take(count * 2, what);
      if ((count * 2) % 4) this.take(4 - ((count * 2) % 4), `${what} padding`);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = float16ToNumber(b.readUInt16LE(i * 2));
      return { data: out, storage: 'float16' };
    }
    if (tag === 0 || tag === TAG_FLOAT32_RAW) return { data: this.floats(count, what), storage: 'float32' };
    throw new Error(
      `${this.path}: ${what} is stored with tag 0x${tag.toString(16).padStart(8, '0')} (int8 or quantized); only float16 and float32 weights are supported`,
    );
  }
}

export async function readNcnn(
  paramPath: string,
  binPath: string,
): Promise<{ graph: NcnnGraph; bin: BinReader }> {
  const [text, bytes] = await Promise.all([readFile(paramPath, 'utf8'), readFile(binPath)]);
  return { graph: parseParam(text, paramPath), bin: new BinReader(bytes, binPath) };
}
