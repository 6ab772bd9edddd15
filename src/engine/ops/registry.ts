import {
  OP_INFO,
  OPS,
  TASK_INFO,
  type OpInfo,
  type OpName,
  type OpOptions,
  type NumericOptionKey,
  type Task,
} from '../../shared/ops';
import { TintypeError } from '../errors';
import type { InferStats } from '../model/infer';
import type { LoadedModel } from '../model/session';
import type { Raster } from '../types';
import { resizeRaster } from '../image/resize';
import type { Mask } from '../repair/mask';
import { runRepair } from '../repair/op';
import { colorize, type Prediction } from './colorize';
import { runTiled } from './tiled';

/** What an operation's code is handed for one picture. */
export interface OpContext {
  /** The model for the op's task (resolved from options.models, defaults, or the only fit); none when task is null. */
  model?: LoadedModel;
  options: OpOptions;
  /** Inference time is added here. */
  stats: InferStats;
  /** Progress within this op, 0..1. */
  onProgress: (fraction: number) => void;
  /** The previous and next frames of a film, for multi-frame models; only the chain's first op gets them. */
  neighbours?: [Raster, Raster];
  /** The colour already predicted from the photo read shrunk from its file; only the first op gets it. */
  predicted?: Prediction;
  /** Stops the work between tiles with a CANCELLED error. */
  signal?: AbortSignal;
  /** The user's mask for an op that `takesMask` (white = work here); it then runs without its model. */
  mask?: Mask;
  /** Told the mask an op that `takesMask` worked with (given or found), e.g. for --save-mask. */
  onMask?: (mask: Mask) => void;
  /** Loads the model of a task the op `uses` (options.models[task], else the task's default). */
  loadModel?: (task: Task) => Promise<LoadedModel>;
  /**
   * Remembers what an op worked out from the picture as read (a detector's mask) under `key`, for
   * the next render of the same file; absent where there is no file to tie it to (film frames).
   */
  memo?: <T>(key: string, make: () => Promise<T>) => Promise<T>;
}

export type OpRun = (raster: Raster, ctx: OpContext) => Promise<Raster>;

/** An operation: its description (src/shared/ops.ts) and the code that runs it. */
export interface Operation extends OpInfo {
  run: OpRun;
}

/** How each kind of model is run, so an op on a tiled or render-size model needs no code of its own. */
const RUN_BY_KIND: Record<'tiled' | 'render-size', OpRun> = {
  tiled: async (raster, ctx) => {
    const model = ctx.model!;
    const out = await runTiled(
      raster,
      model,
      { onTile: (d, t) => ctx.onProgress(d / t), neighbours: ctx.neighbours, signal: ctx.signal },
      ctx.stats,
    );
    // A scale below the model's own (×2 from a ×4 model, see the manifest's `scales`) is its
    // output downscaled with Lanczos, as Upscayl does.
    const own = model.manifest.scale;
    const want = TASK_INFO[model.manifest.task].enlarges ? (ctx.options.scale ?? own) : own;
    if (want === own) return out;
    return resizeRaster(out, (out.width / own) * want, (out.height / own) * want, 'lanczos3');
  },
  'render-size': (raster, ctx) =>
    colorize(
      raster,
      ctx.model!,
      {
        renderSize: ctx.options.renderSize,
        saturation: ctx.options.saturation,
        predicted: ctx.predicted,
        hints: ctx.options.hints,
        memo: ctx.memo,
      },
      ctx.stats,
    ),
};

const registry = new Map<string, Operation>();

/**
 * Adds an operation (a built-in below, a plug-in, or a test's own). From then on its name is accepted
 * wherever an OpName is: the engine runs it in its `order`, the CLI offers it as a command and skips
 * its outputs when a folder is scanned again.
 */
export function registerOperation(op: OpInfo & { run?: OpRun }): OpName {
  if (!/^[a-z][a-z0-9-]*$/.test(op.name))
    throw new TintypeError(`operation name "${op.name}": lower-case letters, digits and -`, 'BAD_ARGUMENT');
  if (registry.has(op.name))
    throw new TintypeError(`operation "${op.name}" is already registered`, 'BAD_ARGUMENT');
  const run = op.run ?? (op.task ? RUN_BY_KIND[TASK_INFO[op.task].runs] : undefined);
  if (!run)
    throw new TintypeError(`operation "${op.name}" has neither a model task nor code to run`, 'BAD_ARGUMENT');
  registry.set(op.name, { ...op, run });
  return op.name as OpName;
}

/** Built-in operations whose code is their own (the others run their model by its kind). */
const BUILTIN_RUN: Partial<Record<OpName, OpRun>> = { repair: runRepair };

for (const name of OPS) registerOperation({ ...OP_INFO[name], run: BUILTIN_RUN[name] });

/** Every operation, in pipeline order. */
export function operations(): Operation[] {
  return [...registry.values()].sort((a, b) => a.order - b.order);
}

export function operation(name: string): Operation {
  const op = registry.get(name);
  if (!op) throw unknownOps([name]);
  return op;
}

function unknownOps(names: readonly string[]): TintypeError {
  return new TintypeError(
    `unknown operation(s): ${names.join(', ')} (use ${operations()
      .map((o) => o.name)
      .join(', ')})`,
    'BAD_ARGUMENT',
  );
}

/** The ops asked for, in pipeline order (repair → restore → colorize → upscale): mend at the source size, colour, then enlarge. */
export function orderedOps(ops: readonly OpName[]): OpName[] {
  const unknown = ops.filter((o) => !registry.has(o));
  if (unknown.length) throw unknownOps(unknown);
  if (ops.length === 0) throw new TintypeError('no operation given', 'BAD_ARGUMENT');
  return operations()
    .map((o) => o.name as OpName)
    .filter((o) => ops.includes(o));
}

/** The options with the defaults of the ops in the chain filled in (upscale: ×4 when no scale is asked). */
export function withOpDefaults(ops: readonly OpName[], options: OpOptions): OpOptions {
  const out: OpOptions = { ...options };
  for (const op of ops) {
    for (const [k, v] of Object.entries(operation(op).defaults ?? {})) {
      if (out[k as NumericOptionKey] === undefined) out[k as NumericOptionKey] = v;
    }
  }
  return out;
}
