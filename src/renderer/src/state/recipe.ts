import { useEffect, useState } from 'react';
import type { OpName, Recipe } from '../../../shared/api';
import { OPS } from '../../../shared/ops';

export const DEFAULT_RECIPE: Recipe = { ops: ['colorize'], options: {}, watermark: false };
const KEY = 'tintype.recipe';

/** The recipe last used, shared by the asset view and the batch dialog, kept across sessions. */
export function useStoredRecipe(): [Recipe, (r: Recipe) => void] {
  const [recipe, setRecipe] = useState<Recipe>(() => {
    try {
      const r = JSON.parse(localStorage.getItem(KEY) ?? '') as Recipe;
      if (Array.isArray(r.ops) && r.options && typeof r.options === 'object')
        return { ...DEFAULT_RECIPE, ...r };
    } catch {
      // first run or an unreadable value
    }
    return DEFAULT_RECIPE;
  });
  useEffect(() => localStorage.setItem(KEY, JSON.stringify(recipe)), [recipe]);
  return [recipe, setRecipe];
}

export function toggleOp(recipe: Recipe, op: OpName, on: boolean): Recipe {
  // OPS is in pipeline order.
  const ops = OPS.filter((o) => (o === op ? on : recipe.ops.includes(o)));
  return { ...recipe, ops };
}
