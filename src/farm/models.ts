import { stat } from 'node:fs/promises';
import {
  operation,
  resolveModelChain,
  sha256File,
  TintypeError,
  type LoadedManifest,
  type ModelChain,
  type ModelRegistry,
} from '../engine/index';
import type { ChainPayload } from './protocol';

/**
 * Mismatch safety: a job names its models by id, version and sha256, and a worker runs it only with
 * exactly those, so one film is never rendered with two different models.
 */

export function chainPayload(chain: ModelChain): ChainPayload {
  return {
    ops: chain.ops,
    options: chain.options,
    models: chain.models.map(({ op, manifest: m }) => ({
      op,
      id: m.id,
      version: m.version,
      sha256: m.sha256,
    })),
    processorKey: chain.processorKey,
  };
}

const short = (h: string): string => h.slice(0, 12);

/** The model files' real hashes (the manifest states one; a copied-over .onnx may not match it), by path, size and mtime. */
const fileHashes = new Map<string, Promise<string>>();
async function realSha256(m: LoadedManifest): Promise<string> {
  const s = await stat(m.modelPath);
  const key = `${m.modelPath}\0${s.size}\0${s.mtimeMs}`;
  let h = fileHashes.get(key);
  if (!h) {
    h = sha256File(m.modelPath);
    fileHashes.set(key, h);
    h.catch(() => fileHashes.delete(key));
  }
  return h;
}

/**
 * Resolves a job's chain on this machine: every model must be here with the job's version and
 * file hash (MODEL_NOT_FOUND / MODEL_MISMATCH naming the model otherwise), and the chain must come
 * out as the coordinator's.
 */
export async function checkChain(
  registry: ModelRegistry,
  payload: ChainPayload,
  opts: { film?: boolean } = {},
): Promise<ModelChain> {
  // Keyed as options.models keys them: by op for the op's own model, by task for one an op only
  // `uses` (repair's filler has op 'repair' too, and must not stand in for the detector).
  const models: Record<string, string> = {};
  for (const ref of payload.models) {
    const wanted = `version ${ref.version} (sha256 ${short(ref.sha256)}…)`;
    let m: LoadedManifest;
    try {
      m = await registry.get(ref.id);
    } catch {
      throw new TintypeError(
        `model "${ref.id}" is not installed here; the job needs ${wanted}`,
        'MODEL_NOT_FOUND',
      );
    }
    const file = await realSha256(m).catch(() => 'unreadable');
    if (m.version !== ref.version || m.sha256 !== ref.sha256 || file !== ref.sha256) {
      const have =
        m.sha256 !== file
          ? `a file whose hash (${short(file)}…) is not its manifest's`
          : `version ${m.version} (sha256 ${short(m.sha256)}…)`;
      throw new TintypeError(
        `model "${ref.id}": the job needs ${wanted}, this machine has ${have}`,
        'MODEL_MISMATCH',
        m.manifestPath,
      );
    }
    models[operation(ref.op).task === m.task ? ref.op : m.task] = ref.id;
  }
  const chain = await resolveModelChain(
    registry,
    payload.ops,
    { ...payload.options, models: { ...payload.options.models, ...models } },
    opts,
  );
  if (chain.processorKey !== payload.processorKey)
    throw new TintypeError(
      `this machine resolves the operations differently (${chain.processorKey}, the job has ${payload.processorKey}); use the same Tintype version everywhere`,
      'MODEL_MISMATCH',
    );
  return chain;
}
