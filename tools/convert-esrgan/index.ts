import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ALL_SPECS, SHIPPED, specById, type ModelSpec } from './catalog';
import { MODEL_FILE, buildModel, type BuiltModel } from './build';

/**
 * `npm run models:build`: converts the UpscalerJS ESRGAN TF.js models in node_modules to ONNX plus
 * manifest and licence note, one folder per model id. The output is a pure function of the input
 * files, so rerunning reproduces the committed files byte for byte; `--check` verifies exactly that.
 */

export const DEFAULT_OUT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'resources',
  'models',
);

export function selectSpecs(models: string): ModelSpec[] {
  if (models === 'shipped') return SHIPPED.map(specById);
  if (models === 'all') return ALL_SPECS;
  return models
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(specById);
}

/** What a converted model folder holds; every converter in tools/ produces one. */
export type ModelFolder = Pick<BuiltModel, 'onnx' | 'manifestJson' | 'license'> & { spec: { id: string } };

export function filesOf(built: ModelFolder): Record<string, Uint8Array | string> {
  return { [MODEL_FILE]: built.onnx, 'manifest.json': built.manifestJson, LICENSE: built.license };
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Writes one model's folder; returns its path. */
export async function writeModel(built: ModelFolder, outDir: string): Promise<string> {
  const dir = join(outDir, built.spec.id);
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(filesOf(built))) await writeAtomic(join(dir, name), data);
  return dir;
}

/** Names of the files in outDir that differ from a fresh conversion (missing files count). */
export async function compareModel(built: ModelFolder, outDir: string): Promise<string[]> {
  const differing: string[] = [];
  for (const [name, data] of Object.entries(filesOf(built))) {
    const path = join(outDir, built.spec.id, name);
    const want = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    const have = await readFile(path).catch(() => null);
    if (!have || !have.equals(want)) differing.push(path);
  }
  return differing;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      models: { type: 'string', default: 'shipped' },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: tsx tools/convert-esrgan/index.ts [--out DIR] [--models shipped|all|ID,ID...] [--check]\n' +
        `  ids: ${ALL_SPECS.map((s) => s.id).join(', ')}\n` +
        '  --check  convert in memory and fail if the files in DIR differ',
    );
    return;
  }
  const outDir = resolve(values.out);
  let stale = 0;
  for (const spec of selectSpecs(values.models)) {
    const built = await buildModel(spec);
    const mb = (built.onnx.length / 1e6).toFixed(1);
    if (values.check) {
      const differing = await compareModel(built, outDir);
      stale += differing.length;
      console.log(`${spec.id}: ${differing.length ? `DIFFERS: ${differing.join(', ')}` : 'up to date'}`);
    } else {
      const dir = await writeModel(built, outDir);
      console.log(
        `${spec.id}: ${dir} (${mb} MB, sha256 ${built.manifest.sha256.slice(0, 12)}…, tile ${built.manifest.tile?.size}/${built.manifest.tile?.overlap})`,
      );
    }
  }
  if (stale) {
    console.error(`${stale} file(s) differ from a fresh conversion: run npm run models:build`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
