/**
 * Really full and really read-only folders: tiny tmpfs mounts. Root ignores permission bits, so a
 * chmod cannot make a folder read-only for the tests that run as root in CI; a mount can. Mounting
 * needs root on Linux with the right to mount (a plain container has not): `canMount` says whether
 * this machine allows it, probed once, and `mountSkipReason` is the one line printed otherwise.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function probe(): string | null {
  if (process.platform !== 'linux') return 'tmpfs mounts are Linux-only';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = mkdtempSync(join(tmpdir(), 'tintype-mount-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
    if (r.status !== 0) return `mount -t tmpfs failed (${(r.stderr?.toString() || String(r.error)).trim()})`;
    spawnSync('umount', [dir]);
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const mountSkipReason = probe();
export const canMount = mountSkipReason === null;

const mounted: string[] = [];

/** Mounts a tmpfs of `size` (e.g. '600k') at `dir`, optionally read-only; false if it could not. */
export function mountTmpfs(dir: string, size: string, readOnly = false): boolean {
  mkdirSync(dir, { recursive: true });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status !== 0) return false;
  mounted.push(dir);
  return !readOnly || spawnSync('mount', ['-o', 'remount,ro', dir]).status === 0;
}

/** Gives a mounted tmpfs a new size (room freed: the rerun after a full disk). */
export function resizeTmpfs(dir: string, size: string): boolean {
  return spawnSync('mount', ['-o', `remount,size=${size}`, dir]).status === 0;
}

/** Unmounts everything this file mounted (call from afterAll). */
export function unmountAll(): void {
  for (const m of mounted.splice(0).reverse()) spawnSync('umount', ['-l', m]);
}

/** Whether a read-only folder can be made here: a read-only mount (root), or chmod (anyone else). */
export const canMakeReadOnly = canMount || (process.platform !== 'win32' && process.getuid?.() !== 0);

/** A folder nothing can be written in: a read-only tmpfs when root may mount, else chmod 0555. */
export function readOnlyFolder(dir: string): boolean {
  if (canMount) return mountTmpfs(dir, '1m', true);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o555);
  return true;
}
