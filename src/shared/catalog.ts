import { z } from 'zod';
import {
  InputSpecSchema,
  OutputSpecSchema,
  RenderSizeSchema,
  SizeSpecSchema,
  TASKS,
  TileSpecSchema,
} from './manifest';
import type { Manifest, ManifestInput, Task } from './manifest';

/**
 * The model catalog (resources/catalog.json) and the plain data the model manager hands to the CLI
 * and the app's Models page. Nothing here touches Node APIs, so the renderer may import it.
 */

const hex = (digits: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${digits}}$`), `${digits} hex digits`)
    .transform((s) => s.toLowerCase());

export const CatalogSourceSchema = z.object({
  /** Where the .onnx is published. */
  url: z.url(),
  /**
   * A text file holding the publisher's CRC32 of the .onnx (8 hex digits), fetched at install time
   * when the catalog does not pin `crc32` (FaceFusion publishes `<name>.hash` beside each model).
   */
  crc32Url: z.url().optional(),
});
export type CatalogSource = z.infer<typeof CatalogSourceSchema>;

/** The manifest fields that describe how to run the model: everything but identity and hash. */
export const ConventionsSchema = z.object({
  input: InputSpecSchema,
  size: SizeSpecSchema,
  output: OutputSpecSchema,
  scale: z.number().int().positive().default(1),
  renderSize: RenderSizeSchema.optional(),
  tile: TileSpecSchema.optional(),
});
export type Conventions = z.infer<typeof ConventionsSchema>;

export const CatalogEntrySchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'id: lower-case letters, digits, . _ -'),
  name: z.string().min(1),
  version: z.string().default('1.0.0'),
  task: z.enum(TASKS),
  description: z.string().optional(),
  license: z.string().min(1),
  /** The upstream project (the authors of the weights). */
  homepage: z.url(),
  /** Who converted and publishes the .onnx file. */
  publisher: z.string().min(1),
  /** First entry is the primary source; the rest are mirrors tried in order. */
  sources: z.array(CatalogSourceSchema).min(1),
  /** Pinned publisher CRC32; when null it is fetched from a source's crc32Url. */
  crc32: hex(8).nullable().default(null),
  /** Pinned SHA-256 once someone has checked a download; verified in addition to the CRC32. */
  sha256: hex(64).nullable().default(null),
  /** Approximate download size in bytes, when known; the server's Content-Length wins at download time. */
  sizeBytes: z.number().int().positive().nullable().default(null),
  /** One of the strongest models of its task: offered first (the app's first-launch colorizer offer). */
  recommended: z.boolean().default(false),
  conventions: ConventionsSchema,
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;
export type CatalogEntryInput = z.input<typeof CatalogEntrySchema>;

export const CatalogSchema = z
  .object({
    version: z.literal(1),
    entries: z.array(CatalogEntrySchema),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const e of c.entries) {
      if (seen.has(e.id)) ctx.addIssue({ code: 'custom', message: `duplicate catalog id ${e.id}` });
      seen.add(e.id);
    }
  });
export type Catalog = z.infer<typeof CatalogSchema>;

/** Stable failure codes for the CLI's --json output and the app (show a message per code). */
export type CatalogErrorCode =
  | 'UNKNOWN_MODEL'
  | 'NOT_INSTALLED'
  | 'ALREADY_INSTALLED'
  | 'BUNDLED'
  | 'OFFLINE'
  | 'HTTP'
  | 'NO_HASH'
  | 'HASH_MISMATCH'
  | 'MODEL_SHAPE'
  | 'BAD_MODEL'
  | 'UNWRITABLE'
  | 'DISK_FULL'
  | 'BUSY'
  | 'CANCELLED'
  | 'BAD_CATALOG'
  | 'BAD_MANIFEST';

export type InstallPhase = 'hash' | 'download' | 'verify' | 'install' | 'done';

/** Progress of one install; `totalBytes` and `etaSeconds` are null while the size is unknown. */
export interface DownloadProgress {
  id: string;
  phase: InstallPhase;
  /** The URL being read (the mirror after a fallback). */
  url: string | null;
  receivedBytes: number;
  totalBytes: number | null;
  /** Bytes per second over the last few seconds. */
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** Bytes that were already on disk from an interrupted download when this one started. */
  resumedFromBytes: number;
}

export type ModelOrigin = 'bundled' | 'catalog' | 'imported';

/** A model present on disk (bundled with the app or in the user's models folder). */
export interface InstalledModel {
  id: string;
  name: string;
  task: Task;
  origin: ModelOrigin;
  /** The folder holding manifest.json and the .onnx. */
  dir: string;
  manifestPath: string;
  modelPath: string;
  /** Bytes on disk of the whole model folder. */
  sizeOnDisk: number;
  license: string;
  source: string;
  /** Only user models can be removed. */
  removable: boolean;
  /** Set for catalog installs: the URL it came from and when. */
  installedFrom?: string;
  installedAt?: string;
  manifest: Manifest;
}

/** One row of the Models page / `tintype models list`. */
export interface ModelListing {
  id: string;
  name: string;
  task: Task;
  license: string;
  /** Upstream homepage for catalog models, the manifest's `source` otherwise. */
  source: string;
  /** Catalog entry when the id is in the catalog. */
  entry: CatalogEntry | null;
  /** The copy on disk, or null when only available for download. */
  installed: InstalledModel | null;
  /** Bytes of an interrupted download waiting to be resumed, 0 when none. */
  partialBytes: number;
  /** Approximate download size (catalog), or null. */
  downloadBytes: number | null;
}

/** What a model's graph declares for one input or output. */
export interface TensorInfo {
  name: string;
  /** onnxruntime's element type name: 'float32', 'float16', 'int64'... */
  type: string;
  /** Numbers are fixed dimensions, strings symbolic ones (dynamic). Empty when undeclared. */
  shape: (number | string)[];
}

export interface ModelInfo {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** The import wizard's data: what the file declares, what running it showed, and a proposal. */
export interface ImportProbe {
  file: string;
  info: ModelInfo;
  /** Human-readable observations ("runs at 64, 72, 80: multiple of 8"), shown to the user. */
  findings: string[];
  /** Why it cannot work; non-empty means `proposal` is null. */
  problems: string[];
  /** Where the probe had to guess between conventions that fit equally well. */
  uncertain: string[];
  /** A manifest to confirm (id, name, license may need editing); null when rejected. */
  proposal: ManifestInput | null;
}

export interface VerifyResult {
  id: string;
  origin: ModelOrigin;
  ok: boolean;
  problems: string[];
  sha256: string | null;
}

/** "255 MB", "1.2 GB": decimal units, as download sizes are usually quoted. */
export function formatBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
