#!/usr/bin/env node
// Runs the built CLI (out/main/cli.js); from a checkout without a build, runs the TypeScript source via tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../out/main/cli.js', import.meta.url));
let entry;
if (existsSync(built) && process.env.TINTYPE_FROM_SOURCE !== '1') {
  entry = pathToFileURL(built).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/index.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
