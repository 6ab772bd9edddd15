import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Task } from '../../shared/manifest';
import {
  DEFAULTS_FILE,
  mergeDefaults,
  parseDefaults,
  withDefault,
  withoutModel,
  type ModelDefaults,
} from '../models/defaults';
import { CatalogError, errnoCode, errorMessage } from '../errors';
import { bundledDirOf, ensureDir, modelsDirOf } from './store';
import type { StoreOptions } from './store';

/**
 * The user's default model per task: defaults.json in the user's models folder, which the engine's
 * ModelRegistry reads (it overrides the bundled folder's defaults.json).
 */

const defaultsPath = (opts: StoreOptions) => join(modelsDirOf(opts), DEFAULTS_FILE);

/** The defaults the engine uses: the bundled folder's, overridden by the user's (as ModelRegistry merges them). */
export async function effectiveDefaults(opts: StoreOptions = {}): Promise<ModelDefaults> {
  const bundled = bundledDirOf(opts);
  let d: ModelDefaults = {};
  if (bundled) {
    try {
      d = parseDefaults(await readFile(join(bundled, DEFAULTS_FILE), 'utf8'));
    } catch {
      // no bundled defaults
    }
  }
  return mergeDefaults(d, await readDefaults(opts));
}

export async function readDefaults(opts: StoreOptions = {}): Promise<ModelDefaults> {
  try {
    return parseDefaults(await readFile(defaultsPath(opts), 'utf8'));
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

/**
 * Makes `id` the user's default for `task` (for upscale, for its scale; with `film`, for films);
 * null clears the user's choice (the bundled default applies again).
 */
export async function setDefaultModel(
  task: Task,
  id: string | null,
  opts: StoreOptions & { scale?: number; film?: boolean } = {},
): Promise<ModelDefaults> {
  const d = withDefault(await readDefaults(opts), task, id, opts.scale, opts.film);
  await writeDefaults(d, opts);
  return d;
}

/** Drops `id` wherever it is a default (after a removal, so the engine falls back cleanly). */
export async function forgetDefault(id: string, opts: StoreOptions = {}): Promise<void> {
  const d = withoutModel(await readDefaults(opts), id);
  if (d) await writeDefaults(d, opts);
}
