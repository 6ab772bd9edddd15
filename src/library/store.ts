import type { Asset, AssetKind, AssetStatus, ColourVerdict, Project, Recipe, Render } from '../shared/api';
import type { Db } from './db';
import type { LibraryLayout } from './layout';
import { VIEW_EDGE } from './probe';
import { canonicalRecipe } from './recipe';

/** Row shapes as SQLite returns them. */
export interface ProjectRow {
  id: number;
  name: string;
  copy_originals: number;
  created_at: number;
  updated_at: number;
}
export interface AssetRow {
  id: number;
  project_id: number;
  kind: AssetKind;
  path: string;
  source_path: string | null;
  name: string;
  hash: string;
  size: number;
  width: number | null;
  height: number | null;
  depth: number | null;
  pages: number | null;
  duration_sec: number | null;
  fps: number | null;
  problem: string | null;
  thumb_path: string | null;
  view_path: string | null;
  /** The engine's colour verdict (JSON), or null while not measured. */
  colour: string | null;
  created_at: number;
}
export interface RenderRow {
  id: number;
  asset_id: number;
  job_id: number | null;
  ops: string;
  options: string;
  watermark: number;
  recipe_hash: string;
  models: string;
  output_path: string | null;
  status: 'done' | 'failed';
  error: string | null;
  width: number | null;
  height: number | null;
  ms: number | null;
  inference_ms: number | null;
  view_path: string | null;
  created_at: number;
}

export class NotFoundError extends Error {}

export function recipeFromRow(row: { ops: string; options: string; watermark: number }): Recipe {
  return canonicalRecipe({
    ops: JSON.parse(row.ops),
    options: JSON.parse(row.options),
    watermark: row.watermark === 1,
  });
}

/** Reads and writes projects, assets and renders; jobs live in JobStore. */
/** More pixels than the display copy holds: only then is the full-size file worth loading. */
const beyondView = (w: number | null, h: number | null) => Math.max(w ?? 0, h ?? 0) > VIEW_EDGE;

/** Originals a browser decodes as they are, colours and all (16-bit ones need the stretched copy). */
function browserShowsOriginal(r: AssetRow): boolean {
  return (
    r.kind === 'photo' &&
    !r.problem &&
    (r.depth ?? 8) <= 8 &&
    beyondView(r.width, r.height) &&
    /\.(jpe?g|png|webp)$/i.test(r.path)
  );
}

export class Store {
  constructor(
    readonly db: Db,
    readonly layout: LibraryLayout,
  ) {}

  // ---------- projects ----------

