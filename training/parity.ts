/**
 * Runs an exported model in onnxruntime-node on the input the Python exporter saved and compares
 * with PyTorch's output: `npx tsx training/parity.ts EXPORT_DIR` (or the --parity-dir folder).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

interface TensorFile {
  name: string;
  shape: number[];
  file: string;
}

export interface ParityResult {
  maxAbsDiff: number;
  tolerance: number;
  shape: number[];
  ok: boolean;
}

async function readF32(file: string, shape: number[]): Promise<Float32Array> {
  const buf = await readFile(file);
  const count = shape.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== count * 4) {
    throw new Error(
      `${file}: ${buf.byteLength} bytes, expected ${count * 4} for shape [${shape.join(', ')}]`,
    );
  }
  // Copy into an aligned buffer: a Buffer's offset into its pool need not be a multiple of 4.
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** `dir`: a parity fixture folder (parity.json) or an export folder holding parity/. */
export async function checkParity(dir: string): Promise<ParityResult> {
  const fixtureDir = existsSync(path.join(dir, 'parity.json')) ? dir : path.join(dir, 'parity');
  const fixture = JSON.parse(await readFile(path.join(fixtureDir, 'parity.json'), 'utf8')) as {
    input: TensorFile;
    /** Every graph input when there are several (an inpainter: image and mask); else `input`. */
    inputs?: TensorFile[];
    output: TensorFile;
    tolerance: number;
    /** The model, relative to the fixture folder (else the manifest beside parity/ names it). */
    model?: string;
  };
  const modelPath = fixture.model
    ? path.join(fixtureDir, fixture.model)
    : path.join(
        dir,
        (JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { file: string }).file,
      );
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of fixture.inputs ?? [fixture.input]) {
    const data = await readF32(path.join(fixtureDir, t.file), t.shape);
    feeds[t.name] = new ort.Tensor('float32', data, t.shape);
  }
  const expected = await readF32(path.join(fixtureDir, fixture.output.file), fixture.output.shape);
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
  });
  try {
    const out = await session.run(feeds);
    const got = out[fixture.output.name];
    if (!got) throw new Error(`${modelPath}: no output named ${fixture.output.name}`);
    const shape = got.dims.map(Number);
    if (shape.join(',') !== fixture.output.shape.join(',')) {
      throw new Error(`${modelPath}: output shape [${shape}] != PyTorch's [${fixture.output.shape}]`);
    }
    const data = got.data as Float32Array;
    let maxAbsDiff = 0;
    for (let i = 0; i < data.length; i++) {
      const d = Math.abs(data[i] - expected[i]);
      // NaN must fail, so compare with a negated test.
      if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
    }
    return { maxAbsDiff, tolerance: fixture.tolerance, shape, ok: maxAbsDiff <= fixture.tolerance };
  } finally {
    await session.release();
  }
}

const invoked =
  process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (invoked) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx training/parity.ts EXPORT_DIR|PARITY_DIR');
    process.exit(2);
  }
  checkParity(dir).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(r.ok ? 0 : 1);
    },
    (err: unknown) => {
      console.error(`parity: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
