import { z } from 'zod';
import { OpNameSchema, OpOptionsSchema } from '../engine/index';

/**
 * What travels through Redis between the farm's coordinator and its workers, in one place. Jobs
 * carry paths on storage every machine sees, never pixels; every payload is checked with these
 * schemas where it is read, so a malformed job is refused with a message instead of crashing a
 * worker.
 */

/** The BullMQ queue every Tintype coordinator and worker uses (one Redis may serve several farms by prefix). */
export const QUEUE_NAME = 'tintype';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256: 64 lower-case hex digits');

/** A model a job needs, exactly: a worker with another version or file refuses the job. */
export const ModelRefSchema = z.object({
  op: OpNameSchema,
  id: z.string().min(1),
  version: z.string().min(1),
  sha256,
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

/** The operations, their options and the models they run (the coordinator's resolved chain). */
export const ChainSchema = z.object({
  ops: z.array(OpNameSchema).min(1),
  options: OpOptionsSchema,
  models: z.array(ModelRefSchema),
  /** The coordinator's processorKey: the worker's resolved chain must give the same. */
  processorKey: z.string().min(1),
});
export type ChainPayload = z.infer<typeof ChainSchema>;

/** renderVideo's options that change what a segment holds (the rest is the worker's own business). */
export const FilmSettingsSchema = z.object({
  input: z.string().min(1),
  output: z.string().min(1),
  format: z.string().optional(),
  crf: z.number().int().min(0).max(51).optional(),
  preset: z.string().optional(),
  bitDepth: z.union([z.literal(8), z.literal(16)]).optional(),
  start: z.number().min(0).optional(),
  duration: z.number().positive().optional(),
  fps: z.string().optional(),
  forceCfr: z.boolean().optional(),
  segmentSeconds: z.number().positive().optional(),
  smoothChroma: z.boolean().optional(),
  strict: z.boolean(),
});
export type FilmSettings = z.infer<typeof FilmSettingsSchema>;

const refusedBy = z.array(z.string()).optional();

export const SegmentJobSchema = z.object({
  kind: z.literal('segment'),
  chain: ChainSchema,
  film: FilmSettingsSchema,
  task: z.object({
    index: z.number().int().nonnegative(),
    firstFrame: z.number().int().nonnegative(),
    frames: z.number().int().positive().optional(),
  }),
  /** The coordinator's plan (renderVideo's settings and their hash): a worker planning otherwise refuses. */
  fingerprint: z.string().min(1),
  settings: z.record(z.string(), z.unknown()),
  /** Workers that refused the job (a missing or different model), so it goes to another one. */
  refusedBy,
});
export type SegmentJob = z.infer<typeof SegmentJobSchema>;

export const PhotoJobSchema = z.object({
  kind: z.literal('photo'),
  chain: ChainSchema,
  /** One photo, or a small group (fewer Redis round trips for small files). */
  files: z
    .array(z.object({ input: z.string().min(1), output: z.string().min(1) }))
    .min(1)
    .max(256),
  format: z.enum(['jpg', 'png', 'tif', 'webp']).optional(),
  overwrite: z.boolean().optional(),
  watermark: z.boolean().optional(),
  background: z.string().optional(),
  refusedBy,
});
export type PhotoJob = z.infer<typeof PhotoJobSchema>;

export const FarmJobSchema = z.discriminatedUnion('kind', [SegmentJobSchema, PhotoJobSchema]);
export type FarmJob = z.infer<typeof FarmJobSchema>;

/** job.updateProgress: who runs the job and how far it got. */
export const FarmProgressSchema = z.object({
  worker: z.string(),
  /** Segment jobs: frames written so far. Photo jobs: photos finished plus the fraction of the current one. */
  done: z.number().nonnegative(),
});
export type FarmProgress = z.infer<typeof FarmProgressSchema>;

const LayoutSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.union([z.literal(1), z.literal(3)]),
  depth: z.union([z.literal(8), z.literal(16)]),
  planar: z.literal('yuv420p').optional(),
});

export const SegmentJobResultSchema = z.object({
  kind: z.literal('segment'),
  worker: z.string(),
  segments: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      firstFrame: z.number().int().nonnegative(),
      frames: z.number().int().positive(),
      name: z.string().min(1),
    }),
  ),
  layout: LayoutSchema.optional(),
  frames: z.number().int().nonnegative(),
  processorMs: z.number().nonnegative(),
  ms: z.number().nonnegative(),
});
export type SegmentJobResult = z.infer<typeof SegmentJobResultSchema>;

export const PhotoJobResultSchema = z.object({
  kind: z.literal('photo'),
  worker: z.string(),
  results: z.array(
    z.object({
      input: z.string(),
      output: z.string(),
      ok: z.boolean(),
      skipped: z.boolean().optional(),
      error: z.string().optional(),
      notes: z.array(z.string()).optional(),
      models: z.array(z.string()),
      ms: z.number().optional(),
    }),
  ),
  ms: z.number().nonnegative(),
});
export type PhotoJobResult = z.infer<typeof PhotoJobResultSchema>;

/** A zod failure in one line: "chain.models.0.sha256: …; task: Required". */
export function issuesInWords(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
}
