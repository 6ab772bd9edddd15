import { hostname } from 'node:os';
import { join } from 'node:path';
import { open, readFile, rm } from 'node:fs/promises';
import { CatalogError, errnoCode, errorMessage } from '../errors';

/**
 * One writer per model id. Inside a process, a second install of the same id joins the first
 * (the app's button pressed twice); across processes (the CLI while the app runs) a lock file in
 * the work area refuses the second one, and a lock left by a process that died is taken over.
 */

interface LockOwner {
  pid: number;
  host: string;
  at: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

/** Locks this process holds: its own pid in a lock file is not a sign of staleness for these. */
const held = new Set<string>();

export async function acquireLock(partialDir: string, id: string): Promise<HeldLock> {
  const path = join(partialDir, `${id}.lock`);
  if (held.has(path))
    throw new CatalogError(`model ${id} is busy (an install or removal is running)`, 'BUSY');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fh = await open(path, 'wx');
      const owner: LockOwner = { pid: process.pid, host: hostname(), at: new Date().toISOString() };
      await fh.writeFile(JSON.stringify(owner));
      await fh.close();
      held.add(path);
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          held.delete(path);
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new CatalogError(
          `cannot create the lock ${path} (${errnoCode(err) ?? errorMessage(err)})`,
          'UNWRITABLE',
          { cause: err },
        );
      }
    }
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    } catch {
      // Unreadable: being written right now, or garbage from a crash; the checks below decide.
    }
    const stale =
      typeof owner.pid === 'number' &&
      owner.host === hostname() &&
      (owner.pid === process.pid || !alive(owner.pid));
    if (!stale) {
      throw new CatalogError(
        `model ${id} is being installed or removed by another Tintype process${owner.pid ? ` (pid ${owner.pid})` : ''}; ` +
          `if none is running, delete ${path}`,
        'BUSY',
      );
    }
    await rm(path, { force: true });
  }
  throw new CatalogError(`could not take the lock ${path}`, 'BUSY');
}

/** Calls with the same key share one run; the returned promise is the first caller's. */
export class Joiner<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, start: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.running.get(key);
    if (existing) return { promise: existing, joined: true };
    const promise = start().finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return { promise, joined: false };
  }

  has(key: string): boolean {
    return this.running.has(key);
  }
}
