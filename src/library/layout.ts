import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Where a library keeps its files. Files the library owns (thumbnails, views, renders, copies of
 * originals) are stored relative to the library folder so the whole folder can be moved; the user's
 * originals are referenced by absolute path and never written to.
 */
export class LibraryLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get dbFile(): string {
    return join(this.root, 'library.sqlite');
  }

  projectDir(projectId: number): string {
    return join(this.root, 'projects', String(projectId));
  }

  /** Relative to the library root. */
  projectFile(
    projectId: number,
    kind: 'originals' | 'thumbs' | 'views' | 'renders' | 'uploads',
    name: string,
  ): string {
    return join('projects', String(projectId), kind, name);
  }

  previewDir(): string {
    return join(this.root, 'cache', 'previews');
  }

  /** Films made playable in a browser (proxies of sources and render masters) and range previews. */
  playDir(): string {
    return join(this.root, 'cache', 'play');
  }

  /** An absolute path for a stored path (owned files are stored relative). */
  abs(stored: string): string;
  abs(stored: string | null): string | null;
  abs(stored: string | null): string | null {
    if (stored === null) return null;
    return isAbsolute(stored) ? stored : join(this.root, stored);
  }

  /** True when `path` is inside the library folder (the only place the library ever deletes). */
  owns(path: string): boolean {
    const rel = relative(this.root, resolve(this.root, path));
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..');
  }
}
