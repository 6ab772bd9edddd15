import onnxProto from 'onnx-proto';
import { toFloat16Array } from './float16';

const { onnx } = onnxProto;

/**
 * A small ONNX graph writer. Tests generate their own models with it (one per manifest convention)
 * and the model converters write real networks with it, so no model file is ever hand-made.
 */

export type Dim = number | string;
export type Attr = number | number[] | string | Float32Array | { floats: number[] } | { ints: number[] };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

function valueInfo(name: string, dims: Dim[], elemType = FLOAT): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, value: Attr): InstanceType<typeof onnx.AttributeProto> {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string')
    return onnx.AttributeProto.create({ name, type: A.STRING, s: Buffer.from(value) });
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? onnx.AttributeProto.create({ name, type: A.INT, i: value })
      : onnx.AttributeProto.create({ name, type: A.FLOAT, f: value });
  }
  if (value instanceof Float32Array)
    return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: [...value] });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: value });
  if ('floats' in value) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: value.floats });
  return onnx.AttributeProto.create({ name, type: A.INTS, ints: value.ints });
}

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;

  constructor(
    private readonly name = 'graph',
    private readonly opset = 17,
  ) {}

  /** A fresh, unique tensor name. */
  fresh(prefix = 't'): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  /** A graph input, float32 unless `type` says otherwise. */
  input(name: string, dims: Dim[], type: 'float' | 'int64' | 'uint8' | 'uint16' = 'float'): string {
    const T = onnx.TensorProto.DataType;
    const elem = { float: FLOAT, int64: INT64, uint8: T.UINT8, uint16: T.UINT16 }[type];
    this.inputs.push(valueInfo(name, dims, elem));
    return name;
  }

  output(name: string, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, dims));
    return name;
  }

  /** A float32 constant tensor stored as an initializer. */
  constant(values: ArrayLike<number>, dims: number[], name = this.fresh('c')): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected)
      throw new Error(`constant ${name}: ${data.length} values for shape ${dims}`);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: FLOAT,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  /** A float32 constant stored as float16 (half the bytes) and cast back to float32 in the graph. */
  constantHalf(values: ArrayLike<number>, dims: number[], name = this.fresh('c')): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected)
      throw new Error(`constant ${name}: ${values.length} values for shape ${dims}`);
    const bits = toFloat16Array(values);
    const stored = `${name}/f16`;
    this.initializers.push(
      onnx.TensorProto.create({
        name: stored,
        dims,
        dataType: FLOAT16,
        rawData: new Uint8Array(bits.buffer),
      }),
    );
    return this.node('Cast', [stored], { to: FLOAT }, [name]);
  }

  /** An int64 constant (shapes, axes). */
  int64(values: number[], name = this.fresh('i')): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [values.length],
        dataType: INT64,
        rawData: new Uint8Array(data.buffer),
      }),
    );
    return name;
  }

  /** Adds a node and returns its (first) output name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[]): string {
    const outs = outputs ?? [this.fresh(op.toLowerCase())];
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        input: inputs,
        output: outs,
        name: this.fresh(`n_${op}`),
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs[0];
  }

  /** Serialized model bytes. */
  encode(producer = 'tintype'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: this.opset }],
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/**
 * A tensor while a converter builds its graph, with what the tile sizing needs: its resolution
 * relative to the input (1 before upsampling, the scale after) and its receptive-field radius so
 * far, in input pixels (fractional after upsampling).
 */
export interface TrackedTensor {
  name: string;
  channels: number;
  scale: number;
  radius: number;
}

/** Channel concatenation (NCHW axis 1) of tensors at one resolution; `where` names the layer in errors. */
export function concatChannels(
  g: GraphBuilder,
  xs: TrackedTensor[],
  output: string,
  where: string,
): TrackedTensor {
  if (new Set(xs.map((t) => t.scale)).size !== 1) throw new Error(`${where}: inputs differ in resolution`);
  const name = g.node(
    'Concat',
    xs.map((t) => t.name),
    { axis: 1 },
    [output],
  );
  return {
    name,
    channels: xs.reduce((s, t) => s + t.channels, 0),
    scale: xs[0].scale,
    radius: Math.max(...xs.map((t) => t.radius)),
  };
}
