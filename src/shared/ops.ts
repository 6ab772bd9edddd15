import { z } from 'zod';
import { describeHints, HintsSchema } from './hints';
import { describeMaskEdits, MaskEditsSchema } from './repair';

/**
 * What Tintype can do to a picture, written once. Everything that lists operations or model tasks
 * derives from the two tables below: the API and manifest schemas, the CLI's commands and output
 * names, the recipe order, the app's switches, labels and badges. The tables are plain data so the
 * renderer (a browser) can import them; the engine attaches the code that runs each operation
 * (src/engine/ops/registry.ts), in the shape of transformers.js's SUPPORTED_TASKS + pipeline().
 */

// ---------------------------------------------------------------------------------------------------
// Model tasks: the kinds of model a manifest can declare, and the conventions each kind must follow.

export interface TaskInfo {
  /** Shown where a model's kind is chosen (the custom-model import). */
  label: string;
  /** Badge colour in the model manager. */
  color: string;
  /**
   * How the engine runs such a model: at one small square render size (a colorizer predicts chroma
   * for the whole picture and keeps the original luminance), or tiled over the full-size picture.
   */
  runs: 'render-size' | 'tiled';
  /** The model adds colour: chroma-only outputs (Lab ab, YUV uv) make sense only here. */
  addsColour: boolean;
  /** The output is larger than the input (scale 2 and up); defaults are kept per scale. */
  enlarges: boolean;
  /** What to do when no model of the task is installed (said in the error); default: install one. */
  whenMissing?: string;
}

/** Model tasks, in the order people see them. */
export const TASK_INFO = {
  colorize: { label: 'Colorize', color: 'orange', runs: 'render-size', addsColour: true, enlarges: false },
  restore: { label: 'Restore (same size)', color: 'teal', runs: 'tiled', addsColour: false, enlarges: false },
  upscale: { label: 'Upscale', color: 'violet', runs: 'tiled', addsColour: false, enlarges: true },
  // The repair operation's two models (docs/repair.md): a detector
  // whose output is a damage mask, and a learned filler that takes the image and that mask.
  repair: {
    label: 'Repair: find damage (mask)',
    color: 'red',
    runs: 'tiled',
    addsColour: false,
    enlarges: false,
    whenMissing:
      'mark the damage yourself (a mask: --mask mask.png, or the brush in the app), or install a repair model',
  },
  inpaint: { label: 'Repair: fill damage', color: 'pink', runs: 'tiled', addsColour: false, enlarges: false },
} as const satisfies Record<string, TaskInfo>;

export type Task = keyof typeof TASK_INFO;
export const TASKS = Object.keys(TASK_INFO) as [Task, ...Task[]];
export const TaskSchema = z.enum(TASKS);

export const taskInfo = (task: Task): TaskInfo => TASK_INFO[task];

/** "a colorize model", "an upscale model". */
export const aTask = (task: string): string => `${/^[aeiou]/i.test(task) ? 'an' : 'a'} ${task}`;

/**
 * The task a model most likely has, from what it was seen to do when run on a test picture (the
 * custom-model probe): it enlarged it, it added colour, or neither.
 */
export function guessTask(seen: { enlarges: boolean; addsColour: boolean }): Task {
  const fits = TASKS.filter((t) => TASK_INFO[t].enlarges === seen.enlarges);
  return fits.find((t) => TASK_INFO[t].addsColour === seen.addsColour) ?? fits[0];
}

// ---------------------------------------------------------------------------------------------------
// Option limits: one set, checked by the engine whoever calls it (CLI, app, server).

/** Colorize render size in px. Below 64 px nothing recognisable is left to colour; above 2048 a render costs minutes. */
export const RENDER_SIZE_LIMITS = { min: 64, max: 2048 } as const;
/** Upscale factor: what super-resolution models are made for (×2, ×3, ×4, ×8). */
export const SCALE_LIMITS = { min: 2, max: 8 } as const;
/** Colorize chroma multiplier: 0 = grey, 1 = as predicted, 2 = twice as vivid. */
export const SATURATION_LIMITS = { min: 0, max: 2 } as const;

/** Each option an operation may take, with its limits. */
const OPTION_SHAPE = {
  /** Colorize render size in px (224–360 for DeOldify-style models); the model's default when absent. */
  renderSize: z.number().int().min(RENDER_SIZE_LIMITS.min).max(RENDER_SIZE_LIMITS.max).optional(),
  /** Colorize: multiplier on the predicted chroma (1 = as predicted). */
  saturation: z.number().min(SATURATION_LIMITS.min).max(SATURATION_LIMITS.max).optional(),
  /** Upscale factor wanted; picks a model with that scale when no model is named. */
  scale: z.number().int().min(SCALE_LIMITS.min).max(SCALE_LIMITS.max).optional(),
  /** Colorize: the user's colour hints (src/shared/hints.ts), in the picture's pixels. */
  hints: HintsSchema.optional(),
  /** Repair: the user's strokes adding to and erasing from the damage mask (src/shared/repair.ts). */
  maskEdits: MaskEditsSchema.optional(),
};
export type OptionKey = keyof typeof OPTION_SHAPE;
/** The options that are plain numbers (they may have defaults and identities). */
export type NumericOptionKey = Exclude<OptionKey, 'hints' | 'maskEdits'>;
/** The values of the options (what an op's describe() reads). */
export type OptionValues = { [K in OptionKey]?: z.infer<(typeof OPTION_SHAPE)[K]> };

