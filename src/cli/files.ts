import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import {
  errorMessage,
  IMAGE_EXTENSIONS,
  ioProblem,
  operations,
  WRITABLE_EXTENSIONS,
  type OutputFormat,
} from '../engine/index';

export interface PlannedFile {
  input: string;
  output: string;
}

/** A file Tintype wrote earlier ("photo.colorize.jpg"): skipped when a folder is scanned again. */
export function looksLikeOutput(path: string): boolean {
  // Built from the registry when asked, so an operation registered later is covered too.
  const op = `(${operations()
    .map((o) => o.name)
    .join('|')})`;
  return new RegExp(`\\.${op}(-${op})*(\\.mask)?\\.[^.]+$`, 'i').test(basename(path));
}

/** Where --save-mask writes an output's mask: "photo.repair.jpg" → "photo.repair.mask.png". */
export function maskPathFor(output: string): string {
  return `${output.slice(0, output.length - extname(output).length)}.mask.png`;
}

interface Found {
  path: string;
  /** The folder it was found under, for keeping relative paths in -o. */
  root?: string;
}

/** Expands the arguments into image files; missing paths are kept so they fail with a clear error. */
export async function collectInputs(
  args: string[],
  recursive: boolean,
): Promise<{ files: Found[]; warnings: string[] }> {
  const files: Found[] = [];
  const warnings: string[] = [];
  const walk = async (dir: string, root: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
      // An unreadable subfolder is named and skipped; it does not stop the batch.
      warnings.push(`${dir}: cannot read this folder: ${ioProblem(err, dir) ?? errorMessage(err)}`);
      return [];
    });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (recursive) await walk(p, root, depth + 1);
      } else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()) && !looksLikeOutput(p)) {
        files.push({ path: p, root });
      }
    }
  };
  for (const arg of args) {
    const p = resolve(arg);
    const s = await stat(p).catch(() => undefined);
    if (s?.isDirectory()) {
      const before = files.length;
      await walk(p, p, 0);
      if (files.length === before)
        warnings.push(`${arg}: no images found${recursive ? '' : ' (use -r for subfolders)'}`);
    } else {
      files.push({ path: p });
    }
  }
  return { files, warnings };
}

const EXT: Record<OutputFormat, string> = { jpg: '.jpg', png: '.png', tif: '.tif', webp: '.webp' };

/**
 * Output names: <stem>.<suffix>.<ext> beside the input, or under -o (a folder, or a file when there
 * is exactly one input). Files found in a folder keep their relative path under -o.
 */
export async function planOutputs(
  found: Found[],
  suffix: string,
  out: string | undefined,
  format: OutputFormat | undefined,
): Promise<PlannedFile[]> {
  const name = (input: string) => {
    const own = extname(input);
    const stem = basename(input, own);
    if (format) return `${stem}.${suffix}${EXT[format]}`;
    if (WRITABLE_EXTENSIONS.includes(own.toLowerCase())) return `${stem}.${suffix}${own}`;
    // GIF, AVIF and HEIC inputs become PNG; the old extension stays in the name so photo.gif and
    // photo.png beside it do not both become photo.colorize.png.
    return `${stem}-${own.slice(1).toLowerCase()}.${suffix}.png`;
  };
  if (!out)
    return unique(
      found.map((f) => ({ input: f.path, output: join(dirname(f.path), name(f.path)) })),
      suffix,
    );
  const target = resolve(out);
  const s = await stat(target).catch(() => undefined);
  const asFile =
    !s?.isDirectory() &&
    found.length === 1 &&
    !found[0].root &&
    IMAGE_EXTENSIONS.includes(extname(target).toLowerCase());
  if (asFile) return [{ input: found[0].path, output: target }];
  return unique(
    found.map((f) => {
      const rel = f.root ? dirname(relative(f.root, f.path)) : '.';
      return { input: f.path, output: join(target, rel, name(f.path)) };
    }),
    suffix,
  );
}

/**
 * Two inputs never share an output (a/photo.jpg and b/photo.jpg given to one -o folder): the later
 * ones get -2, -3… before the suffix, so one batch cannot overwrite its own results.
 */
function unique(plan: PlannedFile[], suffix: string): PlannedFile[] {
  const taken = new Set<string>();
  return plan.map((p) => {
    let output = p.output;
    const b = basename(p.output);
    const at = b.lastIndexOf(`.${suffix}.`);
    for (let n = 2; taken.has(output.toLowerCase()); n++)
      output = join(dirname(p.output), `${b.slice(0, at)}-${n}${b.slice(at)}`);
    taken.add(output.toLowerCase());
    return output === p.output ? p : { ...p, output };
  });
}
