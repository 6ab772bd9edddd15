import { z } from 'zod';
import {
  InputSpecSchema,
  OutputSpecSchema,
  RenderSizeSchema,
  SizeSpecSchema,
  TileSpecSchema,
} from './manifest';
import { OPS, OpNameSchema, OpOptionsSchema, TaskSchema, type OpName, type OpOptions } from './ops';

/**
 * The one contract between the UI and the backend. Electron's preload forwards calls over IPC and the
 * headless server over HTTP (POST /api/<method>); both validate every request with these schemas
 * before anything runs, so the renderer, the e2e tests and a plain browser all speak the same API.
 */

// ---------- building blocks ----------

export const Id = z.number().int().positive();
const NonEmpty = z.string().trim().min(1).max(500);
/** A path on the backend's machine; relative paths are refused so nothing depends on a cwd. */
export const AbsPath = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'),
    'must be an absolute path',
  );

// Operations, their names and their options' limits are defined once, in ./ops.
export { OpNameSchema, OpOptionsSchema, type OpName, type OpOptions };

/** What to do to an image: the same recipe drives a preview, one render and a whole batch. */
export const RecipeSchema = z
  .object({
    ops: z.array(OpNameSchema).min(1).max(OPS.length),
    options: OpOptionsSchema.default({}),
    watermark: z.boolean().default(false),
  })
  .strict()
  .refine((r) => new Set(r.ops).size === r.ops.length, 'each op at most once');
export type Recipe = z.infer<typeof RecipeSchema>;
export type RecipeInput = z.input<typeof RecipeSchema>;

/**
 * Files the renderer may show. The backend hands out keys, never paths; each client turns a key into
 * a URL (tintype-media:// in Electron, /media/ on the server) and the backend maps it back to a file
 * it knows, so the renderer can never ask for an arbitrary file.
 */
export const MediaKey = z
  .string()
  .regex(/^(thumb|view|render|rthumb|preview|full|original|source|play)\/[A-Za-z0-9._-]+$/);
export type MediaKey = string;

export const ImageFormatSchema = z.enum(['jpg', 'png', 'tif']);
export type ImageFormat = z.infer<typeof ImageFormatSchema>;
export const VideoFormatSchema = z.enum(['mp4', 'mkv', 'mov', 'frames']);
export const ExportFormatSchema = z.union([ImageFormatSchema, VideoFormatSchema]);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

// ---------- entities ----------

export const ProjectSchema = z.object({
  id: Id,
  name: z.string(),
  copyOriginals: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
  assetCount: z.number().int(),
  renderedCount: z.number().int(),
  cover: MediaKey.nullable(),
});
export type Project = z.infer<typeof ProjectSchema>;

export const RenderSchema = z.object({
  id: Id,
  assetId: Id,
  jobId: Id.nullable(),
  recipe: RecipeSchema,
  recipeHash: z.string(),
  models: z.array(z.string()),
  outputPath: z.string().nullable(),
  status: z.enum(['done', 'failed']),
  error: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  ms: z.number().nullable(),
  inferenceMs: z.number().nullable(),
  createdAt: z.number(),
  view: MediaKey.nullable(),
  thumb: MediaKey.nullable(),
  /** The full-resolution output of a photo, for 1:1; only when larger than the display copy. */
  full: MediaKey.nullable(),
});
export type Render = z.infer<typeof RenderSchema>;

/** Whether a picture already has colour (the engine's detector; colorize would replace it). */
export const ColourVerdictSchema = z.object({
  colour: z.boolean(),
  spread: z.number(),
  chroma: z.number(),
  reason: z.string(),
});
export type ColourVerdict = z.infer<typeof ColourVerdictSchema>;

export const AssetKindSchema = z.enum(['photo', 'video', 'stack']);
export type AssetKind = z.infer<typeof AssetKindSchema>;
export const AssetStatusSchema = z.enum(['new', 'queued', 'running', 'rendered', 'failed', 'unreadable']);
export type AssetStatus = z.infer<typeof AssetStatusSchema>;

