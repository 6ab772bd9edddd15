import { randomBytes } from 'node:crypto';
import { access, link, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The longest file name (in UTF-8 bytes) ext4, APFS, NTFS and most others accept. */
export const MAX_NAME_BYTES = 255;

/** The longest prefix of `text` whose UTF-8 form fits in `bytes`, never cutting a character in two. */
function fitUtf8(text: string, bytes: number): string {
  let used = 0;
  let out = '';
  for (const ch of text) {
    used += Buffer.byteLength(ch);
    if (used > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * A temp path in the destination's own folder, so the final rename never crosses file systems.
 * The name is `.<dest name>.<pid>.<random>.tmp`, with the dest name shortened when needed so the
 * temp name fits wherever the final name does (a 243-byte output name is legal; its temp name
 * must not be what fails). `ext` is added after `.tmp` for tools that pick a format by extension.
 */
export function tempPathFor(dest: string, ext = ''): string {
  const tail = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp${ext}`;
  const name = fitUtf8(basename(dest), MAX_NAME_BYTES - 1 - tail.length);
  return join(dirname(dest), `.${name}${tail}`);
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files a killed run (kill -9, power cut) left for these destinations: names made
 * by tempPathFor whose process is gone. Files of a live process (another run) are left alone.
 */
export async function removeStaleTemps(dests: readonly string[]): Promise<string[]> {
  const byDir = new Map<string, string[]>();
  for (const d of dests) byDir.set(dirname(d), [...(byDir.get(dirname(d)) ?? []), basename(d)]);
  const removed: string[] = [];
  for (const [dir, names] of byDir) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries) {
      const m = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp(\.[a-z0-9]+)?$/i.exec(entry);
      if (!m || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
      if (!names.some((n) => n.startsWith(m[1]))) continue;
      await rm(join(dir, entry), { force: true }).catch(() => undefined);
      removed.push(join(dir, entry));
    }
  }
  return removed;
}
