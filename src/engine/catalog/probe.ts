import { basename, extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ImportProbe, ModelInfo, TensorInfo } from '../../shared/catalog';
import type { ManifestInput, Task } from '../../shared/manifest';
import { guessTask, TASK_INFO } from '../../shared/ops';
import { errorMessage } from '../errors';
import { digestFile } from './hash';
import { formatShape, openSession, sessionInfo } from './shapes';

/**
 * Works out an unknown .onnx file's conventions by running it. Public exports of the same network
 * differ in value range, layout and size rules, and their files rarely say which; the graph's
 * declared shapes answer some questions, test runs answer the rest:
 *  - size rule: which square sizes run and give an output of input x scale;
 *  - value range: a grey test image is fed in each candidate range ([0,1], [0,255], [-1,1]); a
 *    network sees its training range as a real picture and anything else as near-black or blown
 *    out, so the range whose output follows the picture best (RGB) or varies most without
 *    blowing up (chroma) wins;
 *  - RGB vs chroma-only: the output's channel count; colorize vs restore: colour in the output.
 * The result is a proposal the user confirms: where two conventions fit alike it says so.
 */

type Range = [number, number];
type Layout = 'NCHW' | 'NHWC';

const INPUT_RANGES: Range[] = [
  [0, 1],
  [0, 255],
  [-1, 1],
];
const OUTPUT_RANGES: Range[] = [
  [0, 1],
  [0, 255],
  [-1, 1],
];
/** Square sizes tried until one runs; multiples of 64 so any power-of-two size rule up to 64 fits. */
const BASE_SIZES = [64, 128, 192, 256, 512];
const STEPS = [1, 2, 4, 8, 16, 32, 64];

interface RunResult {
  out: Float32Array;
  dims: number[];
}

const fmtRange = (r: Range) => `[${r[0]}, ${r[1]}]`;

/** A smooth grey test picture in [0.05, 0.95]: a horizontal ramp (values spread evenly) with a soft blob. */
export function testPicture(size: number): Float32Array {
  const t = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const ramp = x / (size - 1);
      const dx = x / size - 0.35;
      const dy = y / size - 0.6;
      const blob = Math.exp(-(dx * dx + dy * dy) * 18);
      t[y * size + x] = 0.05 + 0.9 * (0.8 * ramp + 0.2 * blob);
    }
  }
  return t;
}

/** Mean distance to the median: the error of the best flat grey guess, the yardstick for "follows the picture". */
function flatError(t: Float32Array): number {
  const sorted = Float32Array.from(t).sort();
  const med = sorted[sorted.length >> 1];
  let s = 0;
  for (const v of t) s += Math.abs(v - med);
  return s / t.length;
}

function inputTensor(
  layout: Layout,
  channels: number,
  size: number,
  picture: Float32Array,
  range: Range,
): ort.Tensor {
  const data = new Float32Array(channels * size * size);
  const [lo, hi] = range;
  const px = size * size;
  for (let i = 0; i < px; i++) {
    const v = lo + (hi - lo) * picture[i];
    for (let c = 0; c < channels; c++) data[layout === 'NCHW' ? c * px + i : i * channels + c] = v;
  }
  return new ort.Tensor(
    'float32',
    data,
    layout === 'NCHW' ? [1, channels, size, size] : [1, size, size, channels],
  );
}

/** Output dims as [channels, height, width] for a layout. */
function chw(dims: number[], layout: Layout): [number, number, number] {
  return layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
}

/** Channel c of a 4-D output, downsampled by `scale` (block mean) to the input's size. */
function channelAt(r: RunResult, layout: Layout, c: number, scale: number): Float32Array {
  const [C, H, W] = chw(r.dims, layout);
  const h = Math.floor(H / scale);
  const w = Math.floor(W / scale);
  const res = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let sy = 0; sy < scale; sy++) {
        for (let sx = 0; sx < scale; sx++) {
          const yy = y * scale + sy;
          const xx = x * scale + sx;
          sum += r.out[layout === 'NCHW' ? c * H * W + yy * W + xx : (yy * W + xx) * C + c];
        }
      }
      res[y * w + x] = sum / (scale * scale);
    }
  }
  return res;
}

