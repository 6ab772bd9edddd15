/**
 * The render farm end to end: a real redis-server started here, `tintype worker`s as child
 * processes, `tintype video --farm` as the coordinator, all on 127.0.0.1. No mock of Redis or
 * BullMQ. The model is slowInvertGraph (exact 1 − x, but deterministically slow), so segments take
 * long enough to kill a worker in the middle of one.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { farmStatus } from '../../src/farm/status';
import { runCli, startWorker, type WorkerProcess } from '../helpers/farm-workers';
import { installModel, slowInvertGraph } from '../helpers/models';
import { missingRedis, startRedis, type RedisServer } from '../helpers/redis';
import { skipWithout } from '../helpers/system-tools';
import { decodeAll, ffprobeJson, makeClip, packetHashes, tempDir } from '../helpers/video-fixtures';

const skip = skipWithout('render farm tests', missingRedis());

const QUEUE = 'tintype';
const MODEL = 'farm-slow-invert';
/** 1 s at 24 fps in four segments of 6 frames. */
const FRAMES = 24;
const SEGMENT = 6;

function restoreManifest(version: string) {
  return {
    id: MODEL,
    version,
    task: 'restore' as const,
    input: {
      layout: 'NCHW' as const,
      channels: 3 as const,
      frames: 1 as const,
      range: [0, 1] as [number, number],
      normalization: null,
    },
    size: { kind: 'dynamic' as const, multiple: 1 },
    output: { kind: 'rgb' as const, range: [0, 1] as [number, number] },
  };
}

