import { z } from 'zod';

/**
 * Colour hints: points or brush strokes the user paints to correct a colorizer's guess. They are
 * an option of the colorize step (src/shared/ops.ts), so they travel in the recipe: validated at
 * the API and the CLI, stored with each render, shown in its history, reused with its settings.
 * Coordinates are in the picture's own pixels after EXIF orientation (x right, y down, pixel
 * centres at +0.5); points outside the picture are allowed and clipped where the hint is drawn.
 * Only a hint's chroma counts: the luminance of the original is always kept.
 */

/** The limits, defined once (the API, the CLI and the app's hint tool read them from here). */
export const HINT_LIMITS = {
  /** Strokes in one recipe: far more than anyone paints, few enough that a solve stays fast. */
  maxHints: 256,
  /** Points in one stroke (the app thins a drag to a point every few pixels). */
  maxPoints: 4096,
  /** Points in all strokes together. */
  maxTotalPoints: 32768,
  /** Brush radius in picture pixels. */
  radius: { min: 0.5, max: 2000 },
  /** How far outside the picture a point may lie (picture pixels): anything beyond is a mistake. */
  maxCoordinate: 1_000_000,
} as const;

const Coordinate = z.number().finite().min(-HINT_LIMITS.maxCoordinate).max(HINT_LIMITS.maxCoordinate);

/** One brush stroke's geometry, shared by colour hints and repair-mask edits (one brush, one set of limits). */
export const BrushStrokeShape = {
  /** [x, y] pairs; one point is a dab, several a stroke through them. */
  points: z
    .array(z.tuple([Coordinate, Coordinate]))
    .min(1)
    .max(HINT_LIMITS.maxPoints),
  radius: z.number().min(HINT_LIMITS.radius.min).max(HINT_LIMITS.radius.max),
};

export const HintSchema = z
  .object({
    ...BrushStrokeShape,
    /** sRGB '#rrggbb'; its chroma is what spreads. Ignored by an eraser stroke. */
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #3366cc')
      .optional(),
    /** 0..1: how far the colour moves from the model's towards the hint's (1 = all the way). */
    strength: z.number().min(0).max(1).default(1),
    /** An eraser stroke: pins the model's own colour there, undoing hints that spread into it. */
    erase: z.boolean().optional(),
  })
  .strict()
  .refine((h) => h.erase === true || h.color !== undefined, {
    message: 'a hint needs a color (or "erase": true)',
    path: ['color'],
  });
export type Hint = z.infer<typeof HintSchema>;
export type HintInput = z.input<typeof HintSchema>;

export const HintsSchema = z
  .array(HintSchema)
  .max(HINT_LIMITS.maxHints)
  .refine((hs) => hs.reduce((n, h) => n + h.points.length, 0) <= HINT_LIMITS.maxTotalPoints, {
    message: `more than ${HINT_LIMITS.maxTotalPoints} points in all`,
  });

/** The JSON file format (`--hints hints.json`, and the app's export/import). */
export const HintFileSchema = z.object({ hints: HintsSchema }).strict();
export type HintFile = z.infer<typeof HintFileSchema>;

/** One line for a render's history: "2 hints, 1 eraser". */
export function describeHints(hints: readonly Hint[] | undefined): string {
  if (!hints?.length) return '';
  const erasers = hints.filter((h) => h.erase).length;
  const colours = hints.length - erasers;
  const parts: string[] = [];
  if (colours) parts.push(`${colours} hint${colours === 1 ? '' : 's'}`);
  if (erasers) parts.push(`${erasers} eraser${erasers === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** Hints for a picture scaled by `k` (a preview made from a shrunk copy sees them scaled with it). */
export function scaleHints(hints: readonly Hint[], k: number): Hint[] {
  return hints.map((h) => ({
    ...h,
    points: h.points.map(([x, y]) => [x * k, y * k] as [number, number]),
    radius: Math.max(HINT_LIMITS.radius.min, h.radius * k),
  }));
}

/** Parses a hint file's text; the message names the problem, the caller names the file. */
export function parseHintFile(text: string): { ok: true; hints: Hint[] } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not valid JSON (${(err as Error).message})` };
  }
  const r = HintFileSchema.safeParse(json);
  if (r.success) return { ok: true, hints: r.data.hints };
  const problems = r.error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  return { ok: false, error: problems.join('; ') };
}
