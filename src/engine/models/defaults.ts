import { z } from 'zod';
import { DEFAULT_SCALE, TASK_INFO, TASKS, type Task } from '../../shared/ops';

/**
 * defaults.json in a models folder: the default model per task, and per scale for a task whose
 * models enlarge (upscale: { "2": id, "4": id }); and in `film` the same per task for what goes
 * through the video pipeline (films and stacks), where a task without its own film default uses
 * the photo one (as DeOldify renders video with its steadier "video" colorizer:
 * `"film": { "colorize": "tintype-colorize-video" }`). Parsed here only, with this one type; the
 * model registry reads it, the model manager writes the user's.
 */
export type TaskDefaults = {
  [T in Task]?: (typeof TASK_INFO)[T]['enlarges'] extends true ? Record<string, string> : string;
};
export type ModelDefaults = TaskDefaults & { film?: TaskDefaults };

const TaskDefaultsSchema = z
  .object(
    Object.fromEntries(
      TASKS.map((t) => [t, TASK_INFO[t].enlarges ? z.record(z.string(), z.string()) : z.string()]),
    ),
  )
  .partial();
const ModelDefaultsSchema = TaskDefaultsSchema.extend({
  film: TaskDefaultsSchema.optional(),
}) as unknown as z.ZodType<ModelDefaults>;

export const DEFAULTS_FILE = 'defaults.json';

/** Throws on text that is not a defaults file (the callers treat that as "no defaults here"). */
export function parseDefaults(text: string): ModelDefaults {
  return ModelDefaultsSchema.parse(JSON.parse(text));
}

/** The per-scale key of an enlarging task, or none. */
const scaleKey = (task: Task, scale?: number): string | null =>
  TASK_INFO[task].enlarges ? String(scale ?? DEFAULT_SCALE) : null;

/**
 * The default named for `task` (at `scale`): with `film`, only the film section's (undefined when
 * films have none of their own for it; the registry then takes the photo default).
 */
export function defaultFor(d: ModelDefaults, task: Task, scale?: number, film = false): string | undefined {
  const key = scaleKey(task, scale);
  const v = (film ? d.film : d)?.[task];
  return key === null ? (v as string | undefined) : (v as Record<string, string> | undefined)?.[key];
}

/** The defaults to try for `task`, first to last: for a film its film default, then the photo one. */
export function defaultsFor(d: ModelDefaults, task: Task, scale?: number, film = false): string[] {
  return [film ? defaultFor(d, task, scale, true) : undefined, defaultFor(d, task, scale)].filter(
    (id): id is string => id !== undefined,
  );
}

function mergeTasks(earlier: TaskDefaults, later: TaskDefaults): TaskDefaults {
  const out: Record<string, unknown> = { ...earlier };
  for (const t of TASKS) {
    const v = later[t];
    if (v === undefined) continue;
    out[t] = typeof v === 'string' ? v : { ...(earlier[t] as Record<string, string> | undefined), ...v };
  }
  return out as TaskDefaults;
}

/** `later` overrides `earlier` (the user's folder over the bundled one), per task and per scale, films apart. */
export function mergeDefaults(earlier: ModelDefaults, later: ModelDefaults): ModelDefaults {
  const out: ModelDefaults = mergeTasks(earlier, later);
  if (earlier.film || later.film) out.film = mergeTasks(earlier.film ?? {}, later.film ?? {});
  return out;
}

/**
 * A copy with `id` the default for `task` (at `scale` for an enlarging task; for films with `film`);
 * null clears it.
 */
export function withDefault(
  d: ModelDefaults,
  task: Task,
  id: string | null,
  scale?: number,
  film = false,
): ModelDefaults {
  if (!film) return withTaskDefault(d, task, id, scale);
  const out: ModelDefaults = { ...d };
  const f = withTaskDefault(d.film ?? {}, task, id, scale);
  if (Object.keys(f).length) out.film = f;
  else delete out.film;
  return out;
}

/** The copy of `d` (its other keys kept) with the task's entry set or cleared. */
function withTaskDefault<D extends TaskDefaults>(d: D, task: Task, id: string | null, scale?: number): D {
  const out: Record<string, unknown> = { ...d };
  const key = scaleKey(task, scale);
  if (key !== null) {
    const per = { ...(d[task] as Record<string, string> | undefined) };
    if (id === null) delete per[key];
    else per[key] = id;
    out[task] = per;
  } else if (id === null) delete out[task];
  else out[task] = id;
  return out as D;
}

/** A copy without `id` anywhere (films' defaults too), or null when it was nowhere (after a removal: fall back cleanly). */
export function withoutModel(d: ModelDefaults, id: string): ModelDefaults | null {
  const tasks = withoutIn(d, id);
  const film = d.film && withoutIn(d.film, id);
  if (!tasks && !film) return null;
  const out: ModelDefaults = { ...(tasks ?? d) };
  delete out.film;
  if (film ? Object.keys(film).length : d.film) out.film = film ?? d.film;
  return out;
}

function withoutIn(d: TaskDefaults, id: string): TaskDefaults | null {
  const out: Record<string, unknown> = { ...d };
  let changed = false;
  for (const t of TASKS) {
    const v = d[t];
    if (v === id) {
      delete out[t];
      changed = true;
    } else if (v && typeof v === 'object') {
      const per = { ...v } as Record<string, string>;
      for (const [k, x] of Object.entries(per)) {
        if (x === id) {
          delete per[k];
          changed = true;
        }
      }
      out[t] = per;
    }
  }
  return changed ? (out as TaskDefaults) : null;
}