export const AssetSchema = z.object({
  id: Id,
  projectId: Id,
  kind: AssetKindSchema,
  name: z.string(),
  /** The file the engine reads: the user's original, or the project's copy of it. */
  path: z.string(),
  /** Where the file was imported from (the same as path unless originals are copied). */
  sourcePath: z.string(),
  hash: z.string(),
  size: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  depth: z.number().int().nullable(),
  pages: z.number().int().nullable(),
  durationSec: z.number().nullable(),
  fps: z.number().nullable(),
  /** Why the file could not be read at import (shown on the card; the batch reports it again). */
  problem: z.string().nullable(),
  /** Already in colour? Null while not measured (or not measurable). */
  colour: ColourVerdictSchema.nullable(),
  status: AssetStatusSchema,
  createdAt: z.number(),
  thumb: MediaKey.nullable(),
  view: MediaKey.nullable(),
  /** The original itself (8-bit JPEG, PNG, WebP photos), when larger than the display copy. */
  full: MediaKey.nullable(),
  latestRender: RenderSchema.nullable(),
});
export type Asset = z.infer<typeof AssetSchema>;

export const JobStatusSchema = z.enum(['queued', 'running', 'done', 'failed', 'canceled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const JobSchema = z.object({
  id: Id,
  batchId: Id,
  assetId: Id,
  assetName: z.string(),
  status: JobStatusSchema,
  progress: z.number().min(0).max(1),
  stage: z.string().nullable(),
  /** Cancel was asked for while it runs: the work stops at its next tile, frame or step. */
  canceling: z.boolean(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  renderId: Id.nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** Seconds left for this job, from the throughput of its current step; null until measured. */
  etaSec: z.number().nullable(),
});
export type Job = z.infer<typeof JobSchema>;

export const BatchSchema = z.object({
  id: Id,
  name: z.string(),
  projectId: Id.nullable(),
  recipe: RecipeSchema,
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  total: z.number().int(),
  queued: z.number().int(),
  running: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  /** Items that are films or stacks (long work: their end is announced, see shared/notify). */
  films: z.number().int(),
  /** Finished items per second since the batch started work. */
  itemsPerSec: z.number().nullable(),
  etaSec: z.number().nullable(),
});
export type Batch = z.infer<typeof BatchSchema>;

export const ModelInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  task: TaskSchema,
  scale: z.number().int(),
  /** Output scales it offers (its own and smaller ones by downscaling; see the manifest's `scales`). */
  scales: z.array(z.number().int()),
  renderSize: z.object({ default: z.number(), min: z.number(), max: z.number() }).nullable(),
  /** One plain line for people choosing a model ("Best detail, slow"), from the manifest. */
  summary: z.string().nullable(),
  description: z.string().nullable(),
  license: z.string(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

const ModelProgressSchema = z.object({
  phase: z.enum(['hash', 'download', 'verify', 'install', 'done']),
  receivedBytes: z.number(),
  totalBytes: z.number().nullable(),
  bytesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
});
export type ModelProgress = z.infer<typeof ModelProgressSchema>;

/** One row of the Models page: a catalog entry (installed or not) or a model already on disk. */
export const ModelRowSchema = z.object({
  id: z.string(),
  name: z.string(),
  task: TaskSchema,
  version: z.string(),
  license: z.string(),
  source: z.string(),
  /** One plain line for people choosing (no layer names); `details` keeps the technical description. */
  description: z.string().nullable(),
  details: z.string().nullable(),
  publisher: z.string().nullable(),
  /** A strongest-of-its-task catalog model, offered first. */
  recommended: z.boolean(),
  /** Output scales of an installed model; the default for its task at these scales (upscale), or at all. */
  scales: z.array(z.number().int()),
  defaultScales: z.array(z.number().int()),
  isDefault: z.boolean(),
  /**
   * The default of its task for films (what goes through the video pipeline), where films have one
   * of their own (defaults.json's `film`, e.g. the steadier video colorizer); else films use `isDefault`'s.
   */
  isFilmDefault: z.boolean(),
  origin: z.enum(['bundled', 'catalog', 'imported']).nullable(),
  installed: z.boolean(),
  removable: z.boolean(),
  sizeOnDisk: z.number().nullable(),
  downloadBytes: z.number().nullable(),
  /**
   * Where `downloadBytes` comes from: the catalog, or the server's Content-Length when the catalog
   * lists none; `checking` while the server is asked, `offline` when it cannot be reached and
   * `unlisted` when neither says.
   */
  sizeFrom: z.enum(['catalog', 'server', 'checking', 'offline', 'unlisted']),
  /** Bytes of an interrupted download that an install resumes from. */
  partialBytes: z.number(),
  installing: z.boolean(),
  progress: ModelProgressSchema.nullable(),
});
export type ModelRow = z.infer<typeof ModelRowSchema>;

/** An absolute path to a .onnx file (the import wizard's input). */
export const OnnxPath = AbsPath.refine((p) => /\.onnx$/i.test(p), 'must be a .onnx file');

/**
 * A model manifest as the import wizard proposes and the user edits it. The file name and hash are
 * the import's business (it hashes the copy it makes), so they may be left out or are overwritten;
 * whether the model really runs this way is checked by the import, not here.
 */
export const ManifestDraftSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'id: lower-case letters, digits, . _ -')
      .max(200),
    name: z.string().trim().min(1).max(200),
    version: z.string().min(1).max(50).optional(),
    task: TaskSchema,
    input: InputSpecSchema.strict(),
    size: SizeSpecSchema,
    output: OutputSpecSchema.strict(),
    scale: z.number().int().min(1).max(16).optional(),
    renderSize: RenderSizeSchema.optional(),
    tile: TileSpecSchema.strict().optional(),
    license: z.string().trim().min(1).max(200),
    source: z.string().trim().min(1).max(2000),
    description: z.string().max(2000).optional(),
    file: z.string().max(500).optional(),
    sha256: z.string().max(64).optional(),
  })
  .strict();
