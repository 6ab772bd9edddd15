import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelDefaults } from '../../shared/catalog';
import type { Task } from '../../shared/manifest';
import { CatalogError, errnoCode, errorMessage } from '../errors';
import { ensureDir, modelsDirOf } from './store';
import type { StoreOptions } from './store';

/**
 * The user's default model per task: defaults.json in the user's models folder, which the engine's
 * ModelRegistry reads (it overrides the bundled folder's defaults.json).
 */

const defaultsPath = (opts: StoreOptions) => join(modelsDirOf(opts), 'defaults.json');

export async function readDefaults(opts: StoreOptions = {}): Promise<ModelDefaults> {
  try {
    return JSON.parse(await readFile(defaultsPath(opts), 'utf8')) as ModelDefaults;
  } catch {
    return {};
  }
}

async function writeDefaults(d: ModelDefaults, opts: StoreOptions): Promise<void> {
  const path = defaultsPath(opts);
  await ensureDir(modelsDirOf(opts));
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(d, null, 2)}\n`);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CatalogError(`cannot write ${path} (${errnoCode(err) ?? errorMessage(err)})`, 'UNWRITABLE', {
      cause: err,
    });
  }
}

/** Makes `id` the default for `task` (for upscale, for its scale); null clears it. */
export async function setDefaultModel(
  task: Task,
  id: string | null,
  opts: StoreOptions & { scale?: number } = {},
): Promise<ModelDefaults> {
  const d = await readDefaults(opts);
  if (task === 'upscale') {
    const key = String(opts.scale ?? 4);
    const up = { ...d.upscale };
    if (id === null) delete up[key];
    else up[key] = id;
    d.upscale = up;
  } else if (id === null) delete d[task];
  else d[task] = id;
  await writeDefaults(d, opts);
  return d;
}

/** Drops `id` wherever it is a default (after a removal, so the engine falls back cleanly). */
export async function forgetDefault(id: string, opts: StoreOptions = {}): Promise<void> {
  const d = await readDefaults(opts);
  let changed = false;
  for (const task of ['colorize', 'restore'] as const) {
    if (d[task] === id) {
      delete d[task];
      changed = true;
    }
  }
  for (const [k, v] of Object.entries(d.upscale ?? {})) {
    if (v === id) {
      delete d.upscale![k];
      changed = true;
    }
  }
  if (changed) await writeDefaults(d, opts);
}