// ---------------------------------------------------------------------------------------------------
// Operations: what a recipe, a CLI command or a film render asks for.

export interface OpInfo {
  name: string;
  /** The kind of model it runs (its default model comes from the task's defaults); null for none. */
  task: Task | null;
  /** For people: the app's switch and its hint, and the CLI command's description. */
  label: string;
  hint: string;
  summary: string;
  /** Place in the pipeline: ops always run in ascending order whatever order they were asked in. */
  order: number;
  /** The options it reads. */
  options: readonly OptionKey[];
  /** Values used when an option is not given (they are part of the settings, so a render can be redone). */
  defaults?: { [K in NumericOptionKey]?: number };
  /** Values that change nothing: dropped from a canonical recipe so equal renders hash alike. */
  identity?: { [K in NumericOptionKey]?: number };
  /** One line for a render's history ("colorize 288px"). */
  describe?: (options: OptionValues) => string;
  /**
   * The user may mark what the op works on (a mask: white = work here), which then stands in for its
   * model's own (repair: the damage the detector would find). It runs without that model then.
   */
  takesMask?: boolean;
  /** Model tasks its code loads besides `task` (repair: its filler); part of a render's settings. */
  uses?: readonly Task[];
}

/** The built-in operations, in pipeline order: mend and clean at the source size, colour, then enlarge. */
const BUILTIN = [
  {
    name: 'repair',
    task: 'repair',
    label: 'Repair',
    hint: 'fill scratches, dust, cracks, creases and tears',
    summary: 'find and fill scratches, dust, cracks, creases and tears (1×; --mask gives the damage)',
    order: 1,
    options: ['maskEdits'],
    takesMask: true,
    uses: ['inpaint'],
    describe: (o) => ['repair', describeMaskEdits(o.maskEdits)].filter(Boolean).join(', '),
  },
  {
    name: 'restore',
    task: 'restore',
    label: 'Restore',
    hint: 'remove JPEG blocks, noise and grain',
    summary: 'remove JPEG damage, noise and grain (1×)',
    order: 10,
    options: [],
  },
  {
    name: 'colorize',
    task: 'colorize',
    label: 'Colorize',
    hint: 'add plausible colour to black-and-white',
    summary: 'colorize black-and-white photos (original luminance kept, chroma from the model)',
    order: 20,
    options: ['renderSize', 'saturation', 'hints'],
    identity: { saturation: 1 },
    describe: (o) =>
      [o.renderSize ? `colorize ${o.renderSize}px` : 'colorize', describeHints(o.hints)]
        .filter(Boolean)
        .join(', '),
  },
  {
    name: 'upscale',
    task: 'upscale',
    label: 'Upscale',
    hint: 'enlarge with detail',
    summary: 'enlarge ×2 or ×4 with a super-resolution model',
    order: 30,
    options: ['scale'],
    defaults: { scale: 4 },
    describe: (o) => `upscale ×${o.scale ?? 4}`,
  },
] as const satisfies readonly OpInfo[];

export type OpName = (typeof BUILTIN)[number]['name'];
/** The built-in operations' names, in pipeline order. */
export const OPS = BUILTIN.map((o) => o.name) as [OpName, ...OpName[]];
export const OP_INFO = Object.fromEntries(BUILTIN.map((o) => [o.name, o as OpInfo])) as Record<
  OpName,
  OpInfo
>;
export const OpNameSchema = z.enum(OPS);

/** The operations a user's mask is for (repair). */
export const operationsTakingMask = (): OpName[] => OPS.filter((o) => OP_INFO[o].takesMask);

/** The default upscale factor (when none is asked for). */
export const DEFAULT_SCALE = OP_INFO.upscale.defaults!.scale!;

/** Does this list of operations add colour (colorize)? Then inputs already in colour are worth a warning. */
export const addsColour = (ops: readonly string[]): boolean =>
  ops.some((op) => {
    const info = (OP_INFO as Record<string, OpInfo | undefined>)[op];
    return info?.task ? TASK_INFO[info.task].addsColour : false;
  });

/** One line for a recipe's ops, e.g. "restore → colorize 288px → upscale ×4". */
export function describeOps(ops: readonly OpName[], options: OptionValues): string {
  return ops.map((op) => OP_INFO[op].describe?.(options) ?? op).join(' → ');
}

export const OpOptionsSchema = z
  .object({
    /**
     * Model id per op (or per task an op `uses`, e.g. inpaint for repair's filler); the default model
     * for the task when absent.
     */
    models: z.partialRecord(z.enum([...OPS, ...TASKS]), z.string().min(1).max(200)).optional(),
    ...OPTION_SHAPE,
  })
  .strict();
export type OpOptions = z.infer<typeof OpOptionsSchema>;
