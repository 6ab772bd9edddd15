/**
 * Measures how responsive the headless server (the same backend as the desktop app's main process)
 * stays while it renders: event-loop delay from perf_hooks.monitorEventLoopDelay inside the server
 * (app.stats), and the round-trip time of small API calls made during the batch.
 * Goal: p99 event-loop delay ≤ 50 ms. Run after `npm run build`:
 *   npx tsx tests/e2e/measure-lag.ts [photos=6] [edge=1200]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { installTestModels, requireBuild, ROOT, startServer } from './fixtures';
import { writePhoto } from '../helpers/library-helpers';

const count = Number(process.argv[2] ?? 6);
const edge = Number(process.argv[3] ?? 1200);
requireBuild();
const dir = mkdtempSync(join(tmpdir(), 'tintype-lag-'));
const photos = join(dir, 'photos');
mkdirSync(photos);
installTestModels(join(dir, 'models'));
const real = join(ROOT, '..', 'shared', 'datasets', 'bw', 'deoldify-test-images');
let sources: string[] = [];
try {
  sources = readdirSync(real)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();
} catch {
  // no shared datasets: generated pictures
}
for (let i = 0; i < count; i++) {
  const out = join(photos, `photo-${i}.jpg`);
  if (sources[i])
    await sharp(join(real, sources[i]))
      .resize(edge, edge, { fit: 'inside' })
      .greyscale()
      .jpeg({ quality: 90 })
      .toFile(out);
  else await writePhoto(out, edge, Math.round(edge * 0.75), i + 1, true);
}

const server = await startServer({
  dataDir: join(dir, 'data'),
  libraryDir: join(dir, 'library'),
  modelsDir: join(dir, 'models'),
});
const call = async <T>(method: string, body: unknown = {}): Promise<T> => {
  const r = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = (await r.json()) as { ok: boolean; value: T; error?: { message: string } };
  if (!j.ok) throw new Error(`${method}: ${j.error?.message}`);
  return j.value;
};
type Stats = {
  eventLoop: { meanMs: number; p50Ms: number; p99Ms: number; maxMs: number; samples: number };
  rssMb: number;
};

try {
  const project = await call<{ id: number }>('projects.create', { name: 'lag' });
  await call('assets.import', { projectId: project.id, paths: [photos] });
  await call<Stats>('app.stats', { reset: true });
  const t0 = performance.now();
  await call('batch.start', {
    target: { kind: 'project', projectId: project.id },
    recipe: { ops: ['restore', 'colorize', 'upscale'], options: { scale: 2 } },
  });
  const rtts: number[] = [];
  for (;;) {
    const t = performance.now();
    const jobs = await call<{ batches: { queued: number; running: number; done: number; failed: number }[] }>(
      'jobs.list',
      { limit: 50 },
    );
    await call('assets.list', { projectId: project.id });
    rtts.push(performance.now() - t);
    const b = jobs.batches[0];
    if (b.queued + b.running === 0) {
      const secs = (performance.now() - t0) / 1000;
      const stats = await call<Stats>('app.stats');
      rtts.sort((a, b) => a - b);
      const pct = (p: number) =>
        rtts[Math.min(rtts.length - 1, Math.floor((p / 100) * rtts.length))].toFixed(1);
      console.log(
        JSON.stringify(
          {
            photos: count,
            edge,
            recipe: 'restore + colorize + upscale ×2',
            done: b.done,
            failed: b.failed,
            seconds: Number(secs.toFixed(1)),
            eventLoopMs: stats.eventLoop,
            apiRoundTripMs: { p50: Number(pct(50)), p99: Number(pct(99)), samples: rtts.length },
            serverRssMb: stats.rssMb,
          },
          null,
          2,
        ),
      );
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