export type ManifestDraft = z.infer<typeof ManifestDraftSchema>;

const TensorInfoSchema = z.object({
  name: z.string(),
  type: z.string(),
  shape: z.array(z.union([z.number(), z.string()])),
});

/** What probing a custom .onnx found: shown by the import wizard; `proposal` is null when it cannot work. */
export const ImportProbeSchema = z.object({
  file: z.string(),
  info: z.object({ inputs: z.array(TensorInfoSchema), outputs: z.array(TensorInfoSchema) }),
  findings: z.array(z.string()),
  problems: z.array(z.string()),
  uncertain: z.array(z.string()),
  proposal: ManifestDraftSchema.nullable(),
});
export type ImportProbeResult = z.infer<typeof ImportProbeSchema>;

export const ThemeSchema = z.enum(['light', 'dark', 'auto']);
export const SettingsSchema = z
  .object({
    executionProvider: z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml']),
    /** Inference threads per worker; 0 lets the engine decide. */
    threads: z.number().int().min(0).max(256),
    /** Jobs rendered at the same time. */
    concurrency: z.number().int().min(1).max(16),
    outputFolder: z.string().max(4096),
    outputFormat: ImageFormatSchema,
    jpegQuality: z.number().int().min(40).max(100),
    watermark: z.boolean(),
    copyOriginals: z.boolean(),
    theme: ThemeSchema,
    /** Where the library lives; a change takes effect at the next start. */
    libraryDir: z.string().max(4096),
    /** A render farm's Redis (docs/farm.md) whose jobs the queue panel shows; '' for none. */
    farmRedis: z.union([
      z.literal(''),
      z
        .string()
        .max(2000)
        .regex(/^rediss?:\/\/\S+$/, 'a redis:// URL'),
    ]),
  })
  .strict();
export type Settings = z.infer<typeof SettingsSchema>;

/** A render-farm job as the queue panel shows it (src/farm/status.ts). */
export const FarmJobViewSchema = z.object({
  id: z.string(),
  kind: z.enum(['segment', 'photo', 'unknown']),
  label: z.string(),
  state: z.string(),
  /** The worker running it (or that finished it). */
  worker: z.string().optional(),
  /** Frames (segments) or photos done so far. */
  done: z.number().optional(),
  attempts: z.number().int(),
  failedReason: z.string().optional(),
});
export type FarmJobView = z.infer<typeof FarmJobViewSchema>;
export const FarmStatusSchema = z.object({
  url: z.string(),
  /** '' when the farm answered; otherwise why not. */
  error: z.string(),
  workers: z.array(z.string()),
  jobs: z.array(FarmJobViewSchema),
});
export type FarmStatus = z.infer<typeof FarmStatusSchema>;

