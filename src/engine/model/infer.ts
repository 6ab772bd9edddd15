import * as ort from 'onnxruntime-node';
import type { OutputSpec } from '../../shared/manifest';
import { fileError } from '../errors';
import type { LoadedModel } from './session';

/** What a planar tensor of `channels` planes means once mapped back from the model's conventions. */
export interface Planes {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

const CANONICAL: Record<OutputSpec['kind'], [number, number]> = {
  rgb: [0, 1],
  grey: [0, 1],
  ab: [-128, 128],
  uv: [-0.5, 0.5],
  mask: [0, 1],
};

function transpose(src: Float32Array, c: number, h: number, w: number, toNHWC: boolean): Float32Array {
  const out = new Float32Array(src.length);
  const hw = h * w;
  if (toNHWC) {
    for (let k = 0; k < c; k++) for (let i = 0; i < hw; i++) out[i * c + k] = src[k * hw + i];
  } else {
    for (let k = 0; k < c; k++) for (let i = 0; i < hw; i++) out[k * hw + i] = src[i * c + k];
  }
  return out;
}

/** Time spent, summed over calls: `ms` in the model itself; the rest around it (bench split). */
export interface InferStats {
  ms: number;
  prepareMs?: number;
  mergeMs?: number;
  /** Part of mergeMs: spreading colour hints on their small grid (the rest is the full-size work). */
  hintsMs?: number;
  /** Tiles an inpaint model was run on, and tiles whose previous answer was reused (src/engine/repair/inpaint.ts). */
  fillTiles?: number;
  fillReused?: number;
  /** Tiles a repair model (the damage detector) was run on. */
  detectTiles?: number;
}

/**
 * Runs one tensor through a model. `input` is planar (C×H×W) with pixel values 0..1 in the order
 * frames×channels; the manifest's range, normalization and layout are applied here, and the output
 * comes back planar in the canonical range of its kind. A NaN or infinite output is an error.
 */
export async function infer(
  model: LoadedModel,
  input: Planes,
  stats?: InferStats,
  /** More graph inputs, already in the model's conventions (an inpaint model's mask). */
  extra?: Record<string, ort.Tensor>,
): Promise<Planes> {
  const { manifest } = model;
  const spec = manifest.input;
  const [lo, hi] = spec.range;
  const { channels: c, height: h, width: w } = input;
  const expected = spec.channels * spec.frames;
  if (c !== expected) throw new Error(`internal: ${c} planes for a model that takes ${expected}`);
  const hw = h * w;
  const span = hi - lo;
  const norm = spec.normalization;
  // A model that takes 0..1 unnormalized gets the caller's planes as they are (ONNX Runtime copies
  // them in and writes nothing back): no copy, no pass over the tensor.
  let x = input.data;
  if (span !== 1 || lo !== 0 || norm) {
    x = new Float32Array(input.data.length);
    for (let k = 0; k < c; k++) {
      const mean = norm ? norm.mean[k % norm.mean.length] : 0;
      const inv = norm ? 1 / norm.std[k % norm.std.length] : 1;
      const base = k * hw;
      for (let i = 0; i < hw; i++) x[base + i] = (input.data[base + i] * span + lo - mean) * inv;
    }
  }
  const nhwc = spec.layout === 'NHWC';
  const tensor = new ort.Tensor(
    'float32',
    nhwc ? transpose(x, c, h, w, true) : x,
    nhwc ? [1, h, w, c] : [1, c, h, w],
  );
  const t0 = performance.now();
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await model.session.run({ ...extra, [model.inputName]: tensor });
  } catch (err) {
    throw fileError(
      manifest.modelPath,
      `inference failed for a ${w}×${h} input: ${(err as Error).message.split('\n')[0]}`,
      'MODEL_SHAPE',
      err,
    );
  }
  if (stats) stats.ms += performance.now() - t0;
  const out = result[model.outputName] as ort.Tensor;
  const dims = out.dims;
  if (dims.length !== 4 || out.type !== 'float32') {
    throw fileError(
      manifest.modelPath,
      `output "${model.outputName}" is ${out.type} [${dims.join(', ')}], expected a 4-D float32 image`,
      'MODEL_OUTPUT',
    );
  }
  const outNhwc = (manifest.output.layout ?? spec.layout) === 'NHWC';
  const oc = outNhwc ? dims[3] : dims[1];
  const oh = outNhwc ? dims[1] : dims[2];
  const ow = outNhwc ? dims[2] : dims[3];
  const raw = out.data as Float32Array;
  const planar = outNhwc ? transpose(raw, oc, oh, ow, false) : raw.slice();
  const [olo, ohi] = manifest.output.range;
  const [clo, chi] = CANONICAL[manifest.output.kind];
  const k = (chi - clo) / (ohi - olo);
  // v - v is 0 for every finite v and NaN for NaN and ±Infinity: one sum finds any of them.
  let bad = 0;
  if (k === 1 && olo === clo) for (let i = 0; i < planar.length; i++) bad += planar[i] - planar[i];
  else
    for (let i = 0; i < planar.length; i++) {
      const v = planar[i];
      bad += v - v;
      planar[i] = (v - olo) * k + clo;
    }
  if (bad !== 0) {
    const v = planar.find((p) => !Number.isFinite(p)) ?? NaN;
    throw fileError(
      manifest.modelPath,
      `model returned ${Number.isNaN(v) ? 'NaN' : 'infinite'} values`,
      'MODEL_OUTPUT',
    );
  }
  return { data: planar, channels: oc, height: oh, width: ow };
}
