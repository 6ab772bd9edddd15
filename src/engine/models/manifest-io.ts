import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ManifestSchema, type Manifest } from '../../shared/manifest';
import { errorMessage, fileError } from '../errors';

export interface LoadedManifest extends Manifest {
  /** Absolute path of the manifest.json. */
  manifestPath: string;
  /** Absolute path of the .onnx it describes. */
  modelPath: string;
}

/** Reads and validates a manifest; every problem is reported with the manifest's path. */
export async function loadManifest(manifestPath: string): Promise<LoadedManifest> {
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch (err) {
    throw fileError(manifestPath, 'manifest not found', 'BAD_MANIFEST', err);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw fileError(manifestPath, `manifest is not valid JSON (${errorMessage(err)})`, 'BAD_MANIFEST', err);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw fileError(manifestPath, `invalid manifest: ${issues}`, 'BAD_MANIFEST');
  }
  const abs = resolve(manifestPath);
  return { ...parsed.data, manifestPath: abs, modelPath: resolve(dirname(abs), parsed.data.file) };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
