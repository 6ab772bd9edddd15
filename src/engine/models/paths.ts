import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The per-user data folder, the same one Electron's app.getPath('userData') uses for "Tintype". */
export function userDataDir(): string {
  if (process.env.TINTYPE_HOME) return resolve(process.env.TINTYPE_HOME);
  const home = homedir();
  switch (process.platform) {
    case 'win32':
      return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Tintype');
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'Tintype');
    default:
      return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Tintype');
  }
}

/** Models the user installed or imported. TINTYPE_MODELS_DIR overrides it (tests, portable installs). */
export function userModelsDir(): string {
  return process.env.TINTYPE_MODELS_DIR
    ? resolve(process.env.TINTYPE_MODELS_DIR)
    : join(userDataDir(), 'models');
}

/**
 * Models that ship with Tintype. In a packaged app they are extra resources; from a checkout or an
 * npm install they are resources/models at the package root, found by walking up from this file
 * (it runs from src/ under tests and from out/main/ when built).
 */
export function bundledModelsDir(): string {
  if (process.env.TINTYPE_BUNDLED_MODELS_DIR) return resolve(process.env.TINTYPE_BUNDLED_MODELS_DIR);
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath && existsSync(join(resourcesPath, 'models'))) return join(resourcesPath, 'models');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'resources', 'models');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return resolve('resources', 'models');
}

/** Where models are looked for, in order: bundled first, then the user's (which may override defaults). */
export function defaultModelDirs(): string[] {
  return [bundledModelsDir(), userModelsDir()];
}
