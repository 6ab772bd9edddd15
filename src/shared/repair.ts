import { z } from 'zod';
import { BrushStrokeShape, HINT_LIMITS } from './hints';

/**
 * The user's edits to a repair mask: brush strokes that add damage to the mask and eraser strokes
 * that take it out, painted in the app over the mask shown on the photo. They are an option of the
 * repair step (src/shared/ops.ts), so they travel in the recipe like colour hints do: validated at
 * the API, stored with each render, reused with its settings. Coordinates are the picture's own
 * pixels after EXIF orientation, with the brush limits of colour hints (one brush, one set of limits).
 */
export const MaskStrokeSchema = z
  .object({
    ...BrushStrokeShape,
    /** Takes the stroke out of the mask (keep these pixels) instead of adding it. */
    erase: z.boolean().optional(),
  })
  .strict();
export type MaskStroke = z.infer<typeof MaskStrokeSchema>;

export const MaskEditsSchema = z
  .array(MaskStrokeSchema)
  .max(HINT_LIMITS.maxHints)
  .refine((s) => s.reduce((n, h) => n + h.points.length, 0) <= HINT_LIMITS.maxTotalPoints, {
    message: `more than ${HINT_LIMITS.maxTotalPoints} points in all`,
  });

/** One line for a render's history: "3 strokes, 1 erased". */
export function describeMaskEdits(edits: readonly MaskStroke[] | undefined): string {
  if (!edits?.length) return '';
  const erased = edits.filter((s) => s.erase).length;
  const added = edits.length - erased;
  const parts: string[] = [];
  if (added) parts.push(`${added} stroke${added === 1 ? '' : 's'}`);
  if (erased) parts.push(`${erased} erased`);
  return parts.join(', ');
}

/** Strokes for a picture scaled by `k` (a preview made from a shrunk copy sees them scaled with it). */
export function scaleMaskEdits(edits: readonly MaskStroke[], k: number): MaskStroke[] {
  return edits.map((s) => ({
    ...s,
    points: s.points.map(([x, y]) => [x * k, y * k] as [number, number]),
    radius: Math.max(HINT_LIMITS.radius.min, s.radius * k),
  }));
}
