import type { Catalog, InstalledModel, VerifyResult } from '../../shared/catalog';
import { defaultCatalog } from './catalog';
import { CatalogError, errorMessage } from '../errors';
import { digestFile } from './hash';
import { checkShapes, readModelInfo } from './shapes';
import { listInstalled } from './store';
import type { StoreOptions } from './store';

/**
 * Re-checks models on disk: the file's SHA-256 against its manifest (and against the catalog when
 * the catalog pins one), the CRC32 recorded at install, and the graph's shapes against the manifest.
 */
async function verifyOne(m: InstalledModel, catalog: Catalog, signal?: AbortSignal): Promise<VerifyResult> {
  const problems: string[] = [];
  let sha256: string | null = null;
  try {
    const digest = await digestFile(m.modelPath, signal);
    sha256 = digest.sha256;
    if (digest.sha256 !== m.manifest.sha256) {
      problems.push(
        `${m.modelPath}: SHA-256 is ${digest.sha256}, the manifest says ${m.manifest.sha256} (file changed or corrupt)`,
      );
    }
    const entry = catalog.entries.find((e) => e.id === m.id);
    if (m.origin === 'catalog' && entry?.sha256 && digest.sha256 !== entry.sha256) {
      problems.push(`${m.modelPath}: SHA-256 differs from the catalog's ${entry.sha256}`);
    }
  } catch (err) {
    problems.push(`${m.modelPath}: cannot read (${errorMessage(err)})`);
  }
  if (problems.length === 0) {
    try {
      problems.push(...checkShapes(await readModelInfo(m.modelPath), m.manifest));
    } catch (err) {
      problems.push(err instanceof CatalogError ? err.message : `${m.modelPath}: ${errorMessage(err)}`);
    }
  }
  return { id: m.id, origin: m.origin, ok: problems.length === 0, problems, sha256 };
}

export async function verifyModels(
  ids: string[] = [],
  opts: StoreOptions & { catalog?: Catalog; signal?: AbortSignal; onResult?: (r: VerifyResult) => void } = {},
): Promise<VerifyResult[]> {
  const catalog = opts.catalog ?? defaultCatalog();
  const { models, broken } = await listInstalled(opts);
  const wanted = new Set(ids);
  const results: VerifyResult[] = [];
  const push = (r: VerifyResult) => {
    results.push(r);
    opts.onResult?.(r);
  };
  for (const b of broken) {
    if (wanted.size === 0 || wanted.has(b.id))
      push({ id: b.id, origin: 'imported', ok: false, problems: [b.problem], sha256: null });
  }
  for (const m of models) {
    if (wanted.size === 0 || wanted.has(m.id)) push(await verifyOne(m, catalog, opts.signal));
  }
  for (const id of wanted) {
    if (!results.some((r) => r.id === id)) {
      throw new CatalogError(`${id} is not installed`, 'NOT_INSTALLED');
    }
  }
  return results;
}
