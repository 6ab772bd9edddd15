import { z } from 'zod';
import { aTask, TASK_INFO, TASKS, type Task } from './ops';

export { TASKS, type Task };

/**
 * The model contract. Public ONNX exports of DeOldify, DDColor, ESRGAN... disagree on layout,
 * value range, normalization, size and output; a manifest beside each .onnx states them so one
 * engine can run all of them. Every field here is read by the engine; nothing is decorative.
 */

/** The most a detector's mask may be grown (px): past this a "scratch" halo is a region. */
export const MAX_MASK_GROW = 16;

/** What a mask output becomes without a manifest saying otherwise. */
export const MASK_DEFAULTS = { threshold: 0.5, grow: 2 } as const;

const range = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => hi !== lo, 'range must not be empty');

export const InputSpecSchema = z.object({
  /** Graph input name; defaults to the model's first input. */
  name: z.string().optional(),
  layout: z.enum(['NCHW', 'NHWC']),
  /** Channels per frame: 1 (grey) or 3 (RGB). */
  channels: z.union([z.literal(1), z.literal(3)]),
  /** Consecutive frames stacked on the channel axis (t-1, t, t+1), as in multi-frame microscopy models. */
  frames: z.union([z.literal(1), z.literal(3)]).default(1),
  /** What a pixel value of 0..1 becomes before normalization, e.g. [0, 255] or [0, 1] or [-1, 1]. */
  range: range,
  /** Applied after `range` when the graph does not normalize itself: (x - mean) / std per channel. */
  normalization: z
    .object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) })
    .nullable()
    .default(null),
});
export type InputSpec = z.infer<typeof InputSpecSchema>;

export const SizeSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), value: z.number().int().positive() }),
  z.object({ kind: z.literal('dynamic'), multiple: z.number().int().positive().default(1) }),
]);
export type SizeSpec = z.infer<typeof SizeSpecSchema>;

export const OutputSpecSchema = z.object({
  name: z.string().optional(),
  layout: z.enum(['NCHW', 'NHWC']).optional(),
  /**
   * rgb: a full RGB image (canonical 0..1); grey: one channel (0..1);
   * ab: Lab a,b chroma only (canonical Lab units, -128..128); uv: YUV U,V chroma (canonical -0.5..0.5);
   * mask: one channel, the probability that a pixel is damaged (0..1; a repair model's output).
   */
  kind: z.enum(['rgb', 'grey', 'ab', 'uv', 'mask']),
  /** The model's value range that maps linearly onto the canonical range of `kind`. */
  range: range,
  /** mask: pixels whose probability is at least this are repaired. */
  threshold: z.number().gt(0).lt(1).optional(),
  /** mask: the thresholded mask is dilated by this many pixels (at 1:1) so scratch edges and halos are filled too. */
  grow: z.number().int().min(0).max(MAX_MASK_GROW).optional(),
});
export type OutputSpec = z.infer<typeof OutputSpecSchema>;

/**
 * The second input of an inpaint model: the mask of the pixels to fill, one channel, same layout and
 * size as the image. 1 = hole, 0 = known, mapped linearly onto `range`. The image input gets
 * image × (1 − mask): hole pixels are 0 (in 0..1) before its range and normalization.
 */
export const MaskInputSpecSchema = z.object({
  name: z.string().min(1),
  range: range,
});

export const RenderSizeSchema = z
  .object({
    default: z.number().int().positive(),
    min: z.number().int().positive(),
    max: z.number().int().positive(),
  })
  .refine((r) => r.min <= r.default && r.default <= r.max, 'renderSize needs min <= default <= max');

export const TileSpecSchema = z.object({
  /** Input tile edge in pixels (before scaling). */
  size: z.number().int().positive().default(256),
  /** Overlap between neighbouring tiles, in input pixels; must cover the receptive field for seamless output. */
  overlap: z.number().int().nonnegative().default(16),
  /**
   * Context added around the whole image by mirroring it (…2 1 0 1 2…), in input pixels, before it
   * is cut into tiles (cropped off the output): how the engine a model was made for treats image
   * borders (realesrgan-ncnn-vulkan: 10 px), so the edges match it.
   */
  pad: z.number().int().nonnegative().optional(),
});

