import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { errorMessage, ioProblem, tempPathFor, type Logger } from '../engine/index';
import type { ColourVerdict, ImportReport } from '../shared/api';
import { measureColour } from './colour';
import type { LibraryLayout } from './layout';
import { hashFile, makeImageViews, makeVideoViews, probeImport, type Probe } from './probe';
import { scanPaths } from './scan';
import type { Store } from './store';

/**
 * Adds files and folders to a project. Originals are only read: hashed (to skip duplicates), probed,
 * and turned into a display copy and a thumbnail inside the library. A file that cannot be decoded is
 * still added, flagged with the problem, so it shows up (and a batch reports it) instead of vanishing.
 */
export async function importPaths(
  deps: { store: Store; layout: LibraryLayout; log: Logger },
  projectId: number,
  paths: readonly string[],
): Promise<ImportReport & { assetIds: number[] }> {
  const { store, layout, log } = deps;
  const project = store.projectRow(projectId);
  const scan = await scanPaths(paths);
  const report: ImportReport = { added: [], duplicates: [], errors: [...scan.errors] };
  const addedIds: number[] = [];
  const duplicateIds: number[] = [];

  for (const { path, media } of scan.files) {
    try {
      const st = await stat(path);
      if (st.size === 0) {
        report.errors.push({ path, error: `${path}: the file is empty` });
        continue;
      }
      const hash = await hashFile(path);
      const existing = store.assetByHash(projectId, hash);
      if (existing) {
        report.duplicates.push(path);
        duplicateIds.push(existing.id);
        continue;
      }
      const key = hash.slice(0, 16);
      const viewRel = layout.projectFile(projectId, 'views', `${key}.jpg`);
      const thumbRel = layout.projectFile(projectId, 'thumbs', `${key}.jpg`);
      let probe: Probe | null = null;
      let problem: string | null = null;
      let colour: ColourVerdict | null = null;
      try {
        probe = await probeImport(path, media);
        if (probe.kind === 'video')
          await makeVideoViews(path, probe, layout.abs(viewRel), layout.abs(thumbRel));
        else await makeImageViews(path, probe, layout.abs(viewRel), layout.abs(thumbRel));
        colour = await measureColour({ ...probe, path, view: layout.abs(viewRel) }, log);
      } catch (err) {
        problem = errorMessage(err);
        log.warn(`import: ${problem}`);
      }

      let stored = path;
      if (project.copy_originals === 1) {
        const rel = layout.projectFile(projectId, 'originals', `${key}-${basename(path)}`);
        const dest = layout.abs(rel);
        await mkdir(layout.abs(layout.projectFile(projectId, 'originals', '')), { recursive: true });
        const tmp = tempPathFor(dest);
        try {
          await copyFile(path, tmp);
          await rename(tmp, dest);
        } catch (err) {
          await rm(tmp, { force: true });
          throw new Error(
            `${path}: cannot copy into the library: ${ioProblem(err, dest) ?? errorMessage(err)}`,
          );
        }
        stored = rel;
      }

      const id = store.insertAsset({
        project_id: projectId,
        kind: probe?.kind ?? (media === 'video' ? 'video' : 'photo'),
        path: stored,
        source_path: path,
        name: basename(path),
        hash,
        size: st.size,
        width: probe?.width ?? null,
        height: probe?.height ?? null,
        depth: probe?.depth ?? null,
        pages: probe?.pages ?? null,
        duration_sec: probe?.durationSec ?? null,
        fps: probe?.fps ?? null,
        problem,
        thumb_path: problem ? null : thumbRel,
        view_path: problem ? null : viewRel,
        colour: colour ? JSON.stringify(colour) : null,
      });
      addedIds.push(id);
    } catch (err) {
      const text = errorMessage(err);
      report.errors.push({ path, error: text.includes(path) ? text : `${path}: ${text}` });
    }
  }
  if (addedIds.length) store.touchProject(projectId);
  report.added = store.listAssets({ ids: addedIds });
  log.info(
    `import into project ${projectId}: ${report.added.length} added, ${report.duplicates.length} duplicates, ${report.errors.length} errors`,
  );
  return { ...report, assetIds: [...addedIds, ...duplicateIds] };
}
