import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { InstalledModel, ModelOrigin } from '../../shared/catalog';
import { ManifestSchema } from '../../shared/manifest';
import type { Manifest } from '../../shared/manifest';
import { bundledModelsDir, userModelsDir } from '../models/paths';
import { CatalogError, errnoCode, errorMessage } from '../errors';

/**
 * The user's models folder: one folder per model, `<id>/manifest.json` beside the .onnx it names,
 * plus `<id>/install.json` recording where it came from. Work in progress lives two levels down in
 * `.partial/`, so a registry scanning `<dir>/<id>/manifest.json` never sees a half-installed model.
 */

export const PARTIAL_DIR = '.partial';
export const INSTALL_RECORD = 'install.json';

export interface InstallRecord {
  origin: Exclude<ModelOrigin, 'bundled'>;
  /** Catalog installs: the URL the bytes came from. Imports: the original file. */
  from: string;
  installedAt: string;
  crc32?: string;
}

export interface StoreOptions {
  /** The user's models folder; userModelsDir() ($TINTYPE_MODELS_DIR) when absent. */
  modelsDir?: string;
  /** Bundled models; bundledModelsDir() when absent, null to ignore them. */
  bundledDir?: string | null;
}

export const modelsDirOf = (opts: StoreOptions): string => resolve(opts.modelsDir ?? userModelsDir());
export const bundledDirOf = (opts: StoreOptions): string | null =>
  opts.bundledDir === null ? null : resolve(opts.bundledDir ?? bundledModelsDir());
export const partialDirOf = (modelsDir: string): string => join(modelsDir, PARTIAL_DIR);

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Creates a folder, turning any failure into a clear UNWRITABLE / DISK_FULL error. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOSPC')
      throw new CatalogError(`disk full: cannot create ${dir}`, 'DISK_FULL', { cause: err });
    throw new CatalogError(`cannot create the folder ${dir} (${code ?? errorMessage(err)})`, 'UNWRITABLE', {
      cause: err,
    });
  }
}

