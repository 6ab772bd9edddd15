/**
 * CI smoke test of the training toolkit (training/): every NoGAN phase for two iterations on a few
 * tiny generated images on CPU, ONNX export, PyTorch-vs-onnxruntime-node parity, and the manifest
 * checked against the engine's contract.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import type { Raster } from '../../src/engine/types';
import { ManifestSchema } from '../../src/shared/manifest';
import { checkParity } from '../../training/parity';
import { requireTorch, skipTraining } from '../helpers/training';
import { runToolkit } from '../../training/runner';

const WHAT = 'training smoke test';
const skip = await skipTraining(WHAT);

let dir: string;

/** A small colour picture: two gradients and a few flat rectangles, different per seed. */
async function writePicture(file: string, seed: number, width = 64, height = 48): Promise<void> {
  const px = Buffer.alloc(width * height * 3);
  let s = seed * 2654435761;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) % 256;
  const rects = Array.from({ length: 4 }, () => [
    rand() % width,
    rand() % height,
    6 + (rand() % 20),
    6 + (rand() % 16),
    rand(),
    rand(),
    rand(),
  ]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      px[i] = (x * 4 + seed * 40) & 255;
      px[i + 1] = (y * 5 + seed * 70) & 255;
      px[i + 2] = ((x + y) * 2 + seed * 90) & 255;
      for (const [rx, ry, rw, rh, r, g, b] of rects) {
        if (x >= rx && x < rx + rw && y >= ry && y < ry + rh) px.set([r, g, b], i);
      }
    }
  }
  await sharp(px, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}

function tinyConfig(task: 'restore' | 'colorize' | 'microscopy', pack: string): object {
  const crappifier = { restore: 'decrappify', colorize: 'colorize', microscopy: 'microscopy' }[task];
  return {
    task,
    crappifier: { kind: crappifier, options: task === 'microscopy' ? { scale: 2 } : {} },
    // zero_head off: a residual model would otherwise start as the identity and parity would prove little.
    generator: {
      width: 8,
      depth: 2,
      blocks: 1,
      attention_level: 1,
      zero_head: false,
      ...(task === 'microscopy' ? { frames: 3, scale: 2 } : {}),
      // The bundled colorizer predicts chroma at a lower resolution; export must still answer full size.
      ...(task === 'colorize' ? { out_stride: 2 } : {}),
    },
    critic: { width: 8, layers: 1 },
    loss: {
      stability: 1.0,
      ...(task === 'colorize'
        ? { feature: 0.5, vgg_random: true, color: { bins: 8, mix: 0.5, temperature: 0.4, l1_weight: 0.5 } }
        : {}),
    },
    data: { pack, crop: 32, batch: 2, val_size: 32, val_count: 2, val_batch: 2 },
    schedule: {
      gen_steps: 2,
      save_outputs: 4,
      critic_steps: 2,
      gan_steps: 2,
      catchup_max: 2,
      critic_steps_per_gen: 2,
    },
    val_every: 2,
    checkpoint_every: 1,
  };
}

function json<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

async function checkExport(out: string, expectTask: string): Promise<void> {
  const manifest = ManifestSchema.parse(json(join(out, 'manifest.json')));
  expect(manifest.task).toBe(expectTask);
  const onnx = readFileSync(join(out, manifest.file));
  expect(createHash('sha256').update(onnx).digest('hex')).toBe(manifest.sha256);
  const parity = await checkParity(out);
  expect(parity.maxAbsDiff).toBeLessThanOrEqual(1e-3);
  expect(parity.ok).toBe(true);
}

/** The app's own engine loads the export through its manifest and runs it (padding, tiling, colour). */
async function runInEngine(modelsDir: string, id: string, op: 'restore' | 'colorize'): Promise<Raster> {
  const width = 37;
  const height = 29; // not multiples of the model's size multiple: the engine must pad
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
  const engine = new Engine({ modelDirs: [modelsDir], ep: 'cpu', threads: 1 });
  const out = await engine.processRaster({ width, height, channels: 3, depth: 8, data }, [op], {
    models: { [op]: id },
  });
  expect([out.width, out.height, out.channels]).toEqual([width, height, 3]);
  return out;
}