export const ManifestSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'id: lower-case letters, digits, . _ -'),
    name: z.string().min(1),
    version: z.string().default('1.0.0'),
    task: z.enum(TASKS),
    /** The .onnx file, relative to the manifest. */
    file: z.string().min(1),
    input: InputSpecSchema,
    size: SizeSpecSchema,
    output: OutputSpecSchema,
    /** Inpaint models only: the mask input (see MaskInputSpecSchema). */
    maskInput: MaskInputSpecSchema.optional(),
    /** Output size / input size: 1 for colorize and restore, 2/3/4/8 for upscale. */
    scale: z.number().int().positive().default(1),
    /**
     * Output scales this upscaler offers: its own `scale`, and smaller ones made by downscaling its
     * output with Lanczos (how Upscayl gives ×2 from a ×4 model). Default: just `scale`.
     */
    scales: z.array(z.number().int().min(2)).min(1).optional(),
    /** Square inference size for colorizers (DeOldify renders small and keeps the original luminance). */
    renderSize: RenderSizeSchema.optional(),
    /** Tiling for restore/upscale models. */
    tile: TileSpecSchema.optional(),
    license: z.string().min(1),
    source: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256: 64 lower-case hex digits'),
    /** One plain line for people choosing a model ("best detail, slow"); the app shows it as is. */
    summary: z
      .string()
      .max(80)
      .regex(/^[^\n]*$/, 'summary: one line')
      .optional(),
    description: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    const need = m.input.normalization;
    if (need && need.mean.length !== need.std.length) {
      ctx.addIssue({ code: 'custom', message: 'normalization mean and std must have the same length' });
    }
    // The conventions of each task (src/shared/ops.ts): a render-size model keeps the picture's size,
    // chroma-only output needs a model that adds colour, an enlarging model enlarges.
    const task = TASK_INFO[m.task];
    if (task.runs === 'render-size' && !m.renderSize) {
      ctx.addIssue({ code: 'custom', message: `${aTask(m.task)} model needs renderSize` });
    }
    if (task.runs === 'render-size' && m.scale !== 1) {
      ctx.addIssue({ code: 'custom', message: `${aTask(m.task)} model has scale 1` });
    }
    if (!task.addsColour && (m.output.kind === 'ab' || m.output.kind === 'uv')) {
      const colourTasks = TASKS.filter((t) => TASK_INFO[t].addsColour).join(' or ');
      ctx.addIssue({
        code: 'custom',
        message: `output kind ${m.output.kind} only makes sense for ${colourTasks}`,
      });
    }
    // Repair: a detector takes RGB and answers a damage mask; a filler takes the image and a mask
    // (docs/repair.md has the whole contract). Neither changes the picture's size.
    if ((m.output.kind === 'mask') !== (m.task === 'repair')) {
      ctx.addIssue({
        code: 'custom',
        message: 'output kind mask is what a repair model answers, and only it',
      });
    }
    if (m.output.kind !== 'mask' && (m.output.threshold !== undefined || m.output.grow !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'output threshold and grow apply to a mask output only' });
    }
    if (m.task === 'repair' && (m.input.channels !== 3 || m.input.frames !== 1)) {
      ctx.addIssue({ code: 'custom', message: 'a repair model takes one RGB frame (channels 3, frames 1)' });
    }
    if ((m.task === 'repair' || m.task === 'inpaint') && m.scale !== 1) {
      ctx.addIssue({ code: 'custom', message: `${aTask(m.task)} model has scale 1` });
    }
    if (m.task === 'inpaint') {
      if (!m.maskInput || !m.input.name) {
        ctx.addIssue({
          code: 'custom',
          message: 'an inpaint model needs maskInput and both input names (input.name, maskInput.name)',
        });
      }
      if (m.input.frames !== 1) ctx.addIssue({ code: 'custom', message: 'an inpaint model takes one frame' });
      if (m.output.kind !== 'rgb' && m.output.kind !== 'grey') {
        ctx.addIssue({ code: 'custom', message: 'an inpaint model answers an rgb or grey image' });
      }
    } else if (m.maskInput) {
      ctx.addIssue({ code: 'custom', message: 'maskInput is for inpaint models only' });
    }
    if (task.enlarges && m.scale < 2) {
      ctx.addIssue({ code: 'custom', message: `${aTask(m.task)} model has scale >= 2` });
    }
    if (
      m.scales &&
      (m.task !== 'upscale' || !m.scales.includes(m.scale) || m.scales.some((k) => k > m.scale))
    ) {
      ctx.addIssue({ code: 'custom', message: "scales: an upscaler's own scale and smaller ones only" });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** The output scales a model offers (see `scales`): one place decides, everything else asks. */
export function scalesOf(m: Pick<Manifest, 'scale' | 'scales'>): number[] {
  return m.scales ?? [m.scale];
}

/** DeOldify's render_factor is the render size in units of 16 px. */
export const renderFactorOf = (size: number): number => size / 16;