  listProjects(): Project[] {
    const rows = this.db
      .prepare(
        `SELECT p.*,
           (SELECT count(*) FROM assets a WHERE a.project_id = p.id) AS asset_count,
           (SELECT count(DISTINCT r.asset_id) FROM renders r JOIN assets a ON a.id = r.asset_id
              WHERE a.project_id = p.id AND r.status = 'done') AS rendered_count,
           (SELECT a.id FROM assets a WHERE a.project_id = p.id AND a.thumb_path IS NOT NULL ORDER BY a.id LIMIT 1) AS cover_id
         FROM projects p ORDER BY p.updated_at DESC, p.id DESC`,
      )
      .all() as (ProjectRow & { asset_count: number; rendered_count: number; cover_id: number | null })[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      copyOriginals: r.copy_originals === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      assetCount: r.asset_count,
      renderedCount: r.rendered_count,
      cover: r.cover_id ? `thumb/${r.cover_id}` : null,
    }));
  }

  project(id: number): Project {
    const p = this.listProjects().find((x) => x.id === id);
    if (!p) throw new NotFoundError(`no project with id ${id}`);
    return p;
  }

  projectRow(id: number): ProjectRow {
    const row = this.db.prepare('SELECT * FROM projects WHERE id = ?').get(id) as ProjectRow | undefined;
    if (!row) throw new NotFoundError(`no project with id ${id}`);
    return row;
  }

  createProject(name: string, copyOriginals: boolean): number {
    const now = Date.now();
    return Number(
      this.db
        .prepare('INSERT INTO projects (name, copy_originals, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(name, copyOriginals ? 1 : 0, now, now).lastInsertRowid,
    );
  }

  updateProject(id: number, patch: { name?: string; copyOriginals?: boolean }): void {
    this.projectRow(id);
    if (patch.name !== undefined)
      this.db.prepare('UPDATE projects SET name = ? WHERE id = ?').run(patch.name, id);
    if (patch.copyOriginals !== undefined) {
      this.db
        .prepare('UPDATE projects SET copy_originals = ? WHERE id = ?')
        .run(patch.copyOriginals ? 1 : 0, id);
    }
    this.touchProject(id);
  }

  touchProject(id: number): void {
    this.db.prepare('UPDATE projects SET updated_at = ? WHERE id = ?').run(Date.now(), id);
  }

  deleteProject(id: number): void {
    this.projectRow(id);
    this.db.prepare('DELETE FROM projects WHERE id = ?').run(id);
  }

  // ---------- assets ----------

  assetRow(id: number): AssetRow {
    const row = this.db.prepare('SELECT * FROM assets WHERE id = ?').get(id) as AssetRow | undefined;
    if (!row) throw new NotFoundError(`no asset with id ${id}`);
    return row;
  }

  assetByHash(projectId: number, hash: string): AssetRow | undefined {
    return this.db.prepare('SELECT * FROM assets WHERE project_id = ? AND hash = ?').get(projectId, hash) as
      AssetRow | undefined;
  }

  insertAsset(a: Omit<AssetRow, 'id' | 'created_at'>): number {
    return Number(
      this.db
        .prepare(
          `INSERT INTO assets (project_id, kind, path, source_path, name, hash, size, width, height, depth, pages,
             duration_sec, fps, problem, thumb_path, view_path, colour, created_at)
           VALUES (@project_id, @kind, @path, @source_path, @name, @hash, @size, @width, @height, @depth, @pages,
             @duration_sec, @fps, @problem, @thumb_path, @view_path, @colour, @created_at)`,
        )
        .run({ ...a, created_at: Date.now() }).lastInsertRowid,
    );
  }

  listAssets(filter: {
    projectId?: number;
    ids?: number[];
    query?: string;
    kind?: AssetKind;
    status?: AssetStatus;
  }): Asset[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.projectId !== undefined) {
      where.push('a.project_id = ?');
      params.push(filter.projectId);
    }
    if (filter.ids) {
      if (filter.ids.length === 0) return [];
      where.push(`a.id IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(filter.ids));
    }
    if (filter.kind) {
      where.push('a.kind = ?');
      params.push(filter.kind);
    }
    const q = filter.query?.trim();
    if (q) {
      // Every word must appear in the name or the original's path ("1952 wedding" finds 1952/wedding-03.jpg).
      for (const word of q.split(/\s+/)) {
        where.push("(a.name LIKE ? ESCAPE '\\' OR a.source_path LIKE ? ESCAPE '\\')");
        const like = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        params.push(like, like);
      }
    }
    const rows = this.db
      .prepare(
        `SELECT a.*,
           (SELECT j.status FROM jobs j WHERE j.asset_id = a.id ORDER BY j.id DESC LIMIT 1) AS job_status,
           (SELECT r.id FROM renders r WHERE r.asset_id = a.id AND r.status = 'done' ORDER BY r.id DESC LIMIT 1) AS render_id
         FROM assets a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY a.name COLLATE NOCASE, a.id`,
      )
      .all(...params) as (AssetRow & { job_status: string | null; render_id: number | null })[];
    const renderIds = rows.map((r) => r.render_id).filter((x): x is number => x !== null);
    const renders = new Map(this.rendersByIds(renderIds).map((r) => [r.id, r]));
    const assets = rows.map((r) => {
      let status: AssetStatus = 'new';
      if (r.problem) status = 'unreadable';
      else if (r.job_status === 'queued' || r.job_status === 'running') status = r.job_status;
      else if (r.job_status === 'failed') status = 'failed';
      else if (r.render_id) status = 'rendered';
      return this.toAsset(r, status, r.render_id ? (renders.get(r.render_id) ?? null) : null);
    });
    return filter.status ? assets.filter((a) => a.status === filter.status) : assets;
  }

  asset(id: number): Asset {
    const [a] = this.listAssets({ ids: [id] });
    if (!a) throw new NotFoundError(`no asset with id ${id}`);
    return a;
  }

  private toAsset(r: AssetRow, status: AssetStatus, latestRender: Render | null): Asset {
    return {
      id: r.id,
      projectId: r.project_id,
      kind: r.kind,
      name: r.name,
      path: this.layout.abs(r.path),
      sourcePath: r.source_path ?? this.layout.abs(r.path),
      hash: r.hash,
      size: r.size,
      width: r.width,
      height: r.height,
      depth: r.depth,
      pages: r.pages,
      durationSec: r.duration_sec,
      fps: r.fps,
      problem: r.problem,
      colour: r.colour ? (JSON.parse(r.colour) as ColourVerdict) : null,
      status,
      createdAt: r.created_at,
      thumb: r.thumb_path ? `thumb/${r.id}` : null,
      view: r.view_path ? `view/${r.id}` : null,
      full: browserShowsOriginal(r) ? `original/${r.id}` : null,
      latestRender,
    };
  }

  setColour(id: number, verdict: ColourVerdict): void {
    this.db.prepare('UPDATE assets SET colour = ? WHERE id = ?').run(JSON.stringify(verdict), id);
  }

  deleteAssets(ids: number[]): number {
    return this.db
      .prepare('DELETE FROM assets WHERE id IN (SELECT value FROM json_each(?))')
      .run(JSON.stringify(ids)).changes;
  }

  // ---------- renders ----------

  rendersByIds(ids: number[]): Render[] {
    if (ids.length === 0) return [];
    const rows = this.db
      .prepare('SELECT * FROM renders WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id')
      .all(JSON.stringify(ids)) as RenderRow[];
    return rows.map((r) => this.toRender(r));
  }

  rendersOf(assetId: number): Render[] {
    const rows = this.db
      .prepare('SELECT * FROM renders WHERE asset_id = ? ORDER BY id DESC')
      .all(assetId) as RenderRow[];
    return rows.map((r) => this.toRender(r));
  }

  renderRow(id: number): RenderRow {
    const row = this.db.prepare('SELECT * FROM renders WHERE id = ?').get(id) as RenderRow | undefined;
    if (!row) throw new NotFoundError(`no render with id ${id}`);
    return row;
  }

  /** A finished render of exactly this recipe, if one exists. */
  doneRender(assetId: number, recipeHash: string): RenderRow | undefined {
    return this.db
      .prepare(
        "SELECT * FROM renders WHERE asset_id = ? AND recipe_hash = ? AND status = 'done' ORDER BY id DESC LIMIT 1",
      )
      .get(assetId, recipeHash) as RenderRow | undefined;
  }

  insertRender(r: Omit<RenderRow, 'id' | 'created_at'>): number {
    return Number(
      this.db
        .prepare(
          `INSERT INTO renders (asset_id, job_id, ops, options, watermark, recipe_hash, models, output_path, status, error,
             width, height, ms, inference_ms, view_path, created_at)
           VALUES (@asset_id, @job_id, @ops, @options, @watermark, @recipe_hash, @models, @output_path, @status, @error,
             @width, @height, @ms, @inference_ms, @view_path, @created_at)`,
        )
        .run({ ...r, created_at: Date.now() }).lastInsertRowid,
    );
  }

  private toRender(r: RenderRow): Render {
    return {
      id: r.id,
      assetId: r.asset_id,
      jobId: r.job_id,
      recipe: recipeFromRow(r),
      recipeHash: r.recipe_hash,
      models: JSON.parse(r.models) as string[],
      outputPath: this.layout.abs(r.output_path),
      status: r.status,
      error: r.error,
      width: r.width,
      height: r.height,
      ms: r.ms,
      inferenceMs: r.inference_ms,
      createdAt: r.created_at,
      view: r.view_path ? `render/${r.id}` : null,
      thumb: r.view_path ? `rthumb/${r.id}` : null,
      full:
        r.output_path && /\.png$/i.test(r.output_path) && beyondView(r.width, r.height)
          ? `full/${r.id}`
          : null,
    };
  }
}
