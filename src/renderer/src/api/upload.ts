import type { ImportReport } from '../../../shared/api';
import type { ApiClient } from './client';

/**
 * Uploads files one after another (a burst would compete with renders for the disk) and merges the
 * import reports; a file that fails is reported by name and the others still go.
 */
export async function uploadAll(api: ApiClient, projectId: number, files: File[]): Promise<ImportReport> {
  const out: ImportReport = { added: [], duplicates: [], errors: [] };
  if (!api.upload) throw new Error('uploading is for the browser; the desktop app imports paths');
  for (const f of files) {
    try {
      const r = await api.upload(projectId, f);
      out.added.push(...r.added);
      out.duplicates.push(...r.duplicates);
      out.errors.push(...r.errors);
    } catch (err) {
      out.errors.push({ path: f.name, error: (err as Error).message });
    }
  }
  return out;
}

/**
 * Files dropped on the library: the desktop app knows their paths (files and whole folders, read
 * in place, nothing copied); a browser only has their bytes, which are uploaded.
 */
export async function importDropped(api: ApiClient, projectId: number, files: File[]): Promise<ImportReport> {
  const paths = files.map((f) => api.pathForFile(f)).filter((p): p is string => !!p);
  if (paths.length === 0 && api.upload) return uploadAll(api, projectId, files);
  const lost = files.filter((f) => !api.pathForFile(f)).map((f) => f.name);
  if (lost.length > 0)
    throw new Error(
      `the app was not told where ${lost.join(', ')} ${lost.length === 1 ? 'is' : 'are'}: use Import instead`,
    );
  return api.call('assets.import', { projectId, paths });
}
