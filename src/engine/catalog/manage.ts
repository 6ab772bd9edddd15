import { rm } from 'node:fs/promises';
import type { Catalog, InstalledModel, ModelListing } from '../../shared/catalog';
import { defaultCatalog } from './catalog';
import { forgetDefault } from './defaults';
import { discardPartial, partialBytes } from './download';
import { CatalogError } from '../errors';
import { downloadPath, isInstalling } from './install';
import { acquireLock } from './lock';
import { deleteModelDir, listInstalled, modelsDirOf, partialDirOf, prepareModelsDir } from './store';
import type { StoreOptions } from './store';

/** The Models page and `tintype models list`: every catalog entry, then every other model on disk. */
export async function listModels(opts: StoreOptions & { catalog?: Catalog } = {}): Promise<ModelListing[]> {
  const catalog = opts.catalog ?? defaultCatalog();
  const modelsDir = modelsDirOf(opts);
  const { models } = await listInstalled(opts);
  const byId = new Map(models.map((m) => [m.id, m]));
  const rows: ModelListing[] = [];
  for (const entry of catalog.entries) {
    rows.push({
      id: entry.id,
      name: entry.name,
      task: entry.task,
      license: entry.license,
      source: entry.homepage,
      entry,
      installed: byId.get(entry.id) ?? null,
      partialBytes: await partialBytes(downloadPath(modelsDir, entry.id)),
      downloadBytes: entry.sizeBytes,
    });
    byId.delete(entry.id);
  }
  for (const m of byId.values()) {
    rows.push({
      id: m.id,
      name: m.name,
      task: m.task,
      license: m.license,
      source: m.source,
      entry: null,
      installed: m,
      partialBytes: 0,
      downloadBytes: null,
    });
  }
  return rows;
}

/**
 * Deletes a user model (installed or imported) and any interrupted download of it. Bundled models
 * cannot be removed. Returns what was removed.
 */
export async function removeModel(
  id: string,
  opts: StoreOptions = {},
): Promise<{ removed: InstalledModel | null; partialBytes: number }> {
  const modelsDir = modelsDirOf(opts);
  if (isInstalling(id, opts))
    throw new CatalogError(`${id} is being installed; cancel the download first`, 'BUSY');
  const { models } = await listInstalled(opts);
  const found = models.find((m) => m.id === id) ?? null;
  if (found?.origin === 'bundled') {
    throw new CatalogError(`${id} is bundled with Tintype and cannot be removed`, 'BUNDLED');
  }
  const dest = downloadPath(modelsDir, id);
  const partial = await partialBytes(dest);
  if (!found && partial === 0)
    throw new CatalogError(`${id} is not installed in ${modelsDir}`, 'NOT_INSTALLED');
  await prepareModelsDir(modelsDir);
  const lock = await acquireLock(partialDirOf(modelsDir), id);
  try {
    if (found) await deleteModelDir(modelsDir, found.dir, id);
    await discardPartial(dest);
    await rm(dest, { force: true });
  } finally {
    await lock.release();
  }
  if (found) await forgetDefault(id, opts);
  return { removed: found, partialBytes: partial };
}
