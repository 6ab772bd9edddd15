import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The original models run in pure TF.js on its CPU backend: the reference the converted ONNX files
 * are checked against. The thick models use two custom layers whose classes UpscalerJS registers
 * at run time; they are reimplemented here from what they compute (x·beta, and depth-to-space).
 */

type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0] & { beta?: number; scale?: number };

const first = (x: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(x) ? x[0] : x);

class MultiplyBeta extends tf.layers.Layer {
  static className = 'MultiplyBeta';
  private readonly beta: number;
  constructor(args: LayerArgs) {
    super(args);
    if (typeof args.beta !== 'number') throw new Error('MultiplyBeta needs beta');
    this.beta = args.beta;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(first(inputs), this.beta);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), beta: this.beta };
  }
}

function pixelShuffle(scale: number) {
  return class PixelShuffle extends tf.layers.Layer {
    static className = `PixelShuffle${scale}x`;
    constructor(args: LayerArgs) {
      super(args);
    }
    override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
      const [n, h, w, c] = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
      const up = (d: number | null) => (d === null ? null : d * scale);
      return [n, up(h), up(w), c === null ? null : c / (scale * scale)];
    }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.depthToSpace(first(inputs) as tf.Tensor4D, scale, 'NHWC');
    }
    override getConfig(): tf.serialization.ConfigDict {
      return { ...super.getConfig(), scale };
    }
  };
}

let registered = false;
function registerCustomLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(MultiplyBeta);
  for (const s of [2, 3, 4, 8]) tf.serialization.registerClass(pixelShuffle(s));
  registered = true;
}

/** Switches TF.js to its plain-JS CPU backend (no WebGL, no tfjs-node here). */
export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** Loads a layers-model from model.json and its shards, from memory (no fetch, no file:// handler). */
export async function loadOriginal(modelJsonPath: string): Promise<tf.LayersModel> {
  registerCustomLayers();
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const shards: Buffer[] = [];
  for (const g of json.weightsManifest)
    for (const p of g.paths) shards.push(await readFile(join(dirname(modelJsonPath), p)));
  const bytes = Buffer.concat(shards);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
    }),
  );
}

/** Runs NHWC float data through a loaded model; returns NHWC output and its shape. */
export async function runOriginal(
  model: tf.LayersModel,
  nhwc: Float32Array,
  height: number,
  width: number,
): Promise<{ data: Float32Array; shape: number[] }> {
  const x = tf.tensor4d(nhwc, [1, height, width, nhwc.length / (height * width)]);
  const y = model.predict(x) as tf.Tensor;
  const data = (await y.data()) as Float32Array;
  const shape = y.shape;
  x.dispose();
  y.dispose();
  return { data, shape };
}
