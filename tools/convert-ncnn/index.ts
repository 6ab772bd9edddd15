import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_OUT, compareModel, writeModel } from '../convert-esrgan/index';
import { NCNN_SPECS, ncnnSpecById } from './catalog';
import { buildNcnnModel } from './build';

/**
 * `npm run models:build` (second half): converts Upscayl's Real-ESRGAN ncnn files to ONNX plus
 * manifest and licence, one folder per model id, deterministically; `--check` converts in memory
 * and fails if the files on disk differ.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      models: { type: 'string', default: 'all' },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: tsx tools/convert-ncnn/index.ts [--out DIR] [--models all|ID,ID...] [--check]\n' +
        `  ids: ${NCNN_SPECS.map((s) => s.id).join(', ')}`,
    );
    return;
  }
  const specs =
    values.models === 'all' ? NCNN_SPECS : values.models.split(',').map((s) => ncnnSpecById(s.trim()));
  const outDir = resolve(values.out);
  let stale = 0;
  for (const spec of specs) {
    const built = await buildNcnnModel(spec);
    if (values.check) {
      const differing = await compareModel(built, outDir);
      stale += differing.length;
      console.log(`${spec.id}: ${differing.length ? `DIFFERS: ${differing.join(', ')}` : 'up to date'}`);
    } else {
      const dir = await writeModel(built, outDir);
      console.log(
        `${spec.id}: ${dir} (${(built.onnx.length / 1e6).toFixed(1)} MB, sha256 ${built.manifest.sha256.slice(0, 12)}…)`,
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
