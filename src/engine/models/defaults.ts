import { z } from 'zod';
import { DEFAULT_SCALE, TASK_INFO, TASKS, type Task } from '../../shared/ops';

/**
 * defaults.json in a models folder: the default model per task, and per scale for a task whose
 * models enlarge (upscale: { "2": id, "4": id }). Parsed here only, with this one type; the model
 * registry reads it, the model manager writes the user's.
 */
export type ModelDefaults = {
  [T in Task]?: (typeof TASK_INFO)[T]['enlarges'] extends true ? Record<string, string> : string;
};

const ModelDefaultsSchema = z
  .object(
    Object.fromEntries(
      TASKS.map((t) => [t, TASK_INFO[t].enlarges ? z.record(z.string(), z.string()) : z.string()]),
    ),
  )
  .partial() as unknown as z.ZodType<ModelDefaults>;

export const DEFAULTS_FILE = 'defaults.json';

/** Throws on text that is not a defaults file (the callers treat that as "no defaults here"). */
export function parseDefaults(text: string): ModelDefaults {
  return ModelDefaultsSchema.parse(JSON.parse(text));
}

/** The per-scale key of an enlarging task, or none. */
const scaleKey = (task: Task, scale?: number): string | null =>
  TASK_INFO[task].enlarges ? String(scale ?? DEFAULT_SCALE) : null;

export function defaultFor(d: ModelDefaults, task: Task, scale?: number): string | undefined {
  const key = scaleKey(task, scale);
  const v = d[task];
  return key === null ? (v as string | undefined) : (v as Record<string, string> | undefined)?.[key];
}

/** `later` overrides `earlier` (the user's folder over the bundled one), per task and per scale. */
export function mergeDefaults(earlier: ModelDefaults, later: ModelDefaults): ModelDefaults {
  const out: Record<string, unknown> = { ...earlier };
  for (const t of TASKS) {
    const v = later[t];
    if (v === undefined) continue;
    out[t] = typeof v === 'string' ? v : { ...(earlier[t] as Record<string, string> | undefined), ...v };
  }
  return out as ModelDefaults;
}

/** A copy with `id` the default for `task` (at `scale` for an enlarging task); null clears it. */
export function withDefault(d: ModelDefaults, task: Task, id: string | null, scale?: number): ModelDefaults {
  const out: Record<string, unknown> = { ...d };
  const key = scaleKey(task, scale);
  if (key !== null) {
    const per = { ...(d[task] as Record<string, string> | undefined) };
    if (id === null) delete per[key];
    else per[key] = id;
    out[task] = per;
  } else if (id === null) delete out[task];
  else out[task] = id;
  return out as ModelDefaults;
}

/** A copy without `id` anywhere, or null when it was nowhere (after a removal: fall back cleanly). */
export function withoutModel(d: ModelDefaults, id: string): ModelDefaults | null {
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
  return changed ? (out as ModelDefaults) : null;
}
