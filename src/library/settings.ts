import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeTextAtomic } from '../engine/index';
import { SettingsSchema, type Settings } from '../shared/api';
import type { Db } from './db';

export const DEFAULT_SETTINGS: Omit<Settings, 'libraryDir'> = {
  executionProvider: 'auto',
  threads: 0,
  concurrency: 1,
  outputFolder: '',
  outputFormat: 'jpg',
  jpegQuality: 92,
  watermark: false,
  copyOriginals: false,
  theme: 'auto',
  farmRedis: '',
};

/**
 * Where the library lives is chosen before the library can be opened, so it is kept outside it, in
 * <data dir>/config.json; every other setting lives in the library's settings table.
 */
export function readLibraryDir(dataDir: string): string {
  const file = join(dataDir, 'config.json');
  if (existsSync(file)) {
    try {
      const cfg = JSON.parse(readFileSync(file, 'utf8')) as { libraryDir?: unknown };
      if (typeof cfg.libraryDir === 'string' && cfg.libraryDir.trim()) return resolve(cfg.libraryDir);
    } catch {
      // A damaged config must not stop the app from starting: fall back to the default library.
    }
  }
  return join(dataDir, 'library');
}

export async function writeLibraryDir(dataDir: string, libraryDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeTextAtomic(
    join(dataDir, 'config.json'),
    `${JSON.stringify({ libraryDir: resolve(libraryDir) }, null, 2)}\n`,
  );
}

export class SettingsStore {
  constructor(private readonly db: Db) {}

  read(): Omit<Settings, 'libraryDir'> {
    const rows = this.db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const { key, value } of rows) {
      if (key in DEFAULT_SETTINGS) {
        try {
          merged[key] = JSON.parse(value);
        } catch {
          // keep the default for a value this version cannot read
        }
      }
    }
    // Values from an older or newer version that no longer validate fall back to defaults one by one.
    const shape = SettingsSchema.omit({ libraryDir: true }).shape;
    for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof typeof DEFAULT_SETTINGS)[]) {
      if (!shape[key].safeParse(merged[key]).success) merged[key] = DEFAULT_SETTINGS[key];
    }
    return merged as Omit<Settings, 'libraryDir'>;
  }

  write(patch: Partial<Omit<Settings, 'libraryDir'>>): void {
    const stmt = this.db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(patch))
        if (value !== undefined) stmt.run(key, JSON.stringify(value));
    })();
  }
}
