import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, EnginePool } from '../../src/engine';
import { SessionCache, gpuCandidates } from '../../src/engine/model/session';
import { loadManifest } from '../../src/engine/models/manifest-io';
import { greyPattern, saveRaster, tempDir } from '../helpers/images';
import { installColorizer } from '../helpers/models';

describe('execution providers', () => {
  const dir = tempDir();
  beforeAll(() => {
    installColorizer(dir, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
  });

  it('auto falls back to CPU with one clear log line when the GPU provider cannot load', async () => {
    const lines: string[] = [];
    const cache = new SessionCache({
      ep: 'auto',
      log: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    });
    const m = await cache.get(await loadManifest(join(dir, 'warm', 'manifest.json')));
    if (gpuCandidates().length > 0 && m.ep === 'cpu') {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/GPU execution provider unavailable \(cuda: .+\); running on CPU/);
    }
    expect(['cpu', ...gpuCandidates()]).toContain(m.ep);
  });

  it('auto falls back when a provider throws (simulated), and a forced provider that fails is an error', async () => {
    const lines: string[] = [];
    const ort = await import('onnxruntime-node');
    const tried: string[] = [];
    const create = async (bytes: Uint8Array, o: { executionProviders?: unknown[] }) => {
      const ep = String(o.executionProviders?.[0]);
      tried.push(ep);
      if (ep !== 'cpu') throw new Error(`${ep} provider failed to initialise: no device`);
      return ort.InferenceSession.create(bytes, o as never);
    };
    const manifest = await loadManifest(join(dir, 'warm', 'manifest.json'));
    // Each cache has its own "already failed" memory only for real loads; a fresh injected create is always tried.
    const auto = new SessionCache({
      ep: 'auto',
      log: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
      create: create as never,
    });
    const loaded = await auto.get(manifest);
    expect(loaded.ep).toBe('cpu');
    expect(tried.at(-1)).toBe('cpu');
    const forced = new SessionCache({ ep: 'dml', create: create as never });
    await expect(forced.get(manifest)).rejects.toThrow(
      /execution provider "dml" is not available: dml provider failed to initialise/,
    );
    const cpu = new SessionCache({ ep: 'cpu', create: create as never });
    expect((await cpu.get(manifest)).ep).toBe('cpu');
  });

  it('idle inference threads sleep rather than spin between runs', async () => {
    let seen: unknown;
    const ort = await import('onnxruntime-node');
    const create = async (bytes: Uint8Array, o: { extra?: unknown }) => {
      seen = o.extra;
      return ort.InferenceSession.create(bytes, o as never);
    };
    const manifest = await loadManifest(join(dir, 'warm', 'manifest.json'));
    await new SessionCache({ ep: 'cpu', create: create as never }).get(manifest);
    expect(seen).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
  });

  it('forcing CUDA where its libraries are missing is an error, not a silent fallback', async () => {
    if (process.platform !== 'linux') return;
    const engine = new Engine({ ep: 'cuda', modelDirs: [dir] });
    const ok = await engine.sessions.get(await engine.registry.get('warm')).then(
      (m) => m.ep === 'cuda',
      (err: Error) => {
        expect(err.message).toMatch(/execution provider "cuda" is not available/);
        return false;
      },
    );
    // On a machine with CUDA installed the provider loads; either way no silent CPU fallback happened.
    expect(typeof ok).toBe('boolean');
  });
});

describe('EnginePool (worker threads)', () => {
  const dir = tempDir();
  beforeAll(() => {
    installColorizer(dir, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
  });

  it('processes files and rasters off the calling thread, with progress, and keeps a failure to its own file', async () => {
    const work = tempDir();
    const lines: string[] = [];
    const pool = new EnginePool({
      modelDirs: [dir],
      workers: 2,
      threads: 2,
      maxQueue: 2,
      log: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    });
    try {
      const inputs = await Promise.all(
        [0, 1, 2].map((i) => saveRaster(join(work, `p${i}.png`), greyPattern(50 + i, 40))),
      );
      const progress: number[] = [];
      const results = await Promise.all([
        ...inputs.map((input, i) =>
          pool.processFile(
            {
              input,
              output: join(work, `p${i}.out.png`),
              ops: ['colorize'],
              options: { models: { colorize: 'warm' } },
            },
            (e) => progress.push(e.fraction),
          ),
        ),
        pool.processFile({
          input: join(work, 'missing.png'),
          output: join(work, 'm.out.png'),
          ops: ['colorize'],
          options: {},
        }),
      ]);
      expect(results.slice(0, 3).map((r) => r.ok)).toEqual([true, true, true]);
      expect(results[3].ok).toBe(false);
      expect(results[3].error).toMatch(/missing\.png: file not found/);
      expect(progress).toContain(1);
      // Both workers loaded the model; where the GPU provider fails, the fallback is said once.
      expect(lines.filter((l) => l.includes('running on CPU')).length).toBeLessThanOrEqual(1);
      const raster = greyPattern(30, 20);
      const out = await pool.processRaster(raster, ['colorize'], { models: { colorize: 'warm' } });
      expect([out.width, out.height, out.channels]).toEqual([30, 20, 3]);
      await expect(
        pool.processRaster(raster, ['colorize'], { models: { colorize: 'nope' } }),
      ).rejects.toThrow(/model "nope" not found/);
    } finally {
      await pool.close();
    }
  });
});
