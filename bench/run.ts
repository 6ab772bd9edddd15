/**
 * `npm run bench [-- name...]`: runs the benchmarks (not tests: they measure, they do not pass or
 * fail on speed). Each one is its own process so one's memory does not colour another's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'models.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : all;
// Benchmarks time the built CLI and app code, as users run them (a stale build would run the
// TypeScript sources through tsx instead, which costs seconds of start-up).
if (!process.argv.includes('--no-build')) {
  const b = spawnSync('npx', ['electron-vite', 'build'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: join(dir, '..') });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
let failed = 0;
for (const name of names) {
  const file = join(dir, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`unknown benchmark "${name}" (have: ${all.join(', ')})`);
    failed++;
    continue;
  }
  console.log(`\n### bench/${name}.ts`);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', file, ...process.argv.slice(2).filter((a) => a.startsWith('-') && a !== '--no-build')],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