/** Makes sure the models folder and its work area exist and can be written, before any download. */
export async function prepareModelsDir(modelsDir: string): Promise<string> {
  const partial = partialDirOf(modelsDir);
  await ensureDir(partial);
  const probe = join(partial, `.write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '');
  } catch (err) {
    throw new CatalogError(
      `cannot write in the models folder ${modelsDir} (${errnoCode(err) ?? errorMessage(err)})`,
      'UNWRITABLE',
      {
        cause: err,
      },
    );
  } finally {
    await rm(probe, { force: true });
  }
  return partial;
}

export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) total += await dirSize(p);
    else if (ent.isFile()) total += (await stat(p)).size;
  }
  return total;
}

export interface BrokenModel {
  id: string;
  dir: string;
  problem: string;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Reads one model folder; a string explains why it is not a usable model. */
export async function readModelDir(dir: string, bundled: boolean): Promise<InstalledModel | string> {
  const manifestPath = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = await readJson(manifestPath);
  } catch (err) {
    return `${manifestPath}: ${errnoCode(err) === 'ENOENT' ? 'missing' : `unreadable (${errorMessage(err)})`}`;
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) return `${manifestPath}: invalid manifest: ${z.prettifyError(parsed.error)}`;
  const manifest: Manifest = parsed.data;
  const modelPath = resolve(dir, manifest.file);
  if (!(await exists(modelPath))) return `${manifestPath}: names ${manifest.file}, which is missing`;
  let record: Partial<InstallRecord> = {};
  if (!bundled) {
    try {
      record = (await readJson(join(dir, INSTALL_RECORD))) as Partial<InstallRecord>;
    } catch {
      // Models copied in by hand have no record: treat them as imported.
    }
  }
  return {
    id: manifest.id,
    name: manifest.name,
    task: manifest.task,
    origin: bundled ? 'bundled' : record.origin === 'catalog' ? 'catalog' : 'imported',
    dir,
    manifestPath,
    modelPath,
    sizeOnDisk: await dirSize(dir),
    license: manifest.license,
    source: manifest.source,
    removable: !bundled,
    installedFrom: record.from,
    installedAt: record.installedAt,
    manifest,
  };
}

/** Every model folder under `root` (one level), valid or not. */
export async function scanDir(
  root: string,
  bundled: boolean,
): Promise<{ models: InstalledModel[]; broken: BrokenModel[] }> {
  const models: InstalledModel[] = [];
  const broken: BrokenModel[] = [];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return { models, broken };
  }
  for (const ent of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!ent.isDirectory() || ent.name.startsWith('.')) continue;
    const dir = join(root, ent.name);
    const m = await readModelDir(dir, bundled);
    if (typeof m === 'string') broken.push({ id: ent.name, dir, problem: m });
    else models.push(m);
  }
  return { models, broken };
}

/** Bundled and user models; a user model shadows a bundled one with the same id. */
export async function listInstalled(
  opts: StoreOptions = {},
): Promise<{ models: InstalledModel[]; broken: BrokenModel[] }> {
  const user = await scanDir(modelsDirOf(opts), false);
  const bundledDir = bundledDirOf(opts);
  const bundled = bundledDir ? await scanDir(bundledDir, true) : { models: [], broken: [] };
  const ids = new Set(user.models.map((m) => m.id));
  return {
    models: [...user.models, ...bundled.models.filter((m) => !ids.has(m.id))],
    broken: [...user.broken, ...bundled.broken],
  };
}

export async function findInstalled(id: string, opts: StoreOptions = {}): Promise<InstalledModel | null> {
  return (await listInstalled(opts)).models.find((m) => m.id === id) ?? null;
}

/** A fresh staging folder inside the work area, on the same file system as the final folder. */
export async function makeStaging(modelsDir: string, id: string): Promise<string> {
  const dir = join(partialDirOf(modelsDir), `${id}.${process.pid}.${randomBytes(4).toString('hex')}.staging`);
  await ensureDir(dir);
  return dir;
}

export async function writeModelFiles(
  staging: string,
  manifest: Manifest,
  record: InstallRecord,
): Promise<void> {
  try {
    await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(join(staging, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  } catch (err) {
    const code = errnoCode(err);
    throw new CatalogError(
      `cannot write the manifest in ${staging} (${code ?? errorMessage(err)})`,
      code === 'ENOSPC' ? 'DISK_FULL' : 'UNWRITABLE',
      {
        cause: err,
      },
    );
  }
}

/**
 * Puts a complete staging folder in place as `<modelsDir>/<id>` with directory renames: readers
 * see either the old model or the new one, never a mix.
 */
export async function commitModelDir(staging: string, modelsDir: string, id: string): Promise<string> {
  const final = join(modelsDir, id);
  const trash = join(partialDirOf(modelsDir), `${id}.${process.pid}.${randomBytes(4).toString('hex')}.old`);
  const hadOld = await exists(final);
  try {
    if (hadOld) await rename(final, trash);
    await rename(staging, final);
  } catch (err) {
    if (hadOld && !(await exists(final)) && (await exists(trash)))
      await rename(trash, final).catch(() => undefined);
    throw new CatalogError(
      `cannot install into ${final} (${errnoCode(err) ?? errorMessage(err)})`,
      'UNWRITABLE',
      { cause: err },
    );
  }
  if (hadOld) await rm(trash, { recursive: true, force: true });
  return final;
}

/** Removes a user model folder: renamed away first so it disappears at once, then deleted. */
export async function deleteModelDir(modelsDir: string, final: string, id: string): Promise<boolean> {
  if (!(await exists(final))) return false;
  const trash = join(
    partialDirOf(modelsDir),
    `${id}.${process.pid}.${randomBytes(4).toString('hex')}.removed`,
  );
  await ensureDir(partialDirOf(modelsDir));
  try {
    await rename(final, trash);
  } catch (err) {
    throw new CatalogError(`cannot remove ${final} (${errnoCode(err) ?? errorMessage(err)})`, 'UNWRITABLE', {
      cause: err,
    });
  }
  await rm(trash, { recursive: true, force: true });
  return true;
}
