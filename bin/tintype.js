#!/usr/bin/env node
// Runs the built CLI (out/main/cli.js). In a checkout whose sources are newer than the build (or with
// no build at all), runs the TypeScript sources through tsx instead, so a stale build never runs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'out', 'main', 'cli.js');
const src = join(root, 'src');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const useBuilt =
  existsSync(built) &&
  process.env.TINTYPE_FROM_SOURCE !== '1' &&
  (!existsSync(src) || statSync(built).mtimeMs >= newestMtime(src));
let entry;
if (useBuilt) {
  entry = pathToFileURL(built).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = pathToFileURL(join(src, 'cli', 'index.ts')).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
