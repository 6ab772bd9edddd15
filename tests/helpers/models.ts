import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestInput } from '../../src/shared/manifest';
import { GraphBuilder } from '../../tools/onnx/builder';

/**
 * Generates small real ONNX models (and their manifests) for tests, one per manifest convention.
 * They compute known functions of their input so a test can tell whether the engine applied the
 * convention (range, normalization, layout, output kind) correctly.
 */

/** The plainest manifest conventions: NCHW RGB in 0..1, dynamic size, RGB out in 0..1. */
export const RGB_01 = {
  input: {
    layout: 'NCHW' as const,
    channels: 3 as const,
    frames: 1 as const,
    range: [0, 1] as [number, number],
    normalization: null,
  },
  size: { kind: 'dynamic' as const, multiple: 1 },
  output: { kind: 'rgb' as const, range: [0, 1] as [number, number] },
};

export interface Conventions {
  layout?: 'NCHW' | 'NHWC';
  channels?: 1 | 3;
  frames?: 1 | 3;
  range?: [number, number];
  normalization?: { mean: number[]; std: number[] } | null;
  size?: { kind: 'fixed'; value: number } | { kind: 'dynamic'; multiple: number };
  outputRange?: [number, number];
}

function shapeOf(layout: 'NCHW' | 'NHWC', c: number, h: number | string, w: number | string) {
  return layout === 'NCHW' ? [1, c, h, w] : [1, h, w, c];
}

/**
 * Colorizer whose output is an affine function of the grey level g (0..1) it was shown:
 * output channel k = a[k] * g + b[k], expressed in the model's own output range. g is recovered
 * inside the graph by undoing the input range and normalization of channel 0.
 */
export function colorizeGraph(
  conv: Conventions,
  kind: 'rgb' | 'ab' | 'uv',
  a: number[],
  b: number[],
): Uint8Array {
  const layout = conv.layout ?? 'NCHW';
  const channels = (conv.channels ?? 3) * (conv.frames ?? 1);
  const [lo, hi] = conv.range ?? [0, 1];
  const mean = conv.normalization?.mean[0] ?? 0;
  const std = conv.normalization?.std[0] ?? 1;
  const [olo, ohi] =
    conv.outputRange ?? (kind === 'rgb' ? [0, 1] : kind === 'ab' ? [-128, 128] : [-0.5, 0.5]);
  const [clo, chi] = kind === 'rgb' ? [0, 1] : kind === 'ab' ? [-128, 128] : [-0.5, 0.5];
  const size = conv.size ?? { kind: 'dynamic', multiple: 1 };
  const dimH = size.kind === 'fixed' ? size.value : 'height';
  const dimW = size.kind === 'fixed' ? size.value : 'width';
  const g = new GraphBuilder('colorize');
  const x = g.input('input', shapeOf(layout, channels, dimH, dimW));
  const axis = layout === 'NCHW' ? 1 : 3;
  const first = g.node('Slice', [x, g.int64([0]), g.int64([1]), g.int64([axis])]);
  // p = (x*std + mean - lo) / (hi - lo)
  const p = g.node('Add', [
    g.node('Mul', [first, g.constant([std / (hi - lo)], [1])]),
    g.constant([(mean - lo) / (hi - lo)], [1]),
  ]);
  const outs: string[] = [];
  for (let k = 0; k < a.length; k++) {
    // canonical value a*p+b, then into the model's output range
    const scale = (ohi - olo) / (chi - clo);
    const ak = a[k] * scale;
    const bk = (b[k] - clo) * scale + olo;
    outs.push(g.node('Add', [g.node('Mul', [p, g.constant([ak], [1])]), g.constant([bk], [1])]));
  }
  g.node('Concat', outs, { axis }, ['output']);
  g.output('output', shapeOf(layout, a.length, dimH, dimW));
  return g.encode();
}

/** A fully convolutional restorer: three 3×3 convolutions with fixed pseudo-random weights (+ pixel shuffle for ×s). */
export function convGraph(
  opts: { channels?: 1 | 3; scale?: number; seed?: number; range?: [number, number] } = {},
): Uint8Array {
  const c = opts.channels ?? 3;
  const s = opts.scale ?? 1;
  let seed = opts.seed ?? 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const g = new GraphBuilder('conv');
  let t = g.input('input', [1, c, 'height', 'width']);
  const hidden = 8;
  const layer = (cin: number, cout: number, relu: boolean) => {
    const w = new Float32Array(cout * cin * 9).map(() => rand() * 0.4);
    const bias = new Float32Array(cout).map(() => rand() * 0.1);
    t = g.node('Conv', [t, g.constant(w, [cout, cin, 3, 3]), g.constant(bias, [cout])], {
      pads: [1, 1, 1, 1],
    });
    if (relu) t = g.node('Relu', [t]);
  };
  layer(c, hidden, true);
  layer(hidden, hidden, true);
  layer(hidden, c * s * s, false);
  if (s > 1) t = g.node('DepthToSpace', [t], { blocksize: s, mode: 'DCR' });
  // Keep the output a plausible image: sigmoid squashes into 0..1.
  t = g.node('Sigmoid', [t]);
  g.node('Identity', [t], {}, ['output']);
  g.output('output', [1, c, 'oh', 'ow']);
  return g.encode();
}

