import { GraphBuilder, concatChannels, type TrackedTensor } from '../onnx/builder';
import type { BinReader, NcnnGraph, NcnnLayer, ParamValue } from './ncnn';

/**
 * Maps an ncnn graph (CHW blobs, batch implied) onto an equivalent ONNX graph (NCHW, dynamic batch,
 * height and width), layer by layer, reading each layer's weights from the .bin in order. Covers the
 * layer types of Real-ESRGAN's ncnn exports (RRDBNet and SRVGGNetCompact) and refuses anything
 * else by name. Like tools/convert-esrgan it tracks channels (to check every weight's size) and the
 * receptive-field radius in input pixels.
 */

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';

export interface ConvertOptions {
  /** Input channels (an ncnn Input layer rarely states them). */
  channels: number;
  /**
   * How float16 weights of the .bin are stored: 'float16' keeps them as they are (a Cast to float32
   * in the graph, so ONNX Runtime computes in float32 on the very same weights); 'float32' widens them.
   */
  weights: 'float16' | 'float32';
}

export interface ConvertedGraph {
  onnx: Uint8Array;
  scale: number;
  receptiveRadius: number;
  outputChannels: number;
  /** How the source stored its convolution weights. */
  sourceStorage: 'float16' | 'float32' | 'mixed';
}

type Blob = TrackedTensor;

const int = (l: NcnnLayer, id: number, dflt: number): number => {
  const v = l.params.get(id);
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new Error(`layer ${l.name}: parameter ${id} should be a number`);
  return v;
};
const arr = (l: NcnnLayer, id: number): number[] | undefined => {
  const v: ParamValue | undefined = l.params.get(id);
  if (v === undefined) return undefined;
  return typeof v === 'number' ? [v] : v;
};