describe.skipIf(skip)('render farm: tintype video --farm with real Redis and worker processes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let redis: RedisServer;
  let clip: string;
  let models: string;
  const workers: WorkerProcess[] = [];
  let wrong: WorkerProcess | undefined;
  /** No user models folder: only what the test installs. */
  let env: NodeJS.ProcessEnv;
  let reference: { frames: Buffer; audio: string[]; duration: string | undefined };
  let n = 0;

  const videoArgs = (out: string, extra: string[] = []): string[] => [
    'video',
    clip,
    '-o',
    out,
    '--ops',
    'restore',
    '--model',
    MODEL,
    '--segment-seconds',
    String(SEGMENT / 24),
    '--preset',
    'ultrafast',
    '--models-dir',
    models,
    '--json',
    ...extra,
  ];
  const result = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
  const output = () => join(dir, `farm-${++n}.mp4`);

  /** The Redis side as a test sees it: the same queue, through BullMQ (the coordinator's own view is in its process). */
  const observe = async (url = redis.url) => {
    const conn = new Redis(url, { maxRetriesPerRequest: null });
    const eventsConn = new Redis(url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection: conn });
    const events = new QueueEvents(QUEUE, { connection: eventsConn });
    await events.waitUntilReady();
    return {
      queue,
      events,
      close: async () => {
        await events.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
        conn.disconnect();
        eventsConn.disconnect();
      },
    };
  };

  /**
   * Why a job failed, once it has. Polled like the coordinator does: BullMQ's waitUntilFinished
   * listens on a QueueEvents stream read from '$', which misses a failure that lands before its first
   * read (CI saw a malformed job, refused at once, waited on for the whole test timeout).
   */
  const failureOf = async (queue: Queue, id: string): Promise<string> => {
    for (;;) {
      const state = await queue.getJobState(id);
      if (state === 'failed') return (await queue.getJob(id))?.failedReason ?? '';
      if (state === 'completed') throw new Error(`job ${id} completed; it should have been refused`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const expectSameAsLocal = async (out: string) => {
    const frames = await decodeAll(out);
    expect(frames.length).toBe(reference.frames.length);
    expect(frames.equals(reference.frames)).toBe(true);
    expect(await packetHashes(out, '0:a')).toEqual(reference.audio);
    expect((await ffprobeJson(out)).format.duration).toBe(reference.duration);
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('tintype-farm-'));
    env = { TINTYPE_MODELS_DIR: join(dir, 'user-models') };
    mkdirSync(env.TINTYPE_MODELS_DIR!, { recursive: true });
    models = join(dir, 'models');
    installModel(models, restoreManifest('1.0.0'), slowInvertGraph());
    const other = join(dir, 'other-models');
    installModel(other, restoreManifest('2.0.0'), slowInvertGraph());
    redis = await startRedis();
    clip = await makeClip(join(dir, 'clip.mp4'), { seconds: FRAMES / 24, rate: '24', audio: [440] });
    const workerArgs = (m: string) => ['--models-dir', m, '--stalled-seconds', '4', '--threads', '1'];
    const [local, odd, ...started] = await Promise.all([
      runCli(videoArgs(join(dir, 'local.mp4')), env).done,
      // Database 1: a queue only this worker, with version 2.0.0 of the model, serves.
      startWorker(`${redis.url}/1`, workerArgs(other), env),
      ...[0, 1, 2].map(() => startWorker(redis.url, workerArgs(models), env)),
    ]);
    wrong = odd as WorkerProcess;
    workers.push(...(started as WorkerProcess[]));
    expect(local.code, local.stderr).toBe(0);
    const out = join(dir, 'local.mp4');
    reference = {
      frames: await decodeAll(out),
      audio: await packetHashes(out, '0:a'),
      duration: (await ffprobeJson(out)).format.duration,
    };
    expect(reference.frames.length).toBe(FRAMES * 96 * 64 * 3);
  });

  afterAll(async () => {
    await Promise.all([...workers, ...(wrong ? [wrong] : [])].map((w) => w.kill()));
    await redis?.destroy();
    await cleanup?.();
  });

  it('renders a film through three workers exactly as a local render (frames, duration, audio)', async () => {
    const out = output();
    const r = await runCli(videoArgs(out, ['--farm', redis.url]), env).done;
    expect(r.code, r.stderr).toBe(0);
    const res = result(r.stdout);
    expect(res).toMatchObject({ frames: FRAMES, segments: 4, framesRendered: FRAMES });
    expect(Object.values(res.farm.workers as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(4);
    for (const w of Object.keys(res.farm.workers)) expect(workers.map((x) => x.name)).toContain(w);
    await expectSameAsLocal(out);
    expect(existsSync(`${out}.tintype-work`)).toBe(false);
    // What the app's queue panel shows: the workers, and which one rendered each segment.
    const status = await farmStatus(redis.url);
    expect(status.error).toBe('');
    expect(status.workers).toHaveLength(3);
    const mine = status.jobs.filter((j) => j.label.startsWith(`${basename(out)} · segment`));
    expect(mine).toHaveLength(4);
    for (const j of mine)
      expect(j).toMatchObject({
        state: 'completed',
        worker: res.farm.jobs.find(
          (x: { index: number }) => `${basename(out)} · segment ${x.index + 1}` === j.label,
        )?.worker,
      });
    expect((await farmStatus('redis://127.0.0.1:1')).error).toMatch(/127\.0\.0\.1:1/);
  });

  it('runs a folder of photos as farm jobs (groups of 2): same outputs as locally, a damaged one fails alone, a rerun skips what is done', async () => {
    const photos = join(dir, 'photos');
    mkdirSync(join(photos, 'sub'), { recursive: true });
    const noise = (seed: number) =>
      sharp(Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 37 + seed * 101) % 256)), {
        raw: { width: 40, height: 30, channels: 3 },
      });
    await noise(1).png().toFile(join(photos, 'a.png'));
    await noise(2)
      .png()
      .toFile(join(photos, 'sub', 'b.png'));
    await noise(3).jpeg().toFile(join(photos, 'c.jpg'));
    const whole = await noise(4).png().toBuffer();
    writeFileSync(join(photos, 'broken.png'), whole.subarray(0, Math.floor(whole.length / 2)));
    const args = (out: string, extra: string[] = []) => [
      'run',
      photos,
      '-r',
      '--ops',
      'restore',
      '--model',
      MODEL,
      '--models-dir',
      models,
      '-o',
      out,
      '--json',
      ...extra,
    ];
    const lines = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              input: string;
              output: string;
              ok: boolean;
              skipped?: boolean;
              error?: string;
              worker?: string;
            },
        );
    const localOut = join(dir, 'photos-local');
    const farmOut = join(dir, 'photos-farm');
    const [local, farm] = await Promise.all([
      runCli(args(localOut), env).done,
      runCli(args(farmOut, ['--farm', redis.url, '--farm-group', '2']), env).done,
    ]);
    expect(local.code).toBe(1);
    expect(farm.code, farm.stderr).toBe(1);
    const got = lines(farm.stdout);
    expect(got).toHaveLength(4);
    const bad = got.filter((r) => !r.ok);
    expect(bad, JSON.stringify(got, null, 1)).toHaveLength(1);
    expect(bad[0].error).toMatch(/broken\.png.*damaged or truncated/);
    for (const r of got.filter((x) => x.ok)) {
      expect(workers.map((w) => w.name)).toContain(r.worker);
      const twin = lines(local.stdout).find((l) => l.input === r.input)!;
      const [a, b] = await Promise.all([r.output, twin.output].map((f) => sharp(f).raw().toBuffer()));
      expect(a.equals(b)).toBe(true);
    }
    const again = await runCli(args(farmOut, ['--farm', redis.url]), env).done;
    const second = lines(again.stdout);
    expect(second.filter((r) => r.skipped)).toHaveLength(3);
    expect(second.filter((r) => !r.ok).map((r) => r.input)).toEqual([join(photos, 'broken.png')]);
  });

  it('rejects a malformed job put on the queue by hand with a message, and the workers carry on', async () => {
    const o = await observe();
    try {
      const bad = await o.queue.add('segment', { kind: 'segment', chain: 'not a chain' }, { attempts: 1 });
      expect(await failureOf(o.queue, bad.id!)).toMatch(/malformed job .*chain/);
      const worse = await o.queue.add('photo', 'just a string', { attempts: 1 });
      expect(await failureOf(o.queue, worse.id!)).toMatch(/malformed job/);
    } finally {
      await o.close();
    }
    for (const w of workers) expect(w.child.exitCode).toBeNull();
  });

  it('kill -9 of a worker in the middle of a segment: another worker takes it over, every frame exactly once', async () => {
    const o = await observe();
    let victim: WorkerProcess | undefined;
    const killed = new Promise<WorkerProcess>((resolve) => {
      o.events.on('progress', ({ data }) => {
        const p = data as { worker?: string; done?: number };
        // The first frame of a segment is written: the segment is in the middle, not finished.
        if (victim || !p.done || p.done >= SEGMENT) return;
        victim = workers.find((w) => w.name === p.worker);
        if (victim) void victim.kill().then(() => resolve(victim!));
      });
    });
    try {
      const out = output();
      const run = runCli(videoArgs(out, ['--farm', redis.url]), env);
      const dead = await killed;
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      const res = result(r.stdout);
      // The dead worker finished nothing; the segment it held was rendered by another one.
      expect(res.farm.workers[dead.name]).toBeUndefined();
      expect(Object.values(res.farm.workers as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(4);
      await expectSameAsLocal(out);
      workers.splice(workers.indexOf(dead), 1);
    } finally {
      await o.close();
    }
  });

  it('Redis restarted during a render (data kept): workers and coordinator reconnect and the render completes', async () => {
    let o = await observe();
    const out = output();
    const run = runCli(videoArgs(out, ['--farm', redis.url]), env);
    // At the first finished segment the queue is paused, so at least one segment is still to do
    // (two workers hold at most two) while Redis is down: the restart is mid-render, by construction.
    await new Promise<void>((resolve) => o.events.once('completed', () => resolve()));
    await o.queue.pause();
    await o.close();
    await redis.stop();
    await redis.start();
    o = await observe();
    await o.queue.resume();
    await o.close();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(result(r.stdout)).toMatchObject({ frames: FRAMES, segments: 4 });
    await expectSameAsLocal(out);
  });

  it('Redis gone for good: a clear error with the finished segments kept, and a later run resumes', async () => {
    let o = await observe();
    const out = output();
    const run = runCli(videoArgs(out, ['--farm', redis.url, '--farm-timeout', '3']), env);
    await new Promise<void>((resolve) => o.events.once('completed', () => resolve()));
    await o.queue.pause();
    await o.close();
    await redis.stop();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ has not answered for 3 s/);
    expect(r.stderr).toMatch(/finished segments kept in .*tintype-work, continue with the same command/);
    const kept = readdirSync(`${out}.tintype-work`).filter((f) => /^seg-\d+\.mp4$/.test(f));
    expect(kept.length).toBeGreaterThan(0);

    // A new Redis (its data lost): the same command resumes from the work folder.
    await redis.start();
    o = await observe();
    await o.queue.obliterate({ force: true });
    await o.close();
    const again = await runCli(videoArgs(out, ['--farm', redis.url]), env).done;
    expect(again.code, again.stderr).toBe(0);
    const res = result(again.stdout);
    expect(res.frames).toBe(FRAMES);
    expect(res.framesRendered).toBeLessThan(FRAMES);
    expect(res.resumedFromFrame).toBeGreaterThan(0);
    await expectSameAsLocal(out);
  });

  it('a worker with another version of the model refuses the job by name, and the render fails with that reason', async () => {
    const url = `${redis.url}/1`;
    const w = wrong!;
    try {
      const r = await runCli(videoArgs(output(), ['--farm', url, '--attempts', '1']), env).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `worker ${w.name} refuses segment \\d+ .*model "${MODEL}": the job needs version 1\\.0\\.0 .*this machine has version 2\\.0\\.0`,
        ),
      );
      expect(r.stderr).toMatch(/segments failed on the farm/);
      expect(w.log()).toMatch(/refuses segment/);
    } finally {
      await w.stop();
    }
  });
});