function mean(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

function std(a: Float32Array): number {
  const m = mean(a);
  let s = 0;
  for (const v of a) s += (v - m) * (v - m);
  return Math.sqrt(s / a.length);
}

const allFinite = (a: Float32Array): boolean => a.every((v) => Number.isFinite(v));

export function sanitizeId(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '');
  return id || 'imported-model';
}

const roundTo = (v: number, m: number) => Math.max(m, Math.round(v / m) * m);
const ceilTo = (v: number, m: number) => Math.max(m, Math.ceil(v / m) * m);
const floorTo = (v: number, m: number) => Math.max(m, Math.floor(v / m) * m);

class Prober {
  readonly findings: string[] = [];
  readonly problems: string[] = [];
  readonly uncertain: string[] = [];

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly input: TensorInfo,
    private readonly output: TensorInfo,
  ) {}

  async run(
    layout: Layout,
    channels: number,
    size: number,
    picture: Float32Array,
    range: Range,
  ): Promise<RunResult> {
    const feeds = { [this.input.name]: inputTensor(layout, channels, size, picture, range) };
    const res = await this.session.run(feeds, [this.output.name]);
    const t = res[this.output.name];
    if (!t || t.type !== 'float32')
      throw new Error(`output "${this.output.name}" is ${t?.type ?? 'missing'}, not float32`);
    const dims = t.dims.map(Number);
    if (dims.length !== 4) throw new Error(`output "${this.output.name}" has ${dims.length} dimensions`);
    return { out: t.data as Float32Array, dims };
  }

  /** A run at `size` that gives an output of size x (integer scale); null with the reason otherwise. */
  async tryRun(
    layout: Layout,
    channels: number,
    size: number,
    outLayout: Layout,
  ): Promise<{ r: RunResult; scale: number } | string> {
    let r: RunResult;
    try {
      r = await this.run(layout, channels, size, testPicture(size), [0, 1]);
    } catch (err) {
      return errorMessage(err).split('\n')[0];
    }
    const [, h, w] = chw(r.dims, outLayout);
    if (h !== w || h % size !== 0) return `output ${h}x${w} for input ${size}x${size}`;
    return { r, scale: h / size };
  }
}

/** Reads and runs `file`, returning what it found and a proposed manifest (or why it cannot work). */
export async function probeOnnx(
  file: string,
  opts: { id?: string; name?: string } = {},
): Promise<ImportProbe> {
  const session = await openSession(file);
  let info: ModelInfo = { inputs: [], outputs: [] };
  try {
    info = sessionInfo(session);
    return await probeSession(file, session, info, opts);
  } finally {
    await session.release();
  }
}

