import * as ort from 'onnxruntime-node';
import type { ModelInfo, TensorInfo } from '../../shared/catalog';
import type { InputSpec, OutputSpec, SizeSpec } from '../../shared/manifest';
import { CatalogError, errorMessage } from '../errors';

/**
 * What a graph declares about its inputs and outputs, and whether that fits a manifest. Public
 * exports disagree on conventions, so nothing is trusted until the file itself says it fits.
 */

export type ShapeConventions = {
  input: Pick<InputSpec, 'name' | 'layout' | 'channels'> & { frames?: 1 | 3 };
  output: Pick<OutputSpec, 'name' | 'layout' | 'kind'>;
  size: SizeSpec;
  scale?: number;
};

/** Quiet sessions: probing feeds sizes that fail on purpose and ORT would log each failure. */
export const QUIET: ort.InferenceSession.SessionOptions = {
  logSeverityLevel: 4,
  graphOptimizationLevel: 'basic',
};

export async function openSession(
  path: string,
  opts: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, { ...QUIET, ...opts });
  } catch (err) {
    throw new CatalogError(`${path}: not a loadable ONNX model (${errorMessage(err)})`, 'BAD_MODEL', {
      cause: err,
    });
  }
}

function tensorInfo(meta: ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: [] };
  // An unknown dimension may come back as -1 rather than a name: it is dynamic either way.
  return {
    name: meta.name,
    type: meta.type,
    shape: meta.shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : d)),
  };
}

export function sessionInfo(session: ort.InferenceSession): ModelInfo {
  return { inputs: session.inputMetadata.map(tensorInfo), outputs: session.outputMetadata.map(tensorInfo) };
}

/** Reads the declared inputs and outputs of an .onnx file. */
export async function readModelInfo(path: string): Promise<ModelInfo> {
  const session = await openSession(path, { graphOptimizationLevel: 'disabled' });
  try {
    return sessionInfo(session);
  } finally {
    await session.release();
  }
}

export const outputChannels = { rgb: 3, grey: 1, ab: 2, uv: 2, mask: 1 } as const;

export const formatShape = (shape: (number | string)[]): string =>
  shape.length === 0 ? '(undeclared)' : `[${shape.map(String).join(', ')}]`;

function pick(
  list: TensorInfo[],
  name: string | undefined,
  what: string,
  problems: string[],
): TensorInfo | null {
  if (list.length === 0) {
    problems.push(`the graph has no ${what}s`);
    return null;
  }
  if (!name) return list[0];
  const found = list.find((t) => t.name === name);
  if (!found)
    problems.push(`no ${what} named "${name}" (the graph has ${list.map((t) => `"${t.name}"`).join(', ')})`);
  return found ?? null;
}

/** [channel, height, width] dimension indices for a 4-D layout. */
const axes = (layout: 'NCHW' | 'NHWC'): [number, number, number] =>
  layout === 'NCHW' ? [1, 2, 3] : [3, 1, 2];

/**
 * Problems that stop this graph from running under these conventions; empty when it fits.
 * Symbolic dimensions always fit (they are checked by running the model, not here).
 */
export function checkShapes(info: ModelInfo, c: ShapeConventions): string[] {
  const problems: string[] = [];
  if (info.inputs.length > 1) {
    problems.push(
      `the graph has ${info.inputs.length} inputs (${info.inputs.map((t) => t.name).join(', ')}); Tintype feeds one image tensor`,
    );
  }
  const input = pick(info.inputs, c.input.name, 'input', problems);
  const output = pick(info.outputs, c.output.name, 'output', problems);
  let fixedIn: [number, number] | null = null;

  if (input) {
    if (input.type !== 'float32')
      problems.push(`input "${input.name}" is ${input.type}; Tintype feeds float32`);
    if (input.shape.length > 0 && input.shape.length !== 4) {
      problems.push(
        `input "${input.name}" has shape ${formatShape(input.shape)}; an image input needs 4 dimensions (${c.input.layout})`,
      );
    } else if (input.shape.length === 4) {
      const [ci, hi, wi] = axes(c.input.layout);
      const channels = c.input.channels * (c.input.frames ?? 1);
      const [n, ch, h, w] = [input.shape[0], input.shape[ci], input.shape[hi], input.shape[wi]];
      if (typeof n === 'number' && n !== 1)
        problems.push(`input "${input.name}" has a fixed batch of ${n}; Tintype feeds 1`);
      if (typeof ch === 'number' && ch !== channels) {
        problems.push(
          `input "${input.name}" has ${ch} channels in ${c.input.layout} order ${formatShape(input.shape)}, expected ${channels}`,
        );
      }
      if (c.size.kind === 'fixed') {
        const v = c.size.value;
        if ((typeof h === 'number' && h !== v) || (typeof w === 'number' && w !== v)) {
          problems.push(`input "${input.name}" is ${formatShape(input.shape)}, expected a fixed ${v}x${v}`);
        }
        fixedIn = [typeof h === 'number' ? h : v, typeof w === 'number' ? w : v];
      } else if (typeof h === 'number' || typeof w === 'number') {
        problems.push(
          `input "${input.name}" has a fixed size ${formatShape(input.shape)} but the manifest says dynamic size`,
        );
      }
    }
  }

  if (output) {
    if (output.type !== 'float32')
      problems.push(`output "${output.name}" is ${output.type}; Tintype reads float32`);
    if (output.shape.length > 0 && output.shape.length !== 4) {
      problems.push(
        `output "${output.name}" has shape ${formatShape(output.shape)}; an image output needs 4 dimensions`,
      );
    } else if (output.shape.length === 4) {
      const layout = c.output.layout ?? c.input.layout;
      const [ci, hi, wi] = axes(layout);
      const want = outputChannels[c.output.kind];
      const [ch, h, w] = [output.shape[ci], output.shape[hi], output.shape[wi]];
      if (typeof ch === 'number' && ch !== want) {
        problems.push(
          `output "${output.name}" has ${ch} channels in ${layout} order ${formatShape(output.shape)}; "${c.output.kind}" needs ${want}`,
        );
      }
      const scale = c.scale ?? 1;
      if (fixedIn) {
        const [eh, ew] = [fixedIn[0] * scale, fixedIn[1] * scale];
        if ((typeof h === 'number' && h !== eh) || (typeof w === 'number' && w !== ew)) {
          problems.push(
            `output "${output.name}" is ${formatShape(output.shape)}, expected ${eh}x${ew} (input x${scale})`,
          );
        }
      } else if (c.size.kind === 'dynamic' && (typeof h === 'number' || typeof w === 'number')) {
        problems.push(
          `output "${output.name}" has a fixed size ${formatShape(output.shape)} but the input size is dynamic`,
        );
      }
    }
  }
  return problems;
}

/** Opens the file and throws MODEL_SHAPE naming every mismatch with the conventions. */
export async function assertShapes(path: string, c: ShapeConventions): Promise<ModelInfo> {
  const info = await readModelInfo(path);
  const problems = checkShapes(info, c);
  if (problems.length > 0) {
    throw new CatalogError(`${path} does not fit its manifest: ${problems.join('; ')}`, 'MODEL_SHAPE');
  }
  return info;
}