/** Inverts the image: output = 1 - input, in range [0,1]. Easy to check exactly. */
export function invertGraph(channels: 1 | 3 = 3): Uint8Array {
  const g = new GraphBuilder('invert');
  const x = g.input('input', [1, channels, 'height', 'width']);
  g.node('Sub', [g.constant([1], [1]), x], {}, ['output']);
  g.output('output', [1, channels, 'height', 'width']);
  return g.encode();
}

/** A model whose output is NaN wherever it runs (0/0). */
export function nanGraph(): Uint8Array {
  const g = new GraphBuilder('nan');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const zero = g.node('Sub', [x, x]);
  g.node('Div', [zero, zero], {}, ['output']);
  g.output('output', [1, 3, 'height', 'width']);
  return g.encode();
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes <dir>/<id>/{model.onnx,manifest.json}; returns the manifest path. */
export function installModel(
  dir: string,
  manifest: Omit<ManifestInput, 'file' | 'sha256' | 'license' | 'source' | 'name'> & Partial<ManifestInput>,
  bytes: Uint8Array,
): string {
  const folder = join(dir, manifest.id);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.onnx'), bytes);
  const full = {
    name: manifest.id,
    license: 'MIT',
    source: 'generated by the Tintype test suite',
    file: 'model.onnx',
    sha256: sha256(bytes),
    ...manifest,
  };
  const path = join(folder, 'manifest.json');
  writeFileSync(path, JSON.stringify(full, null, 2));
  return path;
}

/** A colorize manifest + model in one call. */
export function installColorizer(
  dir: string,
  id: string,
  conv: Conventions,
  kind: 'rgb' | 'ab' | 'uv',
  a: number[],
  b: number[],
  renderSize = { default: 64, min: 32, max: 128 },
): string {
  return installModel(
    dir,
    {
      id,
      task: 'colorize',
      input: {
        layout: conv.layout ?? 'NCHW',
        channels: conv.channels ?? 3,
        frames: conv.frames ?? 1,
        range: conv.range ?? [0, 1],
        normalization: conv.normalization ?? null,
      },
      size: conv.size ?? { kind: 'dynamic', multiple: 1 },
      output: {
        kind,
        range: conv.outputRange ?? (kind === 'rgb' ? [0, 1] : kind === 'ab' ? [-128, 128] : [-0.5, 0.5]),
      },
      renderSize,
    },
    colorizeGraph(conv, kind, a, b),
  );
}

/** A 3-frame model (frames stacked t-1, t, t+1 on the channel axis) that returns frame `pick`. */
export function frameSelectGraph(pick: 0 | 1 | 2, channels: 1 | 3 = 3): Uint8Array {
  const g = new GraphBuilder('frame-select');
  const x = g.input('input', [1, channels * 3, 'height', 'width']);
  g.node('Slice', [x, g.int64([pick * channels]), g.int64([(pick + 1) * channels]), g.int64([1])], {}, [
    'output',
  ]);
  g.output('output', [1, channels, 'height', 'width']);
  return g.encode();
}

/**
 * 1 − x, computed the long way: the picture is spread into `hidden` channels (the extra ones zero),
 * passed through `layers` identity 3×3 convolutions over all of them, and gathered back. Every
 * product is by 0 or 1, so the result is exact (and independent of tiling), but each frame costs
 * about layers × hidden² × 9 multiply-adds per pixel: a model that is deterministically slow
 * without changing what it computes.
 */
export function slowInvertGraph(hidden = 32, layers = 4, channels: 1 | 3 = 3): Uint8Array {
  const g = new GraphBuilder('slow-invert');
  let t = g.input('input', [1, channels, 'height', 'width']);
  const identity = (cout: number, cin: number): Float32Array => {
    const w = new Float32Array(cout * cin * 9);
    for (let k = 0; k < Math.min(cout, cin); k++) w[(k * cin + k) * 9 + 4] = 1;
    return w;
  };
  const conv = (cin: number, cout: number): void => {
    t = g.node(
      'Conv',
      [t, g.constant(identity(cout, cin), [cout, cin, 3, 3]), g.constant(new Float32Array(cout), [cout])],
      {
        pads: [1, 1, 1, 1],
      },
    );
  };
  conv(channels, hidden);
  for (let i = 0; i < layers; i++) conv(hidden, hidden);
  conv(hidden, channels);
  g.node('Sub', [g.constant([1], [1]), t], {}, ['output']);
  g.output('output', [1, channels, 'height', 'width']);
  return g.encode();
}