async function probeSession(
  file: string,
  session: ort.InferenceSession,
  info: ModelInfo,
  opts: { id?: string; name?: string },
): Promise<ImportProbe> {
  const result = (
    p: Prober | null,
    problems: string[],
    proposal: ManifestInput | null = null,
  ): ImportProbe => ({
    file,
    info,
    findings: p?.findings ?? [],
    problems,
    uncertain: p?.uncertain ?? [],
    proposal,
  });

  // Structure: what cannot work whatever the conventions.
  const problems: string[] = [];
  if (info.inputs.length === 0) problems.push('the graph has no inputs');
  if (info.inputs.length > 1) {
    problems.push(
      `the graph has ${info.inputs.length} inputs (${info.inputs.map((t) => t.name).join(', ')}); Tintype feeds a single image tensor`,
    );
  }
  if (info.outputs.length === 0) problems.push('the graph has no outputs');
  const input = info.inputs[0];
  const output = info.outputs[0];
  if (input) {
    if (input.type !== 'float32')
      problems.push(`input "${input.name}" is ${input.type}; Tintype feeds float32 images`);
    if (input.shape.length !== 0 && input.shape.length !== 4) {
      problems.push(
        `input "${input.name}" has shape ${formatShape(input.shape)} (${input.shape.length}-D); Tintype needs a 4-D image tensor (N,C,H,W or N,H,W,C)`,
      );
    }
  }
  if (output) {
    if (output.type !== 'float32')
      problems.push(`output "${output.name}" is ${output.type}; Tintype reads float32 images`);
    if (output.shape.length !== 0 && output.shape.length !== 4) {
      problems.push(
        `output "${output.name}" has shape ${formatShape(output.shape)} (${output.shape.length}-D); Tintype needs a 4-D image (N,C,H,W or N,H,W,C)`,
      );
    }
  }
  if (problems.length > 0) return result(null, problems);

  const p = new Prober(session, input, output);
  const d = input.shape.length === 4 ? input.shape : ['N', 'C', 'H', 'W'];
  if (input.shape.length === 0) p.findings.push(`input "${input.name}" declares no shape; assuming 4-D`);
  if (typeof d[0] === 'number' && d[0] !== 1)
    return result(p, [`input "${input.name}" has a fixed batch of ${d[0]}; Tintype feeds one image`]);

  // Layout and channels: a declared 1 or 3 on the channel axis decides; otherwise test runs do.
  const isCh = (v: number | string) => v === 1 || v === 3;
  let candidates: { layout: Layout; channels: 1 | 3 }[];
  if (isCh(d[1])) candidates = [{ layout: 'NCHW', channels: d[1] as 1 | 3 }];
  else if (isCh(d[3])) candidates = [{ layout: 'NHWC', channels: d[3] as 1 | 3 }];
  else if (typeof d[1] === 'number' || typeof d[3] === 'number') {
    // A fixed channel axis that is neither 1 nor 3 (NCHW guessed first, as most exports are).
    const ch = typeof d[1] === 'number' ? d[1] : d[3];
    return result(p, [
      `input "${input.name}" ${formatShape(input.shape)} has ${ch} channels; Tintype feeds 1 (grey) or 3 (RGB)`,
    ]);
  } else {
    candidates = [
      { layout: 'NCHW', channels: 3 },
      { layout: 'NHWC', channels: 3 },
      { layout: 'NCHW', channels: 1 },
      { layout: 'NHWC', channels: 1 },
    ];
  }

  // Sizes: fixed when the graph says so, else find a size that runs and the smallest step between sizes.
  let layout: Layout = candidates[0].layout;
  let channels: 1 | 3 = candidates[0].channels;
  let fixed: number | null = null;
  let base: { size: number; r: RunResult; scale: number } | null = null;
  let lastError = '';
  const spatial = (l: Layout) => (l === 'NCHW' ? [d[2], d[3]] : [d[1], d[2]]);

  for (const cand of candidates) {
    const [h, w] = spatial(cand.layout);
    if (typeof h === 'number' || typeof w === 'number') {
      if (typeof h !== 'number' || typeof w !== 'number') {
        return result(p, [
          `input "${input.name}" ${formatShape(input.shape)} fixes one side only; Tintype needs both fixed or both dynamic`,
        ]);
      }
      if (h !== w) {
        return result(p, [
          `input "${input.name}" is fixed at ${h}x${w}; Tintype's fixed-size models must be square`,
        ]);
      }
      const run = await p.tryRun(cand.layout, cand.channels, h, cand.layout);
      if (typeof run === 'string') {
        lastError = run;
        continue;
      }
      ({ layout, channels } = cand);
      fixed = h;
      base = { size: h, ...run };
      break;
    }
    for (const size of BASE_SIZES) {
      const run = await p.tryRun(cand.layout, cand.channels, size, cand.layout);
      if (typeof run === 'string') {
        lastError = run;
        continue;
      }
      ({ layout, channels } = cand);
      base = { size, ...run };
      break;
    }
    if (base) break;
  }
  if (!base) {
    const sizes = fixed ? `${fixed}` : BASE_SIZES.join(', ');
    return result(p, [`the model does not run on a ${sizes} px test image (${lastError})`]);
  }
  if (candidates.length > 1)
    p.findings.push(`layout ${layout} with ${channels} channel(s) found by running the model`);
  else
    p.findings.push(
      `input "${input.name}" ${formatShape(input.shape)}: ${layout}, ${channels === 3 ? 'RGB' : 'grey'}`,
    );

  let multiple = 1;
  if (fixed !== null) {
    p.findings.push(`fixed size ${fixed}x${fixed}`);
  } else {
    multiple = base.size;
    for (const step of STEPS) {
      const size = base.size + step;
      const run = await p.tryRun(layout, channels, size, layout);
      if (typeof run !== 'string' && run.scale === base.scale) {
        multiple = step;
        break;
      }
    }
    p.findings.push(
      multiple === 1
        ? `dynamic size: runs at ${base.size} and ${base.size + 1} px (any size)`
        : `dynamic size: runs at ${base.size} and ${base.size + multiple} px but not between: sizes must be a multiple of ${multiple}`,
    );
  }

  // Output: channels and scale from the base run (its layout is taken to be the input's).
  const [outC] = chw(base.r.dims, layout);
  const scale = base.scale;
  if (![1, 2, 3].includes(outC)) {
    return result(p, [
      `output "${output.name}" has ${outC} channels ${formatShape(base.r.dims)}; Tintype reads 3 (RGB), 2 (chroma) or 1 (grey)`,
    ]);
  }
  if (scale < 1 || scale > 8)
    return result(p, [`output is ${scale}x the input size; Tintype handles 1x to 8x`]);
  if (outC === 2 && scale !== 1)
    return result(p, ['a chroma-only (2-channel) output must be the input size']);
  p.findings.push(`output "${output.name}": ${outC} channel(s), ${scale}x the input size`);

  // Value ranges from test runs at the working size.
  const size = base.size;
  const picture = testPicture(size);
  const runs: { range: Range; r: RunResult | null }[] = [];
  for (const range of INPUT_RANGES) {
    try {
      runs.push({ range, r: await p.run(layout, channels, size, picture, range) });
    } catch {
      runs.push({ range, r: null });
    }
  }

  let task: Task;
  let inRange: Range;
  let outRange: Range;
  let kind: 'rgb' | 'grey' | 'ab';
  if (outC === 2) {
    kind = 'ab';
    // Chroma-only output: a model that adds colour.
    task = guessTask({ enlarges: false, addsColour: true });
    // A chroma head fed its own range varies with the picture; fed another it sits still or blows up.
    const scored = runs
      .filter((x): x is { range: Range; r: RunResult } => x.r !== null && allFinite(x.r.out))
      .map((x) => {
        const a = channelAt(x.r, layout, 0, 1);
        const b = channelAt(x.r, layout, 1, 1);
        let maxAbs = 0;
        for (const v of x.r.out) maxAbs = Math.max(maxAbs, Math.abs(v));
        return { range: x.range, spread: (std(a) + std(b)) / 2, maxAbs };
      })
      .filter((s) => s.maxAbs <= 150)
      .sort((s, t) => t.spread - s.spread);
    if (scored.length === 0 || scored[0].spread === 0) {
      return result(p, [
        'the chroma output does not change with the picture at any tested input range, or is not finite',
      ]);
    }
    const best = scored[0];
    inRange = best.range;
    outRange = best.maxAbs > 2 ? [-128, 128] : [-1, 1];
    p.findings.push(
      `chroma output varies most with inputs in ${fmtRange(inRange)} (spread ${best.spread.toFixed(3)}, peak ${best.maxAbs.toFixed(2)})`,
    );
    if (scored[1] && scored[1].spread > 0.8 * best.spread) {
      p.uncertain.push(
        `inputs in ${fmtRange(scored[1].range)} give a similar output; assumed ${fmtRange(inRange)}`,
      );
    }
    p.uncertain.push(
      outRange[0] === -128
        ? 'chroma values look like Lab a/b units (range [-128, 128]); if it predicts YUV U/V, set output kind "uv"'
        : 'chroma values stay within ±2: assumed a/b scaled to [-1, 1]; if it predicts YUV U/V, set kind "uv" and range [-0.5, 0.5]',
    );
  } else {
    kind = outC === 3 ? 'rgb' : 'grey';
    // An RGB/grey head fed its own range gives back a picture like the input (colour aside).
    // Errors are relative to a flat grey guess: 1 means "no better than ignoring the picture".
    const flat = flatError(picture);
    const scored: { inR: Range; outR: Range; err: number }[] = [];
    for (const x of runs) {
      if (!x.r || !allFinite(x.r.out)) continue;
      const chans = Array.from({ length: outC }, (_, c) => channelAt(x.r as RunResult, layout, c, scale));
      const luma = new Float32Array(picture.length);
      for (const ch of chans) for (let i = 0; i < luma.length; i++) luma[i] += ch[i] / outC;
      for (const outR of OUTPUT_RANGES) {
        let err = 0;
        for (let i = 0; i < luma.length; i++)
          err += Math.abs((luma[i] - outR[0]) / (outR[1] - outR[0]) - picture[i]);
        scored.push({ inR: x.range, outR, err: err / luma.length / flat });
      }
    }
    scored.sort((s, t) => s.err - t.err);
    if (scored.length === 0)
      return result(p, ['the model fails or returns non-finite values for every tested input range']);
    const best = scored[0];
    inRange = best.inR;
    outRange = best.outR;
    p.findings.push(
      `output follows the picture best with inputs in ${fmtRange(inRange)} and outputs in ${fmtRange(outRange)} (relative error ${best.err.toFixed(2)})`,
    );
    if (best.err > 0.5) {
      p.uncertain.push(
        `the output hardly follows the input at any tested range (relative error ${best.err.toFixed(2)}); check the ranges`,
      );
    }
    const rival = scored.find((s) => s.inR !== best.inR && s.err < Math.max(1.5 * best.err, best.err + 0.15));
    if (rival) {
      p.uncertain.push(
        `inputs in ${fmtRange(rival.inR)} (outputs ${fmtRange(rival.outR)}) fit almost as well; assumed ${fmtRange(inRange)}`,
      );
    }
    let chroma = 0;
    const bestRun = runs.find((x) => x.range === inRange)?.r;
    if (bestRun && outC === 3) {
      const [r, g, b] = [0, 1, 2].map((c) => channelAt(bestRun, layout, c, scale));
      for (let i = 0; i < r.length; i++) chroma += Math.max(r[i], g[i], b[i]) - Math.min(r[i], g[i], b[i]);
      chroma /= r.length * (outRange[1] - outRange[0]);
    }
    task = guessTask({ enlarges: scale > 1, addsColour: chroma > 0.02 });
    if (scale <= 1 && chroma > 0.02)
      p.findings.push(`adds colour to a grey picture (mean chroma ${chroma.toFixed(3)}): a colorizer`);
  }

  const baseName = basename(file, extname(file));
  const sha256 = (await digestFile(file)).sha256;
  const proposal: ManifestInput = {
    id: opts.id ?? sanitizeId(baseName),
    name: opts.name ?? baseName,
    version: '1.0.0',
    task,
    file: 'model.onnx',
    input: { name: input.name, layout, channels, frames: 1, range: inRange, normalization: null },
    size: fixed !== null ? { kind: 'fixed', value: fixed } : { kind: 'dynamic', multiple },
    output: { name: output.name, layout, kind, range: outRange },
    scale,
    license: 'unknown',
    source: `imported from ${basename(file)}`,
    sha256,
  };
  if (TASK_INFO[task].runs === 'render-size') {
    const m = multiple;
    proposal.renderSize =
      fixed !== null
        ? { default: fixed, min: fixed, max: fixed }
        : { default: roundTo(256, m), min: Math.min(ceilTo(192, m), floorTo(512, m)), max: floorTo(512, m) };
  } else {
    proposal.tile = {
      size: fixed ?? roundTo(256, multiple),
      overlap: fixed !== null ? Math.min(16, Math.floor(fixed / 8)) : 16,
    };
  }
  return result(p, [], proposal);
}