export const ImportReportSchema = z.object({
  added: z.array(AssetSchema),
  duplicates: z.array(z.string()),
  errors: z.array(z.object({ path: z.string(), error: z.string() })),
});
export type ImportReport = z.infer<typeof ImportReportSchema>;

export const BatchTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('assets'), ids: z.array(Id).min(1).max(100_000) }).strict(),
  z.object({ kind: z.literal('project'), projectId: Id }).strict(),
  z.object({ kind: z.literal('folder'), projectId: Id, path: AbsPath }).strict(),
]);
export type BatchTarget = z.infer<typeof BatchTargetSchema>;

const Empty = z.object({}).strict().default({});
/** A time in a film, in seconds. */
const Seconds = z.number().min(0).max(1e7);
/** A frame of an image stack, counted from 0. */
const StackPage = z.number().int().min(0).max(100_000);
const IdReq = z.object({ id: Id }).strict();
const Ok = z.object({ ok: z.literal(true) });

// ---------- methods ----------

export const api = {
  'app.info': {
    req: Empty,
    res: z.object({
      version: z.string(),
      mode: z.enum(['electron', 'server']),
      platform: z.string(),
      dataDir: z.string(),
      libraryDir: z.string(),
      logFile: z.string(),
      /** Native file dialogs and drag-and-drop paths exist only in the desktop app. */
      dialogs: z.boolean(),
      video: z.boolean(),
      engineError: z.string().nullable(),
    }),
  },
  /** Health of the backend process: event-loop delay (is the UI's backend responsive?) and memory. */
  'app.stats': {
    req: z
      .object({ reset: z.boolean().default(false) })
      .strict()
      .default({ reset: false }),
    res: z.object({
      eventLoop: z.object({
        meanMs: z.number(),
        p50Ms: z.number(),
        p99Ms: z.number(),
        maxMs: z.number(),
        samples: z.number().int(),
      }),
      uptimeSec: z.number(),
      rssMb: z.number(),
      busy: z.boolean(),
    }),
  },
  'settings.get': { req: Empty, res: SettingsSchema.extend({ restartRequired: z.boolean() }) },
  /** The render farm named in the settings: its workers and recent jobs. */
  'farm.jobs': { req: Empty, res: FarmStatusSchema },
  'settings.update': {
    req: SettingsSchema.partial().strict(),
    res: SettingsSchema.extend({ restartRequired: z.boolean() }),
  },
  'projects.list': { req: Empty, res: z.array(ProjectSchema) },
  'projects.create': {
    req: z.object({ name: NonEmpty, copyOriginals: z.boolean().optional() }).strict(),
    res: ProjectSchema,
  },
  'projects.rename': { req: z.object({ id: Id, name: NonEmpty }).strict(), res: ProjectSchema },
  'projects.update': {
    req: z.object({ id: Id, copyOriginals: z.boolean() }).strict(),
    res: ProjectSchema,
  },
  /** Removes the project, its renders, thumbnails and copies; never a user's original files. */
  'projects.delete': { req: IdReq, res: z.object({ ok: z.literal(true), removedFiles: z.number().int() }) },
  'assets.list': {
    req: z
      .object({
        projectId: Id,
        query: z.string().max(500).optional(),
        kind: AssetKindSchema.optional(),
        status: AssetStatusSchema.optional(),
      })
      .strict(),
    res: z.array(AssetSchema),
  },
  'assets.get': {
    req: IdReq,
    res: z.object({ asset: AssetSchema, renders: z.array(RenderSchema) }),
  },
  'assets.import': {
    req: z.object({ projectId: Id, paths: z.array(AbsPath).min(1).max(10_000) }).strict(),
    res: ImportReportSchema,
  },
  'assets.remove': {
    req: z.object({ ids: z.array(Id).min(1).max(100_000) }).strict(),
    res: z.object({ removed: z.number().int() }),
  },
  /** Deletes one render: its files in the library and its row (the history entry), together. */
  'renders.delete': { req: IdReq, res: z.object({ ok: z.literal(true), removedFiles: z.number().int() }) },
  'models.list': { req: Empty, res: z.array(ModelInfoSchema) },
  /** The model manager: the catalog with what is installed, downloads and removal. */
  'models.catalog': { req: Empty, res: z.object({ models: z.array(ModelRowSchema), modelsDir: z.string() }) },
  /** Starts a download in the background; progress and the outcome arrive as 'model' events. */
  'models.install': {
    req: z.object({ id: z.string().min(1).max(200) }).strict(),
    res: z.object({ started: z.boolean() }),
  },
  'models.cancelInstall': {
    req: z.object({ id: z.string().min(1).max(200) }).strict(),
    res: z.object({ canceled: z.boolean() }),
  },
  'models.remove': { req: z.object({ id: z.string().min(1).max(200) }).strict(), res: Ok },
  /**
   * Makes an installed model the default for its task (upscale: at the given scale, or every scale it
   * offers); `film`: the default for films only. A null id clears the user's choice (the bundled default applies).
   */
  'models.setDefault': {
    req: z
      .object({
        task: TaskSchema,
        id: z.string().min(1).max(200).nullable(),
        scale: z.number().int().min(1).max(16).optional(),
        film: z.boolean().optional(),
      })
      .strict(),
    res: Ok,
  },
  /** Runs a custom .onnx to work out its conventions; the wizard shows the proposed manifest. */
  'models.probe': { req: z.object({ path: OnnxPath }).strict(), res: ImportProbeSchema },
  /** Checks the confirmed manifest against the file, then copies it into the user's models folder. */
  'models.import': {
    req: z.object({ path: OnnxPath, manifest: ManifestDraftSchema }).strict(),
    res: ModelRowSchema,
  },
  /** A fast, small render for the live preview; never queued, never stored as a render. */
  'preview.render': {
    req: z
      .object({
        assetId: Id,
        recipe: RecipeSchema,
        maxEdge: z.number().int().min(64).max(1024).default(320),
        /** A film's frame at this time (seconds; the scrubber) instead of its display frame. */
        atSec: Seconds.optional(),
        /** A stack's frame (0-based; the scrubber) instead of its first. */
        page: StackPage.optional(),
      })
      .strict()
      .refine((r) => r.atSec === undefined || r.page === undefined, 'a film time or a stack frame, not both'),
    /** `superseded`: a newer live preview replaced this one before it finished (media is then null). */
    res: z.object({
      media: MediaKey.nullable(),
      width: z.number().int(),
      height: z.number().int(),
      ms: z.number(),
      superseded: z.boolean(),
      /** With repair in the recipe: the mask it used, the preview's size, red and opaque where repaired. */
      mask: MediaKey.optional(),
    }),
  },
  /** The same small render at several colorize sizes, for the sweep strip. */
  'preview.sweep': {
    req: z
      .object({
        assetId: Id,
        recipe: RecipeSchema,
        sizes: z.array(z.number().int().min(64).max(2048)).min(1).max(8),
        maxEdge: z.number().int().min(64).max(1024).default(256),
      })
      .strict(),
    res: z.object({
      items: z.array(z.object({ renderSize: z.number().int(), media: MediaKey, ms: z.number() })),
    }),
  },
  /** A few seconds of a film through the recipe, small, as a clip to play; superseded like live previews. */
  'preview.clip': {
    req: z
      .object({
        assetId: Id,
        recipe: RecipeSchema,
        startSec: Seconds,
        durationSec: z.number().min(0.2).max(10).default(3),
        maxEdge: z.number().int().min(64).max(640).default(320),
      })
      .strict(),
    res: z.object({
      media: MediaKey.nullable(),
      width: z.number().int(),
      height: z.number().int(),
      frames: z.number().int(),
      ms: z.number(),
      superseded: z.boolean(),
    }),
  },
  /** Stops the range preview being made (its request answers `superseded`). */
  'preview.cancelClip': { req: Empty, res: z.object({ canceled: z.boolean() }) },
  /** Something a <video> plays: the source film as it is, or a copy made for playback (of the source or a render). */
  'video.playable': {
    req: z.object({ assetId: Id, renderId: Id.optional() }).strict(),
    res: z.object({ media: MediaKey, copy: z.boolean(), durationSec: z.number().nullable() }),
  },
  /** A film's frame at a time (the scrubber's "before"), at display size. */
  'video.frame': {
    req: z.object({ assetId: Id, atSec: Seconds }).strict(),
    res: z.object({ media: MediaKey, width: z.number().int(), height: z.number().int(), atSec: z.number() }),
  },
  /** A stack's frame (0-based; the stack scrubber's "before"), at display size. */
  'stack.frame': {
    req: z.object({ assetId: Id, page: StackPage }).strict(),
    res: z.object({
      media: MediaKey,
      width: z.number().int(),
      height: z.number().int(),
      page: z.number().int(),
    }),
  },
  'batch.start': {
    req: z
      .object({
        target: BatchTargetSchema,
        recipe: RecipeSchema,
        /** Leave out assets that already have a finished render of this exact recipe. */
        skipDone: z.boolean().default(true),
        /** A colorizing recipe leaves out photos and films already in colour unless told to colorize them. */
        colourInputs: z.enum(['skip', 'colorize']).default('skip'),
        name: z.string().max(200).optional(),
      })
      .strict(),
    res: z.object({
      batch: BatchSchema.nullable(),
      queued: z.number().int(),
      skipped: z.number().int(),
      /** Left out because they are already in colour (counted in `skipped` too), with the reason. */
      skippedColour: z.array(z.object({ assetId: Id, name: z.string(), reason: z.string() })),
      import: ImportReportSchema.nullable(),
    }),
  },
  'jobs.list': {
    req: z
      .object({ batchId: Id.optional(), limit: z.number().int().min(1).max(10_000).default(500) })
      .strict()
      .default({ limit: 500 }),
    res: z.object({ jobs: z.array(JobSchema), batches: z.array(BatchSchema) }),
  },
  'jobs.cancel': {
    req: z.object({ jobIds: z.array(Id).max(100_000).optional(), batchId: Id.optional() }).strict(),
    res: z.object({ canceled: z.number().int() }),
  },
  'jobs.retry': {
    req: z.object({ jobIds: z.array(Id).max(100_000).optional(), batchId: Id.optional() }).strict(),
    res: z.object({ requeued: z.number().int() }),
  },
  'jobs.clearFinished': { req: Empty, res: z.object({ removed: z.number().int() }) },
  'export.run': {
    req: z
      .object({
        renderIds: z.array(Id).min(1).max(100_000),
        folder: AbsPath.optional(),
        format: ExportFormatSchema.optional(),
        quality: z.number().int().min(40).max(100).optional(),
        overwrite: z.boolean().default(false),
      })
      .strict(),
    res: z.object({
      folder: z.string(),
      files: z.array(z.object({ renderId: Id, path: z.string() })),
      errors: z.array(z.object({ renderId: Id, error: z.string() })),
    }),
  },
  // Native dialogs: answered by the desktop app only; the server says they are not available.
  'dialog.openFiles': {
    /** `media`: photos, scans and films (the default); `onnx`: a model for the import wizard. */
    req: z
      .object({ kind: z.enum(['media', 'onnx']).default('media') })
      .strict()
      .default({ kind: 'media' }),
    res: z.object({ paths: z.array(z.string()) }),
  },
  'dialog.openFolder': { req: Empty, res: z.object({ paths: z.array(z.string()) }) },
  'shell.reveal': { req: z.object({ path: AbsPath }).strict(), res: Ok },
} as const;

export type Api = typeof api;
export type Method = keyof Api;
export type Req<M extends Method> = z.input<Api[M]['req']>;
export type ParsedReq<M extends Method> = z.output<Api[M]['req']>;
export type Res<M extends Method> = z.output<Api[M]['res']>;

export const METHODS = Object.keys(api) as Method[];
export const isMethod = (m: unknown): m is Method => typeof m === 'string' && Object.hasOwn(api, m);

/** Methods only the desktop shell can answer (they need native UI). */
export const DESKTOP_ONLY: readonly Method[] = ['dialog.openFiles', 'dialog.openFolder', 'shell.reveal'];

// The transport (channel names, the result envelope, events) lives in ./bridge, which imports the
// types it carries from here: one direction only, so neither file depends on the other's imports.
