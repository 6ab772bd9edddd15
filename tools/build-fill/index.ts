import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareModel, DEFAULT_OUT, writeModel } from '../convert-esrgan/index';
import { fillGraph } from './graph';

/**
 * `npm run models:build` (this part): writes resources/models/tintype-fill, the classical filler of
 * the repair operation (pull-push, see graph.ts), as an ONNX model with its manifest, so it runs
 * through the same tiled inpaint path as a learned filler. Deterministic: `--check` verifies the
 * committed files byte for byte.
 */

/** The tile the filler runs on and its overlap; 2^LEVELS = TILE, so the coarsest level is one pixel. */
const TILE = 512;
const OVERLAP = 64;
const LEVELS = Math.log2(TILE);

export function buildFill(): {
  spec: { id: string };
  onnx: Uint8Array;
  manifestJson: string;
  license: string;
} {
  const onnx = fillGraph(LEVELS);
  const manifest = {
    id: 'tintype-fill',
    name: 'Tintype classical fill (pull-push)',
    version: '1.0.0',
    file: 'model.onnx',
    task: 'inpaint',
    input: { name: 'image', layout: 'NCHW', channels: 3, frames: 1, range: [0, 1], normalization: null },
    maskInput: { name: 'mask', range: [0, 1] },
    size: { kind: 'dynamic', multiple: 1 },
    output: { name: 'output', layout: 'NCHW', kind: 'rgb', range: [0, 1] },
    scale: 1,
    tile: { size: TILE, overlap: OVERLAP },
    license: 'MIT',
    source:
      'tools/build-fill: pull-push interpolation (Gortler et al. 1996) written as an ONNX graph, no weights',
    sha256: createHash('sha256').update(onnx).digest('hex'),
    summary: 'smooth fill from the surrounding pixels: fast, fine for scratches and dust',
    description: `pull-push over ${LEVELS} levels of 2×2 averages of the known pixels, bilinear push`,
  };
  return {
    spec: { id: manifest.id },
    onnx,
    manifestJson: `${JSON.stringify(manifest, null, 2)}\n`,
    license: 'MIT: written by Tintype (tools/build-fill); no trained weights.\n',
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, out: { type: 'string' } } });
  const out = values.out ?? DEFAULT_OUT;
  const built = buildFill();
  if (values.check) {
    const differing = await compareModel(built, out);
    if (differing.length) {
      console.error(`differs from a fresh build: ${differing.join(', ')}`);
      process.exit(1);
    }
    console.log('tintype-fill: identical');
    return;
  }
  console.log(`wrote ${await writeModel(built, out)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