// Each case trains a little on the CPU: under a loaded CI machine that took over the 120 s default.
describe.skipIf(skip)('training toolkit smoke test (CPU)', { timeout: 600_000 }, () => {
  let pack: string;

  beforeAll(async () => {
    await requireTorch(WHAT);
    dir = mkdtempSync(join(tmpdir(), 'tintype-train-'));
    for (const [split, n] of [
      ['train', 5],
      ['val', 2],
    ] as const) {
      mkdirSync(join(dir, 'ds', split, 'gen'), { recursive: true });
      for (let i = 0; i < n; i++)
        await writePicture(join(dir, 'ds', split, 'gen', `${i}.png`), i + (split === 'val' ? 50 : 1));
    }
    pack = join(dir, 'pack');
    await runToolkit(['pack', '--datasets', join(dir, 'ds'), '--out', pack]);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs deterministically into images plus a manifest', () => {
    const m = json<{ images: { file: string }[] }>(join(pack, 'manifest.json'));
    expect(m.images.map((e) => e.file)).toEqual([
      'train/00000.jpg',
      'train/00001.jpg',
      'train/00002.jpg',
      'train/00003.jpg',
      'train/00004.jpg',
      'val/00000.jpg',
      'val/00001.jpg',
    ]);
  });

  for (const task of ['restore', 'colorize'] as const) {
    it(`${task}: gen, save_outputs, critic and GAN phases across resumed runs, export, parity`, async () => {
      const cfgFile = join(dir, `${task}.json`);
      writeFileSync(cfgFile, JSON.stringify(tinyConfig(task, pack)));
      const run = join(dir, `run-${task}`);
      const train = (...extra: string[]) =>
        runToolkit(['train', '--config', cfgFile, '--run-dir', run, '--device', 'cpu', ...extra]);

      const log1 = await train('--stop-after', 'gen');
      expect(log1).toMatch(/gen step 2 \(2\/2\)/);
      const log2 = await train('--stop-after', 'critic');
      expect(log2).toMatch(/\(resumed\)/);
      expect(log2).toMatch(/save_outputs: 4 generator outputs/);
      expect(log2).toMatch(/critic step 4 \(2\/2\)/);
      expect(existsSync(join(run, 'gen_outputs.npz'))).toBe(true);
      const log3 = await train();
      expect(log3).toMatch(/gan step 6 \(2\/2\)/);
      expect(log3).toMatch(/catchup=True/);
      expect(log3).toMatch(/stopped in phase done at step 6/);

      const curve = json<{ step: number; phase: string; score: number }[]>(join(run, 'metrics.json'));
      expect(curve.map((r) => [r.step, r.phase])).toEqual([
        [2, 'gen'],
        [6, 'gan'],
      ]);
      expect(curve.every((r) => Number.isFinite(r.score))).toBe(true);
      expect(readFileSync(join(run, 'metrics.csv'), 'utf8').split('\n')[0]).toMatch(/^step,phase,phase_step/);
      const best = JSON.parse(await runToolkit(['select', '--run-dir', run])) as { step: number };
      expect([2, 6]).toContain(best.step);

      const id = `tintype-${task}-smoke`;
      const out = join(dir, 'models', id);
      await runToolkit([
        'export',
        '--checkpoint',
        join(run, 'best_gen.pt'),
        '--out',
        out,
        '--id',
        id,
        '--name',
        `Smoke ${task}`,
        '--card',
        join(out, 'MODEL_CARD.md'),
      ]);
      await checkExport(out, task);
      if (task === 'colorize') {
        const m = ManifestSchema.parse(json(join(out, 'manifest.json')));
        expect(m.output).toMatchObject({ kind: 'ab', range: [-1, 1] });
        expect(m.renderSize?.default).toBe(256);
      }
      const result = await runInEngine(join(dir, 'models'), id, task);
      expect(new Set(result.data).size).toBeGreaterThan(1);
      expect(readFileSync(join(out, 'MODEL_CARD.md'), 'utf8')).toMatch(/Selected checkpoint: step/);
    });
  }

  it('microscopy: 3-frame x2 super-resolution exports as an upscale model with parity', async () => {
    const cfgFile = join(dir, 'microscopy.json');
    writeFileSync(cfgFile, JSON.stringify(tinyConfig('microscopy', pack)));
    const run = join(dir, 'run-microscopy');
    await runToolkit([
      'train',
      '--config',
      cfgFile,
      '--run-dir',
      run,
      '--device',
      'cpu',
      '--stop-after',
      'gen',
    ]);
    const out = join(dir, 'export-microscopy');
    await runToolkit([
      'export',
      '--checkpoint',
      join(run, 'best_gen.pt'),
      '--out',
      out,
      '--id',
      'tintype-micro-smoke',
      '--name',
      'Smoke SR',
    ]);
    await checkExport(out, 'upscale');
    const m = ManifestSchema.parse(json(join(out, 'manifest.json')));
    expect(m).toMatchObject({ scale: 2, input: { channels: 1, frames: 3 }, output: { kind: 'grey' } });
  });

  it('colorize with the MobileNetV2 encoder: frozen steps on cached features, fine-tune, int8 export, parity, engine', async () => {
    const cfg = tinyConfig('colorize', pack) as Record<string, Record<string, unknown>>;
    cfg.generator = {
      encoder: 'mobilenet_v2',
      depth: 5,
      out_stride: 4,
      attention_level: 4,
      decoder_channels: [16, 16, 8, 8],
    };
    // Random encoder weights here (the smoke test reads nothing from ../shared); crops of 64 = 2 x 32.
    cfg.data = {
      ...cfg.data,
      crop: 64,
      val_size: 64,
      cache_views: ['squash'],
      cache_size: 64,
      cache_dir: '',
    };
    cfg.optim = { ...cfg.optim, freeze_encoder_steps: 2 };
    cfg.schedule = { ...cfg.schedule, gen_steps: 3 };
    const cfgFile = join(dir, 'colorize-mnv2.json');
    writeFileSync(cfgFile, JSON.stringify(cfg));
    const run = join(dir, 'run-colorize-mnv2');
    const log = await runToolkit([
      'train',
      '--config',
      cfgFile,
      '--run-dir',
      run,
      '--device',
      'cpu',
      '--stop-after',
      'gen',
    ]);
    expect(log).toMatch(/cached=1/);
    const id = 'tintype-colorize-mnv2-smoke';
    const out = join(dir, 'models', id);
    await runToolkit([
      'export',
      '--checkpoint',
      join(run, 'best_gen.pt'),
      '--out',
      out,
      '--id',
      id,
      '--name',
      'Smoke',
    ]);
    await checkExport(out, 'colorize');
    const m = ManifestSchema.parse(json(join(out, 'manifest.json')));
    expect(m.size).toEqual({ kind: 'dynamic', multiple: 32 });
    const result = await runInEngine(join(dir, 'models'), id, 'colorize');
    expect(new Set(result.data).size).toBeGreaterThan(1);
  });

  for (const task of ['repair', 'inpaint'] as const) {
    it(`${task}: trains on synthetic print damage (no GAN phases), exports to the repair contract, parity`, async () => {
      const cfg = tinyConfig('restore', pack) as Record<string, unknown>;
      cfg.task = task;
      cfg.crappifier = { kind: 'damage', options: {} };
      // Random encoder weights (nothing read from ../shared); crops of 64 = 2 x 32.
      cfg.generator =
        task === 'repair'
          ? {
              encoder: 'mobilenet_v2',
              depth: 5,
              out_stride: 1,
              attention_level: 0,
              context: false,
              decoder_channels: [16, 8, 8, 8, 8, 8],
            }
          : { width: 4, dilations: [2] };
      cfg.loss = {};
      cfg.data = { pack, crop: 64, batch: 2, val_size: 64, val_count: 2, val_batch: 2 };
      cfg.optim = { freeze_encoder_steps: 100 };
      const cfgFile = join(dir, `${task}.json`);
      writeFileSync(cfgFile, JSON.stringify(cfg));
      const run = join(dir, `run-${task}`);
      const log = await runToolkit(['train', '--config', cfgFile, '--run-dir', run, '--device', 'cpu']);
      expect(log).toMatch(/stopped in phase done at step 2/);
      const id = `tintype-${task}-smoke`;
      const out = join(dir, 'models', id);
      await runToolkit([
        'export',
        '--checkpoint',
        join(run, 'best_gen.pt'),
        '--out',
        out,
        '--id',
        id,
        '--name',
        'Smoke',
      ]);
      await checkExport(out, task);
      const m = ManifestSchema.parse(json(join(out, 'manifest.json')));
      if (task === 'repair') {
        expect(m.output).toMatchObject({ kind: 'mask', range: [0, 1] });
        expect(m.input.channels).toBe(3);
      } else {
        expect(m.maskInput?.name).toBe('mask');
        expect(m.output.kind).toBe('rgb');
      }
    });
  }

  it('names the problem when the config is wrong', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ task: 'sharpen' }));
    await expect(runToolkit(['train', '--config', bad, '--run-dir', join(dir, 'run-bad')])).rejects.toThrow(
      /task must be one of/,
    );
  });
});
