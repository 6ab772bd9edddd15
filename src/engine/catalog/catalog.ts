import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CatalogSchema } from '../../shared/catalog';
import type { Catalog, CatalogEntry } from '../../shared/catalog';
import { ManifestSchema } from '../../shared/manifest';
import type { Manifest } from '../../shared/manifest';
import catalogJson from '../../../resources/catalog.json';
import { CatalogError } from '../errors';

/**
 * The catalog of downloadable models. The repository's resources/catalog.json is compiled in (so
 * the packaged app needs no extra file); TINTYPE_CATALOG points at another file for tests and for
 * people who keep their own list.
 */

/** The .onnx file name inside an installed model's folder. */
export const MODEL_FILE = 'model.onnx';

const PLACEHOLDER_SHA = '0'.repeat(64);

export function parseCatalog(data: unknown, where: string): Catalog {
  const parsed = CatalogSchema.safeParse(data);
  if (!parsed.success) {
    throw new CatalogError(`${where}: invalid catalog: ${z.prettifyError(parsed.error)}`, 'BAD_CATALOG');
  }
  // Every entry must make a valid manifest, so a bad catalog fails here and not after a 900 MB download.
  for (const entry of parsed.data.entries) manifestFor(entry, PLACEHOLDER_SHA, where);
  return parsed.data;
}

export function loadCatalogFile(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CatalogError(`${path}: cannot read the catalog (${(err as Error).message})`, 'BAD_CATALOG');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CatalogError(`${path}: not JSON (${(err as Error).message})`, 'BAD_CATALOG');
  }
  return parseCatalog(data, path);
}

let builtin: Catalog | null = null;

/** The catalog in use: $TINTYPE_CATALOG when set, else the one shipped with Tintype. */
export function defaultCatalog(): Catalog {
  if (process.env.TINTYPE_CATALOG) return loadCatalogFile(process.env.TINTYPE_CATALOG);
  builtin ??= parseCatalog(catalogJson, 'resources/catalog.json');
  return builtin;
}

export function findEntry(catalog: Catalog, id: string): CatalogEntry {
  const entry = catalog.entries.find((e) => e.id === id);
  if (!entry) {
    throw new CatalogError(
      `no model "${id}" in the catalog (available: ${catalog.entries.map((e) => e.id).join(', ')})`,
      'UNKNOWN_MODEL',
    );
  }
  return entry;
}

/** The manifest an installed catalog model gets: the entry's conventions plus identity and hash. */
export function manifestFor(entry: CatalogEntry, sha256: string, where = 'catalog'): Manifest {
  const parsed = ManifestSchema.safeParse({
    id: entry.id,
    name: entry.name,
    version: entry.version,
    task: entry.task,
    file: MODEL_FILE,
    ...entry.conventions,
    license: entry.license,
    source: entry.homepage,
    sha256,
    description: entry.description,
  });
  if (!parsed.success) {
    throw new CatalogError(
      `${where}: entry ${entry.id} makes an invalid manifest: ${z.prettifyError(parsed.error)}`,
      'BAD_CATALOG',
    );
  }
  return parsed.data;
}
