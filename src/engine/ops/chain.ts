import { TintypeError } from '../errors';
import type { LoadedManifest } from '../models/manifest-io';
import type { ModelRegistry } from '../models/registry';
import { operation, operations, orderedOps, withOpDefaults } from './registry';
import type { OpName, OpOptions } from '../types';

/** The models a chain of operations (a photo's or a film's) will run, resolved before any frame is decoded. */
export interface ModelChain {
  /** The ops in pipeline order. */
  ops: OpName[];
  /**
   * The options with each op's defaults filled in (e.g. upscale ×4), as every frame gets them; for a
   * film with every resolved model named in `models`, so that each frame runs the chain's models
   * (the film defaults included) and not the photo defaults.
   */
  options: OpOptions;
  /** One model per op that runs one, then the models it `uses` (in `ops` order). */
  models: { op: OpName; manifest: LoadedManifest }[];
  /** Frames the first model reads at once: 3 for multi-frame (t-1, t, t+1) models, else 1. */
  frames: 1 | 3;
  /**
   * The settings fingerprint for the resume journal: every model's id, version and hash and every
   * option, so a work folder left by other settings is never resumed.
   */
  processorKey: string;
}

/**
 * Resolves the model of each op of a render (CLI and app, photo and film alike): fails before decoding
 * anything when a model is missing. For a film it refuses a 3-frame model anywhere but first, since
 * only the first op sees real neighbouring frames (later ones get processed frames).
 */
export async function resolveModelChain(
  registry: ModelRegistry,
  asked: readonly OpName[],
  given: OpOptions,
  /**
   * film: the render goes through the video pipeline (a film or a stack): the film defaults apply.
   * masked: the user gave a mask, which stands in for the model of an op that `takesMask`.
   */
  opts: { film?: boolean; masked?: boolean } = {},
): Promise<ModelChain> {
  const ops = orderedOps(asked);
  const options = withOpDefaults(ops, given);
  const pinned: NonNullable<OpOptions['models']> = { ...options.models };
  const models: ModelChain['models'] = [];
  const key: string[] = [];
  let frames: 1 | 3 = 1;
  for (const [i, op] of ops.entries()) {
    const { task, takesMask, uses } = operation(op);
    if (!task || (takesMask && opts.masked)) {
      key.push(op);
    } else {
      const m = await registry.resolve(task, {
        id: options.models?.[op],
        scale: options.scale,
        film: opts.film,
      });
      if (m.input.frames === 3) {
        if (i > 0 && opts.film)
          throw new TintypeError(`3-frame model "${m.id}" must be the first operation`, 'BAD_ARGUMENT');
        frames = 3;
      }
      models.push({ op, manifest: m });
      pinned[op] = m.id;
      key.push(`${op}:${m.id}@${m.version}#${m.sha256.slice(0, 12)}`);
    }
    for (const t of uses ?? []) {
      const u = await registry.resolve(t, { id: options.models?.[t], film: opts.film });
      models.push({ op, manifest: u });
      pinned[t] = u.id;
      key.push(`${op}.${t}:${u.id}@${u.version}#${u.sha256.slice(0, 12)}`);
    }
  }
  key.push(
    `renderSize=${options.renderSize ?? 'default'}`,
    `saturation=${options.saturation ?? 1}`,
    `scale=${options.scale ?? 1}`,
  );
  return {
    ops,
    options: opts.film && models.length ? { ...options, models: pinned } : options,
    models,
    frames,
    processorKey: key.join(' '),
  };
}

/**
 * Maps each model id (the CLI's repeated --model) onto the op that runs its task, or onto its task
 * when an op only `uses` it (inpaint: repair's filler).
 */
export async function modelsByOp(
  registry: ModelRegistry,
  ids: readonly string[] = [],
): Promise<NonNullable<OpOptions['models']>> {
  const out: NonNullable<OpOptions['models']> = {};
  for (const id of ids) {
    const m = await registry.get(id);
    const op = operations().find((o) => o.task === m.task);
    if (op) out[op.name as OpName] = id;
    else if (operations().some((o) => o.uses?.includes(m.task))) out[m.task] = id;
  }
  return out;
}
