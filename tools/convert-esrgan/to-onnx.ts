import { GraphBuilder, concatChannels, type TrackedTensor } from '../onnx/builder';
import type { KerasLayer, LayersModel, WeightTensor } from './tfjs-layers';

/**
 * Maps a Keras functional graph (NHWC, as TF.js runs it) onto an equivalent ONNX graph (NCHW),
 * layer by layer and without any numerical shortcut, so ONNX Runtime computes what TF.js computes.
 * Along the way it tracks each tensor's channel count (to check every weight's shape) and its
 * receptive-field radius in input pixels (to size the tile overlap).
 */

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';

export interface ConvertedGraph {
  onnx: Uint8Array;
  /** Output pixels per input pixel along each axis. */
  scale: number;
  /** How many input pixels on each side can influence one output pixel (ceil). */
  receptiveRadius: number;
  outputChannels: number;
}

type Tensor = TrackedTensor;

/** Keras NHWC axis → ONNX NCHW axis. */
const NHWC_TO_NCHW: Record<number, number> = { 1: 2, 2: 3, 3: 1, [-1]: 1, [-2]: 3, [-3]: 2 };

function pair(v: unknown, what: string): [number, number] {
  if (Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n))) return [v[0], v[1]];
  throw new Error(`${what}: expected two integers, got ${JSON.stringify(v)}`);
}

/** HWIO (TF) → OIHW (ONNX). */
export function hwioToOihw(w: WeightTensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          out[((o * cin + i) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + i) * cout + o];
        }
  return { data: out, dims: [cout, cin, kh, kw] };
}

export interface ConvertOptions {
  /**
   * How convolution kernels are stored. float16 halves the file; the graph casts them back and
   * computes in float32, so only the weights' own rounding (2^-11 relative) changes the output.
   */
  kernels?: 'float32' | 'float16';
}

