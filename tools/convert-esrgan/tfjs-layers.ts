import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Reads a TF.js "layers-model" (model.json + binary weight shards) without TF.js itself, so the
 * converter needs nothing but the files. Only what the UpscalerJS ESRGAN exports use is supported;
 * anything else is an error naming the file, never silently skipped.
 */

export interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  /** Names of the layers feeding this one (first inbound node; these graphs call every layer once). */
  inputs: string[];
}

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export interface LayersModel {
  path: string;
  layers: KerasLayer[];
  inputName: string;
  outputName: string;
  weights: Map<string, WeightTensor>;
}

interface ModelJson {
  format?: string;
  modelTopology?: {
    model_config?: {
      class_name?: string;
      config?: {
        layers?: {
          class_name: string;
          name: string;
          config: Record<string, unknown>;
          inbound_nodes: unknown[];
        }[];
        input_layers?: [string, number, number][];
        output_layers?: [string, number, number][];
      };
    };
  };
  weightsManifest?: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
  }[];
}

function fail(path: string, problem: string): never {
  throw new Error(`${path}: ${problem}`);
}

function inboundNames(path: string, layerName: string, inbound: unknown[]): string[] {
  if (inbound.length === 0) return [];
  if (inbound.length > 1)
    fail(path, `layer ${layerName} is called ${inbound.length} times; shared layers are not supported`);
  const node = inbound[0];
  if (!Array.isArray(node)) fail(path, `layer ${layerName} has a malformed inbound node`);
  return node.map((entry: unknown) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string')
      fail(path, `layer ${layerName} has a malformed inbound node`);
    if (entry[1] !== 0 || entry[2] !== 0)
      fail(path, `layer ${layerName} uses a non-first output of ${entry[0]}`);
    return entry[0];
  });
}

export async function readLayersModel(modelJsonPath: string): Promise<LayersModel> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    fail(modelJsonPath, `cannot read the TF.js model: ${(err as Error).message}`);
  }
  if (json.format !== 'layers-model')
    fail(modelJsonPath, `format is ${String(json.format)}, expected layers-model`);
  const cfg = json.modelTopology?.model_config;
  if (cfg?.class_name !== 'Functional' && cfg?.class_name !== 'Model') {
    fail(modelJsonPath, `model class ${String(cfg?.class_name)} is not a functional Keras model`);
  }
  const rawLayers = cfg.config?.layers ?? fail(modelJsonPath, 'no layers');
  const ins = cfg.config?.input_layers ?? [];
  const outs = cfg.config?.output_layers ?? [];
  if (ins.length !== 1 || outs.length !== 1) fail(modelJsonPath, 'expected exactly one input and one output');

  const layers = rawLayers.map((l) => ({
    className: l.class_name,
    name: l.name,
    config: l.config,
    inputs: inboundNames(modelJsonPath, l.name, l.inbound_nodes),
  }));

  const weights = new Map<string, WeightTensor>();
  for (const group of json.weightsManifest ?? []) {
    const shards = await Promise.all(
      group.paths.map(async (p) => {
        const file = join(dirname(modelJsonPath), p);
        try {
          return await readFile(file);
        } catch (err) {
          fail(file, `cannot read weight shard: ${(err as Error).message}`);
        }
      }),
    );
    // Shards are one byte stream cut into files; weights are laid end to end across them.
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' || w.quantization)
        fail(modelJsonPath, `weight ${w.name}: only unquantized float32 is supported`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      const end = offset + count * 4;
      if (end > bytes.length) fail(modelJsonPath, `weight ${w.name} runs past the end of the shards`);
      // Copy into an aligned buffer; reading little-endian explicitly keeps this host-independent.
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = bytes.readFloatLE(offset + i * 4);
      weights.set(w.name, { shape: w.shape, data });
      offset = end;
    }
    if (offset !== bytes.length)
      fail(modelJsonPath, `${bytes.length - offset} unused bytes at the end of the weight shards`);
  }

  return { path: modelJsonPath, layers, inputName: ins[0][0], outputName: outs[0][0], weights };
}
