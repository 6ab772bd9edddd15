import { createHash } from 'node:crypto';
import type { Recipe } from '../shared/api';
import { OP_INFO, OPS } from '../shared/ops';

/**
 * A recipe reduced to what changes the output: options of ops that are not run are dropped, so
 * "skip what is already done" is not fooled by a render size left over from a colorize toggle.
 */
export function canonicalRecipe(recipe: {
  ops: readonly string[];
  options?: Recipe['options'];
  watermark?: boolean;
}): Recipe {
  // OPS is in pipeline order: the engine always runs ops so, whatever order the user ticked them in.
  const ops = OPS.filter((op) => recipe.ops.includes(op));
  const o = recipe.options ?? {};
  const options: Recipe['options'] = {};
  // Models per op, and per task an op uses (repair's filler: inpaint).
  const keys = [...ops, ...ops.flatMap((op) => OP_INFO[op].uses ?? [])];
  const models = Object.fromEntries(keys.filter((k) => o.models?.[k]).map((k) => [k, o.models![k]!]));
  if (Object.keys(models).length > 0) options.models = models;
  for (const op of ops) {
    const info = OP_INFO[op];
    for (const key of info.options) {
      const v = o[key];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      if (key === 'hints') options.hints = o.hints;
      else if (key === 'maskEdits') options.maskEdits = o.maskEdits;
      else if (v !== info.identity?.[key]) options[key] = v as number;
    }
  }
  return { ops, options, watermark: recipe.watermark ?? false };
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function recipeHash(recipe: Parameters<typeof canonicalRecipe>[0]): string {
  return createHash('sha256')
    .update(stable(canonicalRecipe(recipe)))
    .digest('hex')
    .slice(0, 32);
}
