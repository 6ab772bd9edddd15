import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scalesOf, type Task } from '../../shared/manifest';
import { errorMessage, TintypeError } from '../errors';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import { loadManifest, type LoadedManifest } from './manifest-io';
import { DEFAULTS_FILE, defaultsFor, mergeDefaults, parseDefaults, type ModelDefaults } from './defaults';
import { defaultModelDirs } from './paths';
import { DEFAULT_SCALE, TASK_INFO, taskInfo } from '../../shared/ops';

export interface RegistryOptions {
  dirs?: string[];
  log?: Logger;
}

export class ModelRegistry {
  private readonly dirs: string[];
  private readonly log: Logger;
  private models = new Map<string, LoadedManifest>();
  private defaults: ModelDefaults = {};
  private loaded = false;

  constructor(opts: RegistryOptions = {}) {
    this.dirs = opts.dirs ?? defaultModelDirs();
    this.log = opts.log ?? silentLogger;
  }

  /** Scans every folder: <dir>/<id>/manifest.json. A broken manifest is logged and skipped. */
  async refresh(): Promise<void> {
    const models = new Map<string, LoadedManifest>();
    // defaults.json: a later folder (the user's) overrides an earlier one (the bundled models).
    let defaults: ModelDefaults = {};
    for (const dir of this.dirs) {
      let entries: string[];
      try {
        entries = (await readdir(dir, { withFileTypes: true }))
          .filter((e) => e.isDirectory())
          .map((e) => e.name);
      } catch {
        continue;
      }
      for (const name of entries.sort()) {
        const path = join(dir, name, 'manifest.json');
        try {
          const m = await loadManifest(path);
          models.set(m.id, m);
        } catch (err) {
          if ((err as TintypeError).code === 'BAD_MANIFEST' && /not found/.test(errorMessage(err))) continue;
          this.log.warn(`skipping model: ${errorMessage(err)}`);
        }
      }
      try {
        defaults = mergeDefaults(defaults, parseDefaults(await readFile(join(dir, DEFAULTS_FILE), 'utf8')));
      } catch {
        // no defaults here
      }
    }
    this.models = models;
    this.defaults = defaults;
    this.loaded = true;
  }

  private async ensure(): Promise<void> {
    if (!this.loaded) await this.refresh();
  }

  async list(): Promise<LoadedManifest[]> {
    await this.ensure();
    return [...this.models.values()];
  }

  async get(id: string): Promise<LoadedManifest> {
    await this.ensure();
    const m = this.models.get(id);
    if (!m) {
      const known = [...this.models.keys()].join(', ') || 'none installed';
      throw new TintypeError(`model "${id}" not found (available: ${known})`, 'MODEL_NOT_FOUND');
    }
    return m;
  }

  /**
   * The model to use for a task: the named one, else the configured default (for a film, what goes
   * through the video pipeline, the film default first), else the only/first fit.
   */
  async resolve(
    task: Task,
    opts: { id?: string; scale?: number; film?: boolean } = {},
  ): Promise<LoadedManifest> {
    await this.ensure();
    // Models of an enlarging task (upscale) are chosen per scale.
    const enlarges = TASK_INFO[task].enlarges;
    if (opts.id) {
      const m = await this.get(opts.id);
      if (m.task !== task)
        throw new TintypeError(`model "${m.id}" is a ${m.task} model, not ${task}`, 'BAD_ARGUMENT');
      if (enlarges && opts.scale && !scalesOf(m).includes(opts.scale)) {
        throw new TintypeError(
          `model "${m.id}" upscales ×${scalesOf(m).join(' or ×')}, not ×${opts.scale}`,
          'BAD_ARGUMENT',
        );
      }
      return m;
    }
    const wanted = defaultsFor(this.defaults, task, opts.scale, opts.film).find((id) => this.models.has(id));
    if (wanted) return this.models.get(wanted)!;
    const scale = opts.scale ?? DEFAULT_SCALE;
    const fits = [...this.models.values()].filter(
      (m) => m.task === task && (!enlarges || scalesOf(m).includes(scale)),
    );
    if (fits.length === 0) {
      const what = enlarges ? `${task} ×${scale}` : task;
      throw new TintypeError(
        `no ${what} model installed (looked in ${this.dirs.join(', ')}); ${taskInfo(task).whenMissing ?? 'install one with "tintype models install"'}`,
        'MODEL_NOT_FOUND',
      );
    }
    return fits[0];
  }
}