export function convertNcnn(graph: NcnnGraph, bin: BinReader, opts: ConvertOptions): ConvertedGraph {
  const g = new GraphBuilder('ncnn', 17);
  const blobs = new Map<string, Blob>();
  const storages = new Set<'float16' | 'float32'>();
  let inputSeen = false;
  const where = (l: NcnnLayer) => `${graph.path}:${l.line}: ${l.type} ${l.name}`;
  const inputs = (l: NcnnLayer, count?: number): Blob[] => {
    if (count !== undefined && l.bottoms.length !== count)
      throw new Error(`${where(l)}: expected ${count} input(s), got ${l.bottoms.length}`);
    return l.bottoms.map((b) => {
      const t = blobs.get(b);
      if (!t) throw new Error(`${where(l)}: blob ${b} is used before it is made`);
      return t;
    });
  };
  const one = (l: NcnnLayer) => {
    if (l.tops.length !== 1) throw new Error(`${where(l)}: expected one output, got ${l.tops.length}`);
    return l.tops[0];
  };
  // ncnn blob names ("data", "output", "102") get a prefix so none can clash with ours.
  const onnxName = (top: string) => `blob:${top}`;

  for (const l of graph.layers) {
    const known = new Set<number>();
    const p = (id: number, dflt: number) => (known.add(id), int(l, id, dflt));
    const pa = (id: number) => (known.add(id), arr(l, id));
    let out: Blob | undefined;
    switch (l.type) {
      case 'Input': {
        if (inputSeen) throw new Error(`${where(l)}: only one input is supported`);
        inputSeen = true;
        const c = p(2, 0);
        if (c && c !== opts.channels)
          throw new Error(`${where(l)}: ${c} channels, expected ${opts.channels}`);
        p(0, 0);
        p(1, 0);
        g.input(INPUT_NAME, ['batch', opts.channels, 'height', 'width']);
        out = { name: INPUT_NAME, channels: opts.channels, scale: 1, radius: 0 };
        break;
      }
      case 'Split': {
        const [x] = inputs(l, 1);
        for (const t of l.tops) blobs.set(t, x);
        break;
      }
      case 'Convolution': {
        const [x] = inputs(l, 1);
        const cout = p(0, 0);
        const kw = p(1, 0);
        const kh = p(11, kw);
        const dw = p(2, 1);
        const dh = p(12, dw);
        const sw = p(3, 1);
        const sh = p(13, sw);
        const pl = p(4, 0);
        const pt = p(14, pl);
        const pr = p(15, pl);
        const pb = p(16, pt);
        const padValue = p(18, 0);
        const bias = p(5, 0);
        const size = p(6, 0);
        const int8 = p(8, 0);
        const act = p(9, 0);
        const actParams = pa(10) ?? [];
        const dynamic = p(19, 0);
        if (sw !== 1 || sh !== 1) throw new Error(`${where(l)}: only stride 1 is supported`);
        if ([pl, pt, pr, pb].some((v) => v < 0))
          throw new Error(`${where(l)}: "same" padding (negative pad) is not supported`);
        if (padValue !== 0 || int8 || dynamic)
          throw new Error(`${where(l)}: pad value, int8 and dynamic weights are not supported`);
        if (size !== cout * x.channels * kh * kw)
          throw new Error(
            `${where(l)}: ${size} weights do not fit ${x.channels} -> ${cout} channels with a ${kw}x${kh} kernel`,
          );
        const w = bin.tagged(size, `${l.name} weights`);
        storages.add(w.storage);
        const dims = [cout, x.channels, kh, kw];
        const kernel =
          w.storage === 'float16' && opts.weights === 'float16'
            ? g.constantHalf(w.data, dims, `${l.name}/weight`)
            : g.constant(w.data, dims, `${l.name}/weight`);
        const ins = [x.name, kernel];
        if (bias) ins.push(g.constant(bin.raw(cout, `${l.name} bias`), [cout], `${l.name}/bias`));
        const conv = g.node(
          'Conv',
          ins,
          { kernel_shape: [kh, kw], pads: [pt, pl, pb, pr], strides: [1, 1], dilations: [dh, dw], group: 1 },
          [act ? `${l.name}/conv` : onnxName(one(l))],
        );
        let y = conv;
        if (act === 1) y = g.node('Relu', [conv], {}, [onnxName(one(l))]);
        else if (act === 2)
          y = g.node('LeakyRelu', [conv], { alpha: Math.fround(actParams[0] ?? 0) }, [onnxName(one(l))]);
        else if (act !== 0) throw new Error(`${where(l)}: fused activation type ${act} is not supported`);
        out = {
          name: y,
          channels: cout,
          scale: x.scale,
          radius: x.radius + Math.max((kh - 1) * dh, (kw - 1) * dw) / 2 / x.scale,
        };
        break;
      }
      case 'PReLU': {
        const [x] = inputs(l, 1);
        const n = p(0, 1);
        if (n !== 1 && n !== x.channels)
          throw new Error(`${where(l)}: ${n} slopes for ${x.channels} channels`);
        const slope = g.constant(
          bin.raw(n, `${l.name} slopes`),
          n === 1 ? [1] : [n, 1, 1],
          `${l.name}/slope`,
        );
        out = { ...x, name: g.node('PRelu', [x.name, slope], {}, [onnxName(one(l))]) };
        break;
      }
      case 'ReLU': {
        const [x] = inputs(l, 1);
        const slope = p(0, 0);
        const y =
          slope === 0
            ? g.node('Relu', [x.name], {}, [onnxName(one(l))])
            : g.node('LeakyRelu', [x.name], { alpha: Math.fround(slope) }, [onnxName(one(l))]);
        out = { ...x, name: y };
        break;
      }
      case 'Concat': {
        const xs = inputs(l);
        if (p(0, 0) !== 0) throw new Error(`${where(l)}: only channel concatenation (axis 0) is supported`);
        out = concatChannels(g, xs, onnxName(one(l)), where(l));
        break;
      }
      case 'Eltwise': {
        const xs = inputs(l);
        const op = p(0, 0);
        const coeffs = pa(1) ?? [];
        if (xs.length < 2 || new Set(xs.map((t) => `${t.channels}@${t.scale}`)).size !== 1)
          throw new Error(`${where(l)}: needs two or more inputs of one shape`);
        if (coeffs.length && coeffs.length !== xs.length)
          throw new Error(`${where(l)}: ${coeffs.length} coefficients for ${xs.length} inputs`);
        if (op !== 1 && coeffs.some((c) => c !== 1))
          throw new Error(`${where(l)}: coefficients only apply to a sum`);
        // ncnn sums coeff[i] * x[i]; a coefficient of 1 is left out of the graph.
        const terms = xs.map((t, i) => {
          const c = coeffs[i] ?? 1;
          return c === 1 ? t.name : g.node('Mul', [t.name, g.constant([c], [], `${l.name}/coeff${i}`)]);
        });
        const onnxOp = op === 0 ? 'Mul' : op === 1 ? 'Add' : op === 2 ? 'Max' : undefined;
        if (!onnxOp) throw new Error(`${where(l)}: operation ${op} is not supported`);
        let y = terms[0];
        for (let i = 1; i < terms.length; i++)
          y = g.node(onnxOp, [y, terms[i]], {}, i === terms.length - 1 ? [onnxName(one(l))] : undefined);
        out = { ...xs[0], name: y, radius: Math.max(...xs.map((t) => t.radius)) };
        break;
      }
      case 'BinaryOp': {
        const op = p(0, 0);
        const withScalar = p(1, 0);
        const b = p(2, 0);
        const ops = ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'];
        if (op >= ops.length) throw new Error(`${where(l)}: operation ${op} is not supported`);
        if (withScalar) {
          const [x] = inputs(l, 1);
          const y = g.node(ops[op], [x.name, g.constant([b], [], `${l.name}/b`)], {}, [onnxName(one(l))]);
          out = { ...x, name: y };
        } else {
          const [a, c] = inputs(l, 2);
          if (a.channels !== c.channels || a.scale !== c.scale)
            throw new Error(`${where(l)}: inputs differ in shape (broadcasting is not supported)`);
          const y = g.node(ops[op], [a.name, c.name], {}, [onnxName(one(l))]);
          out = { ...a, name: y, radius: Math.max(a.radius, c.radius) };
        }
        break;
      }
      case 'Interp': {
        const [x] = inputs(l, 1);
        const type = p(0, 0);
        const hs = p(1, 1);
        const ws = p(2, 1);
        const oh = p(3, 0);
        const ow = p(4, 0);
        const dynamicSize = p(5, 0);
        const alignCorner = p(6, 0);
        if (oh || ow || dynamicSize)
          throw new Error(`${where(l)}: only scale factors are supported, not sizes`);
        if (hs !== ws || !Number.isInteger(hs) || hs < 1)
          throw new Error(`${where(l)}: only equal integer scale factors are supported`);
        const scales = g.constant([1, 1, hs, ws], [4], `${l.name}/scales`);
        let attrs: Record<string, string>;
        // ncnn nearest reads in[floor(i / s)]: ONNX nearest, asymmetric, floor. Bilinear follows
        // PyTorch: half-pixel centres unless align_corner.
        if (type === 1)
          attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
        else if (type === 2)
          attrs = {
            mode: 'linear',
            coordinate_transformation_mode: alignCorner ? 'align_corners' : 'half_pixel',
          };
        else throw new Error(`${where(l)}: resize type ${type} is not supported (nearest and bilinear are)`);
        const y = g.node('Resize', [x.name, '', scales], attrs, [onnxName(one(l))]);
        out = { ...x, name: y, scale: x.scale * hs, radius: x.radius + (type === 2 ? 1 / x.scale : 0) };
        break;
      }
      case 'PixelShuffle': {
        const [x] = inputs(l, 1);
        const r = p(0, 1);
        const mode = p(1, 0);
        if (x.channels % (r * r))
          throw new Error(`${where(l)}: ${x.channels} channels do not split into ${r}x${r}`);
        // mode 0 is PyTorch's pixel_shuffle (channel c*r*r + i*r + j): ONNX DepthToSpace CRD.
        const y = g.node('DepthToSpace', [x.name], { blocksize: r, mode: mode === 0 ? 'CRD' : 'DCR' }, [
          onnxName(one(l)),
        ]);
        out = { name: y, channels: x.channels / (r * r), scale: x.scale * r, radius: x.radius };
        break;
      }
      default:
        throw new Error(`${where(l)}: layer type ${l.type} is not supported`);
    }
    const unknown = [...l.params.keys()].filter((k) => !known.has(k));
    if (l.type !== 'Split' && unknown.length)
      throw new Error(`${where(l)}: parameter(s) ${unknown.join(', ')} are not understood`);
    if (out) blobs.set(one(l), out);
  }
  if (bin.remaining !== 0)
    throw new Error(
      `${bin.path}: ${bin.remaining} bytes left after the last layer (the .param and .bin do not match)`,
    );
  const consumed = new Set(graph.layers.flatMap((l) => l.bottoms));
  const ends = graph.layers.flatMap((l) => l.tops).filter((t) => !consumed.has(t));
  if (ends.length !== 1) throw new Error(`${graph.path}: expected one output blob, found ${ends.join(', ')}`);
  const last = blobs.get(ends[0])!;
  g.node('Identity', [last.name], {}, [OUTPUT_NAME]);
  g.output(OUTPUT_NAME, ['batch', last.channels, 'height_out', 'width_out']);
  return {
    onnx: g.encode('tintype convert-ncnn'),
    scale: last.scale,
    receptiveRadius: Math.ceil(last.radius - 1e-9),
    outputChannels: last.channels,
    sourceStorage: storages.size === 1 ? [...storages][0] : 'mixed',
  };
}