export function convertLayersModel(model: LayersModel, opts: ConvertOptions = {}): ConvertedGraph {
  const where = (layer: KerasLayer): string => `${model.path}: layer ${layer.name} (${layer.className})`;
  const g = new GraphBuilder('esrgan', 17);
  const tensors = new Map<string, Tensor>();
  const used = new Set<string>();

  const inputOf = (layer: KerasLayer, count?: number): Tensor[] => {
    if (count !== undefined && layer.inputs.length !== count) {
      throw new Error(`${where(layer)}: expected ${count} input(s), got ${layer.inputs.length}`);
    }
    return layer.inputs.map((n) => {
      const t = tensors.get(n);
      if (!t) throw new Error(`${where(layer)}: input ${n} is not defined before use`);
      return t;
    });
  };
  const weight = (layer: KerasLayer, suffix: string): WeightTensor => {
    const key = `${layer.name}/${suffix}`;
    const w = model.weights.get(key);
    if (!w) throw new Error(`${where(layer)}: weight ${key} is missing`);
    used.add(key);
    return w;
  };
  const activation = (layer: KerasLayer, x: string, kind: unknown, outName: string): string => {
    if (kind === 'linear' || kind === undefined) return x;
    if (kind === 'relu') return g.node('Relu', [x], {}, [outName]);
    throw new Error(`${where(layer)}: activation ${String(kind)} is not supported`);
  };

  for (const layer of model.layers) {
    const c = layer.config;
    let out: Tensor;
    switch (layer.className) {
      case 'InputLayer': {
        const shape = c.batch_input_shape;
        if (!Array.isArray(shape) || shape.length !== 4)
          throw new Error(`${where(layer)}: expected a 4-D input`);
        const channels = shape[3] as number;
        g.input(INPUT_NAME, ['batch', channels, 'height', 'width']);
        out = { name: INPUT_NAME, channels, scale: 1, radius: 0 };
        break;
      }
      case 'Conv2D': {
        const [x] = inputOf(layer, 1);
        const [kh, kw] = pair(c.kernel_size, `${where(layer)} kernel_size`);
        const strides = pair(c.strides, `${where(layer)} strides`);
        const dilation = pair(c.dilation_rate, `${where(layer)} dilation_rate`);
        if (strides.some((s) => s !== 1) || dilation.some((d) => d !== 1) || (c.groups ?? 1) !== 1) {
          throw new Error(`${where(layer)}: only stride 1, dilation 1, groups 1 are supported`);
        }
        if (c.data_format !== 'channels_last')
          throw new Error(`${where(layer)}: data_format must be channels_last`);
        const k = weight(layer, 'kernel');
        if (
          k.shape.length !== 4 ||
          k.shape[0] !== kh ||
          k.shape[1] !== kw ||
          k.shape[2] !== x.channels ||
          k.shape[3] !== c.filters
        ) {
          throw new Error(
            `${where(layer)}: kernel shape ${k.shape} does not fit ${kh}x${kw}, ${x.channels} -> ${String(c.filters)}`,
          );
        }
        const { data, dims } = hwioToOihw(k);
        const kernel =
          opts.kernels === 'float16'
            ? g.constantHalf(data, dims, `${layer.name}/kernel`)
            : g.constant(data, dims, `${layer.name}/kernel`);
        const inputs = [x.name, kernel];
        if (c.use_bias) {
          const b = weight(layer, 'bias');
          inputs.push(g.constant(b.data, [b.data.length], `${layer.name}/bias`));
        }
        // TF "same" with stride 1 pads (k-1) in total, the smaller half before; "valid" pads nothing.
        let pads = [0, 0, 0, 0];
        if (c.padding === 'same')
          pads = [(kh - 1) >> 1, (kw - 1) >> 1, kh - 1 - ((kh - 1) >> 1), kw - 1 - ((kw - 1) >> 1)];
        else if (c.padding !== 'valid')
          throw new Error(`${where(layer)}: padding ${String(c.padding)} is not supported`);
        const hasAct = c.activation !== 'linear' && c.activation !== undefined;
        let y = g.node(
          'Conv',
          inputs,
          { kernel_shape: [kh, kw], pads, strides: [1, 1], dilations: [1, 1], group: 1 },
          [hasAct ? `${layer.name}/conv` : layer.name],
        );
        y = activation(layer, y, c.activation, layer.name);
        out = {
          name: y,
          channels: k.shape[3],
          scale: x.scale,
          radius: x.radius + (Math.max(kh, kw) - 1) / 2 / x.scale,
        };
        break;
      }
      case 'Activation': {
        const [x] = inputOf(layer, 1);
        out = { ...x, name: activation(layer, x.name, c.activation, layer.name) };
        break;
      }
      case 'Concatenate': {
        const xs = inputOf(layer);
        const axis = NHWC_TO_NCHW[c.axis as number];
        if (axis !== 1) throw new Error(`${where(layer)}: only channel concatenation is supported`);
        out = concatChannels(g, xs, layer.name, where(layer));
        break;
      }
      case 'Add': {
        const xs = inputOf(layer);
        if (xs.length < 2 || new Set(xs.map((t) => `${t.channels}@${t.scale}`)).size !== 1) {
          throw new Error(`${where(layer)}: Add needs two or more inputs of one shape`);
        }
        const y = g.node(
          xs.length === 2 ? 'Add' : 'Sum',
          xs.map((t) => t.name),
          {},
          [layer.name],
        );
        out = { ...xs[0], name: y, radius: Math.max(...xs.map((t) => t.radius)) };
        break;
      }
      case 'UpSampling2D': {
        const [x] = inputOf(layer, 1);
        const [sh, sw] = pair(c.size, `${where(layer)} size`);
        if (sh !== sw) throw new Error(`${where(layer)}: only square upsampling is supported`);
        if (c.interpolation !== 'nearest')
          throw new Error(`${where(layer)}: interpolation ${String(c.interpolation)} is not supported`);
        // Keras nearest upsampling repeats each pixel: out[i] = in[floor(i / s)], which is exactly
        // ONNX Resize nearest with asymmetric coordinates and floor rounding at an integer scale.
        const scales = g.constant([1, 1, sh, sw], [4], `${layer.name}/scales`);
        const y = g.node(
          'Resize',
          [x.name, '', scales],
          { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
          [layer.name],
        );
        out = { ...x, name: y, scale: x.scale * sh };
        break;
      }
      case 'MultiplyBeta': {
        const [x] = inputOf(layer, 1);
        if (typeof c.beta !== 'number') throw new Error(`${where(layer)}: beta is missing`);
        const y = g.node('Mul', [x.name, g.constant([c.beta], [], `${layer.name}/beta`)], {}, [layer.name]);
        out = { ...x, name: y };
        break;
      }
      default: {
        const shuffle = /^PixelShuffle(\d+)x$/.exec(layer.className);
        if (!shuffle) throw new Error(`${where(layer)}: layer type is not supported`);
        const [x] = inputOf(layer, 1);
        const s = Number(c.scale ?? shuffle[1]);
        if (s !== Number(shuffle[1]))
          throw new Error(`${where(layer)}: scale ${s} contradicts the class name`);
        if (x.channels % (s * s) !== 0)
          throw new Error(`${where(layer)}: ${x.channels} channels do not split into ${s}x${s}`);
        // tf.depthToSpace (NHWC) reads channel (i*s + j)*C + c for offset (i, j): ONNX's DCR order.
        const y = g.node('DepthToSpace', [x.name], { blocksize: s, mode: 'DCR' }, [layer.name]);
        out = { name: y, channels: x.channels / (s * s), scale: x.scale * s, radius: x.radius };
      }
    }
    if (tensors.has(layer.name)) throw new Error(`${where(layer)}: duplicate layer name`);
    tensors.set(layer.name, out);
  }

  const unused = [...model.weights.keys()].filter((k) => !used.has(k));
  if (unused.length) throw new Error(`${model.path}: weights not used by any layer: ${unused.join(', ')}`);
  const last = tensors.get(model.outputName);
  if (!last) throw new Error(`${model.path}: output layer ${model.outputName} not found`);
  g.node('Identity', [last.name], {}, [OUTPUT_NAME]);
  g.output(OUTPUT_NAME, ['batch', last.channels, 'height_out', 'width_out']);
  return {
    onnx: g.encode('tintype convert-esrgan'),
    scale: last.scale,
    receptiveRadius: Math.ceil(last.radius - 1e-9),
    outputChannels: last.channels,
  };
}
