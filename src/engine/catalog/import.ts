import { constants } from 'node:fs';
import { copyFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import type { InstalledModel } from '../../shared/catalog';
import { ManifestSchema } from '../../shared/manifest';
import type { Manifest, ManifestInput } from '../../shared/manifest';
import { MODEL_FILE } from './catalog';
import { CatalogError, errnoCode, errorMessage } from '../errors';
import { digestFile } from './hash';
import { acquireLock } from './lock';
import { testPicture } from './probe';
import { checkShapes, openSession, outputChannels, sessionInfo } from './shapes';
import {
  commitModelDir,
  exists,
  makeStaging,
  modelsDirOf,
  partialDirOf,
  prepareModelsDir,
  readModelDir,
  writeModelFiles,
} from './store';
import type { StoreOptions } from './store';

/**
 * Importing a user's own .onnx: `probeOnnx` proposes a manifest, the user confirms or edits it,
 * `importModel` checks the file really runs that way and copies it into the models folder. The
 * original file is only read.
 */

export { probeOnnx, sanitizeId } from './probe';

/** The size a smoke run uses: the render size for colorizers, the tile size otherwise. */
function workingSize(m: Manifest): number {
  if (m.size.kind === 'fixed') return m.size.value;
  const want = m.renderSize?.default ?? m.tile?.size ?? 64;
  const mult = m.size.multiple;
  return Math.max(mult, Math.round(Math.min(want, 128) / mult) * mult);
}

/** Runs the model once as the manifest describes it; throws MODEL_SHAPE naming what went wrong. */
export async function smokeTest(session: ort.InferenceSession, m: Manifest, file: string): Promise<void> {
  const size = workingSize(m);
  const ch = m.input.channels * m.input.frames;
  const picture = testPicture(size);
  const data = new Float32Array(ch * size * size);
  const [lo, hi] = m.input.range;
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < ch; c++) {
      data[m.input.layout === 'NCHW' ? c * size * size + i : i * ch + c] = lo + (hi - lo) * picture[i];
    }
  }
  const dims = m.input.layout === 'NCHW' ? [1, ch, size, size] : [1, size, size, ch];
  const inputName = m.input.name ?? session.inputNames[0];
  const outputName = m.output.name ?? session.outputNames[0];
  let out: ort.Tensor | undefined;
  try {
    out = (await session.run({ [inputName]: new ort.Tensor('float32', data, dims) }, [outputName]))[
      outputName
    ];
  } catch (err) {
    throw new CatalogError(
      `${file}: fails to run on a ${size}x${size} image as described (${errorMessage(err).split('\n')[0]})`,
      'MODEL_SHAPE',
    );
  }
  const od = out.dims.map(Number);
  const layout = m.output.layout ?? m.input.layout;
  const [c, h, w] = layout === 'NCHW' ? [od[1], od[2], od[3]] : [od[3], od[1], od[2]];
  const want = outputChannels[m.output.kind];
  if (od.length !== 4 || c !== want || h !== size * m.scale || w !== size * m.scale) {
    throw new CatalogError(
      `${file}: for a ${size}x${size} input the output is [${od.join(', ')}]; the manifest expects ${want} channels at ` +
        `${size * m.scale}x${size * m.scale} (${layout})`,
      'MODEL_SHAPE',
    );
  }
  if (!(out.data as Float32Array).every((v) => Number.isFinite(v))) {
    throw new CatalogError(`${file}: the output holds NaN or infinite values`, 'MODEL_SHAPE');
  }
}

/**
 * Copies `file` into `<modelsDir>/<id>/model.onnx` with the confirmed manifest (its sha256 and
 * file name are filled in here). Refuses a manifest the file does not fit, and an id in use
 * unless `overwrite`.
 */
export async function importModel(
  file: string,
  manifest: ManifestInput,
  opts: StoreOptions & { overwrite?: boolean } = {},
): Promise<InstalledModel> {
  const src = resolve(file);
  try {
    if (!(await stat(src)).isFile()) throw new Error('not a regular file');
  } catch (err) {
    throw new CatalogError(`${src}: cannot read (${errnoCode(err) ?? errorMessage(err)})`, 'BAD_MODEL', {
      cause: err,
    });
  }
  const digest = await digestFile(src);
  const parsed = ManifestSchema.safeParse({ ...manifest, file: MODEL_FILE, sha256: digest.sha256 });
  if (!parsed.success) {
    throw new CatalogError(
      `manifest for ${src} is invalid: ${z.prettifyError(parsed.error)}`,
      'BAD_MANIFEST',
    );
  }
  const m = parsed.data;

  const session = await openSession(src);
  try {
    const problems = checkShapes(sessionInfo(session), m);
    if (problems.length > 0) {
      throw new CatalogError(`${src} does not fit the manifest: ${problems.join('; ')}`, 'MODEL_SHAPE');
    }
    await smokeTest(session, m, src);
  } finally {
    await session.release();
  }

  const modelsDir = modelsDirOf(opts);
  if (!opts.overwrite && (await exists(join(modelsDir, m.id)))) {
    throw new CatalogError(
      `a model with id ${m.id} is already installed in ${modelsDir}; choose another id`,
      'ALREADY_INSTALLED',
    );
  }
  await prepareModelsDir(modelsDir);
  const lock = await acquireLock(partialDirOf(modelsDir), m.id);
  let staging: string | null = null;
  try {
    staging = await makeStaging(modelsDir, m.id);
    const dest = join(staging, MODEL_FILE);
    try {
      await copyFile(src, dest, constants.COPYFILE_FICLONE);
    } catch (err) {
      const code = errnoCode(err);
      throw new CatalogError(
        `cannot copy ${src} into ${modelsDir} (${code ?? errorMessage(err)})`,
        code === 'ENOSPC' ? 'DISK_FULL' : 'UNWRITABLE',
        {
          cause: err,
        },
      );
    }
    // Hash the copy: the original could have changed between the checks and the copy.
    const copied = await digestFile(dest);
    if (copied.sha256 !== m.sha256) {
      throw new CatalogError(`${src} changed while it was being imported; try again`, 'HASH_MISMATCH');
    }
    await writeModelFiles(staging, m, {
      origin: 'imported',
      from: src,
      installedAt: new Date().toISOString(),
    });
    const dir = await commitModelDir(staging, modelsDir, m.id);
    staging = null;
    const installed = await readModelDir(dir, false);
    if (typeof installed === 'string') throw new CatalogError(installed, 'BAD_MANIFEST');
    return installed;
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
    await lock.release();
  }
}
