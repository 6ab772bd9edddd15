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
