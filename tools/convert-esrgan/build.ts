import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, type Manifest, type ManifestInput } from '../../src/shared/manifest';
import { locatePackage, modelJsonPath, type ModelSpec } from './catalog';
import { readLayersModel } from './tfjs-layers';
import { INPUT_NAME, OUTPUT_NAME, convertLayersModel } from './to-onnx';

export const MODEL_FILE = 'model.onnx';

export interface BuiltModel {
  spec: ModelSpec;
  onnx: Uint8Array;
  manifest: Manifest;
  /** The manifest exactly as written to disk. */
  manifestJson: string;
  license: string;
  receptiveRadius: number;
}

const ARCH: Record<ModelSpec['variant'], string> = {
  slim: 'RDN C1 D2 G4 G0 64',
  medium: 'RDN C1 D10 G64 G0 64',
  thick: 'RRDN C4 D3 G32 G0 64 T10',
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Overlap between neighbouring tiles in input pixels. The engine's tiler (src/engine/ops/tiled.ts)
 * gives the outer quarter of each shared overlap weight 0 and feathers across the middle half, so
 * the output is seamless when the receptive radius fits in a quarter of the overlap.
 */
export function tileOverlap(spec: ModelSpec, receptiveRadius: number): number {
  const radius = Math.min(receptiveRadius, spec.effectiveRadius ?? receptiveRadius);
  return 4 * radius;
}

/** The one plain line people choose by (the description keeps the architecture). */
const SUMMARY: Record<ModelSpec['variant'], string> = {
  slim: 'Small and quick; softer detail',
  medium: 'Balanced speed and detail',
  thick: 'Most faithful to the original, slower',
};

export async function buildModel(spec: ModelSpec): Promise<BuiltModel> {
  const { root, version } = locatePackage(spec.packageName);
  const model = await readLayersModel(modelJsonPath(spec));
  const converted = convertLayersModel(model, { kernels: spec.kernels });
  if (converted.scale !== spec.scale) {
    throw new Error(`${model.path}: the graph upscales ${converted.scale}x, expected ${spec.scale}x`);
  }
  if (converted.outputChannels !== 3)
    throw new Error(`${model.path}: ${converted.outputChannels} output channels, expected 3`);
  const overlap = tileOverlap(spec, converted.receptiveRadius);
  if (2 * overlap > spec.tileSize)
    throw new Error(`${spec.id}: overlap ${overlap} is more than half a ${spec.tileSize} px tile`);

  const manifestIn: ManifestInput = {
    id: spec.id,
    name: `ESRGAN ${spec.variant} ×${spec.scale}`,
    version,
    task: 'upscale',
    file: MODEL_FILE,
    input: {
      name: INPUT_NAME,
      layout: 'NCHW',
      channels: 3,
      frames: 1,
      range: spec.range,
      normalization: null,
    },
    size: { kind: 'dynamic', multiple: 1 },
    output: { name: OUTPUT_NAME, layout: 'NCHW', kind: 'rgb', range: spec.range },
    scale: spec.scale,
    tile: { size: spec.tileSize, overlap },
    license: 'MIT',
    source: `${spec.packageName}@${version} ${spec.modelPath}`,
    sha256: sha256Hex(converted.onnx),
    summary: SUMMARY[spec.variant],
    description:
      `UpscalerJS ESRGAN ${spec.variant} (${ARCH[spec.variant]}, trained on DIV2K), converted from TF.js ` +
      `by tools/convert-esrgan${spec.kernels === 'float16' ? ' (kernels stored as float16, computed in float32)' : ''}. ` +
      `Output is not clamped to the range. Receptive radius ${converted.receptiveRadius} input px` +
      (spec.effectiveRadius ? ` (${spec.effectiveRadius} px in effect).` : '.'),
  };
  const manifest = ManifestSchema.parse(manifestIn);
  const licenseText = await readFile(join(root, 'LICENSE'), 'utf8');
  const license =
    `The weights in ${MODEL_FILE} are those of ${spec.packageName}@${version} (${spec.modelPath}),\n` +
    `converted to ONNX by Tintype's tools/convert-esrgan without retraining. They are used under the\n` +
    `package's licence, reproduced below from its LICENSE file.\n\n` +
    licenseText;
  return {
    spec,
    onnx: converted.onnx,
    manifest,
    manifestJson: `${JSON.stringify(manifestIn, null, 2)}\n`,
    license,
    receptiveRadius: converted.receptiveRadius,
  };
}
