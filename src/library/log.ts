import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../engine/index';

const MAX_BYTES = 5 * 1024 * 1024;

/**
 * A plain-text log file (with one previous generation kept) that a user can attach to a bug report.
 * Writes are synchronous and small: a line must reach the disk even if the process dies right after.
 */
export function fileLogger(
  file: string,
  alsoConsole = false,
): Logger & { error(message: string): void; file: string } {
  mkdirSync(dirname(file), { recursive: true });
  const write = (level: string, message: string) => {
    const line = `${new Date().toISOString()} ${level} ${message}\n`;
    try {
      if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) > MAX_BYTES) renameSync(file, `${file}.1`);
      appendFileSync(file, line);
    } catch {
      // Logging must never take the app down (full disk, read-only folder).
    }
    if (alsoConsole) process.stderr.write(line);
  };
  return {
    file,
    info: (m) => write('INFO ', m),
    warn: (m) => write('WARN ', m),
    error: (m) => write('ERROR', m),
  };
}
