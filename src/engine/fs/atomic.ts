import { randomBytes } from 'node:crypto';
import { access, link, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temp path in the destination's own folder, so the final rename never crosses file systems. */
export function tempPathFor(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Moves a finished temp file into place. Without `overwrite`, link() refuses an existing `dest`,
 * which makes "never overwrite" race-free; file systems without hard links (FAT on a USB stick)
 * fall back to a check and a rename.
 */
export async function commitTemp(tmp: string, dest: string, overwrite: boolean): Promise<void> {
  if (overwrite) {
    await rename(tmp, dest);
    return;
  }
  try {
    await link(tmp, dest);
    await rm(tmp, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw err;
    if (await exists(dest)) throw Object.assign(new Error(`EEXIST: ${dest}`), { code: 'EEXIST' });
    await rename(tmp, dest);
  }
}

/**
 * Writes bytes so that `dest` is either untouched or complete: a crash or kill mid-write leaves at
 * most a hidden temp file, never a truncated output. Data is fsynced before it is moved into place.
 */
export async function writeFileAtomic(
  dest: string,
  data: Uint8Array,
  opts: { overwrite?: boolean } = {},
): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await commitTemp(tmp, dest, opts.overwrite ?? false);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes a small text/JSON file atomically (journals, manifests); replaces any previous version. */
export async function writeTextAtomic(dest: string, text: string): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    await writeFile(tmp, text);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
