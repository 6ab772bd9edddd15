/**
 * Film benchmark (issue "Film pipeline"): a 1080p clip with a tone, colorized three ways on one
 * machine in one run:
 *   1. model only: onnxruntime-node inferences at the render size, nothing else;
 *   2. Tintype end to end: renderVideo over the worker pool (decode → colorize → encode → mux), as
 *      `tintype video` runs it;
 *   3. DeOldify-style: ffmpeg extracts every frame to JPEG, PyTorch eager colorizes each one (resize,
 *      model, resize back, keep the original luma) and writes a JPEG, ffmpeg re-encodes and muxes the
 *      audio - with the same weights.
 * There are no colorization weights here: the model is bench/models.ts's DeOldify-sized U-Net with
 * fixed random weights (its cost is a real model's; its colours mean nothing).
 *
 * A last part measures colour flicker (FlickerMeter) on a small grainy clip coloured by two
 * frame-by-frame stand-ins, with and without temporal chroma smoothing.
 *
 * Run: npm run bench -- video [--seconds=10] [--size=1920x1080] [--fps=24] [--render-size=280]
 *      [--skip-pytorch] [--only=speed|flicker]   (also BENCH_VIDEO_SECONDS etc.)
 * It prints Markdown tables; copy them into docs/video.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { installBenchColorizer } from './models';

/* The DeOldify-style pipeline, written for this benchmark after DeOldify's VideoColorizer steps. */
const PYTHON = String.raw`
import json, os, resource, subprocess, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

work, source, result, fps, render, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)

index = json.load(open(os.path.join(work, 'weights.json')))
blob = np.fromfile(os.path.join(work, 'weights.bin'), dtype=np.float32)
tensors = [torch.from_numpy(blob[t['offset'] // 4: t['offset'] // 4 + t['length']].reshape(t['dims'] or [-1]).copy()) for t in index]

class UNet(nn.Module):
    # The same graph as bench/models.ts: 3x3 convs (+ReLU), stride-2 downs, nearest x2 ups, skip concats, sigmoid.
    def __init__(self, params):
        super().__init__()
        self.convs = nn.ModuleList()
        spec = [(3, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 256, 1), (256, 256, 1),
                (384, 128, 1), (128, 128, 1), (192, 64, 1), (64, 64, 1), (64, 3, 1)]
        weights = [p for p in params if p.dim() == 4]
        it = iter(params)
        pairs = []
        for p in it:
            if p.dim() == 4:
                b = next(q for q in it if q.dim() == 1 and q.numel() == p.shape[0])
                pairs.append((p, b))
        assert len(pairs) == len(spec) == len(weights), (len(pairs), len(spec))
        for (cin, cout, stride), (w, b) in zip(spec, pairs):
            conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
            conv.weight.data.copy_(w)
            conv.bias.data.copy_(b)
            self.convs.append(conv)

    def forward(self, x):
        c = self.convs
        r = F.relu
        e1 = r(c[1](r(c[0](x))))
        e2 = r(c[3](r(c[2](e1))))
        e3 = r(c[5](r(c[4](e2))))
        m = r(c[7](r(c[6](e3))))
        d2 = r(c[9](r(c[8](torch.cat([F.interpolate(m, scale_factor=2, mode='nearest'), e2], 1)))))
        d1 = r(c[11](r(c[10](torch.cat([F.interpolate(d2, scale_factor=2, mode='nearest'), e1], 1)))))
        return torch.sigmoid(c[12](d1))

net = UNet(tensors).eval()
with torch.no_grad():
    probe = torch.from_numpy(np.fromfile(os.path.join(work, 'probe-in.bin'), dtype=np.float32).reshape(1, 3, render, render))
    want = np.fromfile(os.path.join(work, 'probe-out.bin'), dtype=np.float32)
    got = net(probe).numpy().reshape(-1)
    max_diff = float(np.abs(got - want).max())

def ff(*args):
    subprocess.run(['ffmpeg', '-hide_banner', '-nostats', '-loglevel', 'error', '-y', *args], check=True)

bw = os.path.join(work, 'bwframes')
col = os.path.join(work, 'colorframes')
os.makedirs(bw, exist_ok=True)
os.makedirs(col, exist_ok=True)

t0 = time.time()
ff('-i', source, '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '0', os.path.join(bw, '%05d.jpg'))
t1 = time.time()

def rgb2yuv(a):
    y = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    return y, 0.492 * (a[..., 2] - y), 0.877 * (a[..., 0] - y)

names = sorted(os.listdir(bw))
with torch.no_grad():
    for name in names:
        orig = Image.open(os.path.join(bw, name)).convert('RGB')
        small = orig.resize((render, render), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        y = net(x)[0].permute(1, 2, 0).numpy()
        color = Image.fromarray((y * 255).clip(0, 255).astype(np.uint8)).resize(orig.size, Image.BILINEAR)
        # DeOldify keeps the original's luma and takes only the colour (U, V) from the model.
        o = np.asarray(orig, dtype=np.float32)
        ly, _, _ = rgb2yuv(o)
        _, u, v = rgb2yuv(np.asarray(color, dtype=np.float32))
        r = ly + v / 0.877
        b = ly + u / 0.492
        g = (ly - 0.299 * r - 0.114 * b) / 0.587
        out = np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8)
        Image.fromarray(out).save(os.path.join(col, name))
t2 = time.time()

silent = os.path.join(work, 'deoldify-silent.mp4')
audio = os.path.join(work, 'audio.aac')
ff('-framerate', fps, '-f', 'image2', '-c:v', 'mjpeg', '-i', os.path.join(col, '%05d.jpg'), '-c:v', 'libx264', '-crf', '17', '-pix_fmt', 'yuv420p', silent)
ff('-i', source, '-vn', '-acodec', 'copy', audio)
ff('-i', silent, '-i', audio, '-shortest', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '256k', result)
t3 = time.time()

print(json.dumps({'frames': len(names), 'extractS': t1 - t0, 'colorizeS': t2 - t1, 'encodeS': t3 - t2, 'totalS': t3 - t0,
                  'maxRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'maxAbsDiff': max_diff,
                  'torchThreads': torch.get_num_threads(), 'torch': torch.__version__}))
`;

const arg = (name: string, env: string, fallback: string): string => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : (process.env[env] ?? fallback);
};

/* ---------- child mode: the Tintype render, in its own process so its peak RSS is its own ---------- */

if (process.argv[2] === '--child') {
  const o = JSON.parse(process.argv[3]) as {
    input: string;
    output: string;
    models: string;
    id: string;
    renderSize: number;
    crf: number;
  };
  const { EnginePool } = await import('../src/engine/pool/pool');
  const { perFrame, renderVideo } = await import('../src/engine/video');
  const pool = new EnginePool({ modelDirs: [o.models], workers: 1 });
  const t0 = performance.now();
  let firstFrameAt = 0;
  let lastFrameAt = 0;
  const r = await renderVideo({
    input: o.input,
    output: o.output,
    processor: perFrame((f) =>
      pool.processRaster(f, ['colorize'], { models: { colorize: o.id }, renderSize: o.renderSize }),
    ),
    processorKey: 'bench',
    crf: o.crf,
    batchSize: 2,
    inFlightBatches: 2,
    onProgress: (p) => {
      if (p.stage !== 'rendering' || p.framesDone === 0) return;
      if (!firstFrameAt) firstFrameAt = performance.now();
      lastFrameAt = performance.now();
    },
  });
  const wallMs = performance.now() - t0;
  await pool.close();
  // Steady state: from the first finished frame to the last (worker start and model load excluded).
  const steadyFps = (r.frames - 1) / Math.max(0.001, (lastFrameAt - firstFrameAt) / 1000);
  process.stdout.write(
    `${JSON.stringify({ frames: r.frames, wallMs, steadyFps, processorMs: r.processorMs, maxRssKb: process.resourceUsage().maxRSS })}\n`,
  );
  process.exit(0);
}

/* ---------- parent ---------- */

const seconds = Number(arg('seconds', 'BENCH_VIDEO_SECONDS', '10'));
const size = arg('size', 'BENCH_VIDEO_SIZE', '1920x1080');
const fps = Number(arg('fps', 'BENCH_VIDEO_FPS', '24'));
const renderSize = Number(arg('render-size', 'BENCH_RENDER_SIZE', '280'));
const skipPytorch = process.argv.includes('--skip-pytorch') || process.env.BENCH_SKIP_PYTORCH === '1';
const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const crf = 17; // DeOldify's own setting, so both encodes do the same work

const work = mkdtempSync(join(tmpdir(), 'tintype-bench-video-'));
const models = join(work, 'models');
const id = installBenchColorizer(models);
const modelPath = join(models, id, 'model.onnx');
const clip = join(work, 'film.mp4');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** Bytes under a folder (or one file), for the temporary-disk measurements. */
function du(path: string): number {
  try {
    const s = statSync(path);
    if (!s.isDirectory()) return s.size;
    return readdirSync(path).reduce((a, n) => a + du(join(path, n)), 0);
  } catch {
    return 0;
  }
}

/** Runs a command while sampling the size of `watch` folders; returns its stdout, wall time and the peak size. */
function measured(
  cmd: string,
  args: string[],
  watch: string[],
): Promise<{ stdout: string; ms: number; peakDisk: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakDisk = 0;
    const timer = setInterval(() => {
      peakDisk = Math.max(
        peakDisk,
        watch.reduce((a, w) => a + du(w), 0),
      );
    }, 250);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearInterval(timer);
      peakDisk = Math.max(
        peakDisk,
        watch.reduce((a, w) => a + du(w), 0),
      );
      if (code !== 0) reject(new Error(`${cmd} exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve({ stdout, ms: performance.now() - t0, peakDisk });
    });
  });
}

const only = arg('only', 'BENCH_VIDEO_ONLY', '');
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
console.log(
  `\nTintype film benchmark: ${cpus().length}x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node CPU`,
);

if (only !== 'flicker') await speed();
if (only !== 'speed') await flicker();
rmSync(work, { recursive: true, force: true });

async function speed(): Promise<void> {
  // A greyscale "film" with moving detail and grain, and a tone: what a digitised reel looks like to the codecs.
  run('ffmpeg', [
    '-hide_banner',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=${fps}:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=330:duration=${seconds}:sample_rate=48000`,
    '-vf',
    'noise=alls=12:allf=t,format=gray,format=yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '18',
    '-c:a',
    'aac',
    '-b:a',
    '160k',
    clip,
  ]);
  const frames = Math.round(seconds * fps);

  /* 1. Model only: the same inferences the render makes, with nothing around them. */
  const session = await ort.InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    interOpNumThreads: 1,
  });
  const probeInput = new Float32Array(3 * renderSize * renderSize);
  for (let i = 0; i < probeInput.length; i++) probeInput[i] = ((i * 7919) % 1000) / 1000;
  const probeTensor = new ort.Tensor('float32', probeInput, [1, 3, renderSize, renderSize]);
  const probeOutput = (await session.run({ input: probeTensor })).output.data as Float32Array; // also the warm-up
  const modelRuns = Math.min(frames, Number(arg('model-frames', 'BENCH_MODEL_FRAMES', '48')));
  const tm = performance.now();
  for (let i = 0; i < modelRuns; i++) await session.run({ input: probeTensor });
  const modelMsPerFrame = (performance.now() - tm) / modelRuns;
  const modelFps = 1000 / modelMsPerFrame;
  await session.release();

  /* 2. Tintype end to end (process start excluded; pool start, model load, decode, colorize, encode and mux included). */
  const tintypeOut = join(work, 'tintype.mp4');
  const child = await measured(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'video.ts'),
      '--child',
      JSON.stringify({ input: clip, output: tintypeOut, models, id, renderSize, crf }),
    ],
    [`${tintypeOut}.tintype-work`],
  );
  const t = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as {
    frames: number;
    wallMs: number;
    steadyFps: number;
    processorMs: number;
    maxRssKb: number;
  };
  const tintypeFps = t.frames / (t.wallMs / 1000);

  /* 3. DeOldify-style pipeline with the same weights in PyTorch eager. */
  interface PyResult {
    frames: number;
    extractS: number;
    colorizeS: number;
    encodeS: number;
    totalS: number;
    maxRssKb: number;
    maxAbsDiff: number;
    torchThreads: number;
    torch: string;
  }
  let py: (PyResult & { peakDisk: number }) | undefined;
  let pyError: string | undefined;
  if (!skipPytorch) {
    // The ONNX initializers, in graph order, for the PyTorch mirror of the same U-Net.
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(readFileSync(modelPath));
    const tensors: { dims: number[]; offset: number; length: number }[] = [];
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const init of model.graph?.initializer ?? []) {
      const dims = (init.dims ?? []).map(Number);
      const raw =
        init.rawData && init.rawData.length
          ? Buffer.from(init.rawData)
          : Buffer.from(Float32Array.from(init.floatData ?? []).buffer);
      tensors.push({ dims, offset, length: raw.length / 4 });
      chunks.push(raw);
      offset += raw.length;
    }
    const weights = join(work, 'weights.bin');
    writeFileSync(weights, Buffer.concat(chunks));
    writeFileSync(join(work, 'weights.json'), JSON.stringify(tensors));
    writeFileSync(join(work, 'probe-in.bin'), Buffer.from(probeInput.buffer));
    writeFileSync(
      join(work, 'probe-out.bin'),
      Buffer.from(probeOutput.buffer, probeOutput.byteOffset, probeOutput.byteLength),
    );
    const script = join(work, 'deoldify_style.py');
    writeFileSync(script, PYTHON);
    const dirs = [join(work, 'bwframes'), join(work, 'colorframes')];
    try {
      const r = await measured(
        python,
        [
          script,
          work,
          clip,
          join(work, 'deoldify.mp4'),
          String(fps),
          String(renderSize),
          String(availableParallelism()),
        ],
        dirs,
      );
      py = { ...(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as PyResult), peakDisk: r.peakDisk };
    } catch (err) {
      pyError = (err as Error).message.split('\n').slice(-3).join(' ');
    }
  }

  /* Report. */
  console.log(`\n## Speed${py ? ` (PyTorch ${py.torch}, ${py.torchThreads} threads)` : ''}\n`);
  console.log(
    `clip: ${size}, ${fps} fps, ${seconds} s (${frames} frames) + AAC tone; model ${id} (U-Net, random weights, DeOldify-sized) at ${renderSize} px; H.264 CRF ${crf}\n`,
  );
  console.log('| measurement | value | goal |');
  console.log('|---|---|---|');
  console.log(
    `| model only (onnxruntime-node, ${renderSize}², ${modelRuns} runs) | ${modelFps.toFixed(2)} fps (${modelMsPerFrame.toFixed(0)} ms/frame) | |`,
  );
  console.log(
    `| Tintype end to end (pool start, model load, decode, colorize ${size}, encode, mux) | ${tintypeFps.toFixed(2)} fps (${(t.wallMs / 1000).toFixed(1)} s) | |`,
  );
  console.log(`| Tintype steady state (first to last finished frame) | ${t.steadyFps.toFixed(2)} fps | |`);
  console.log(`| Tintype steady state / model only | ${(t.steadyFps / modelFps).toFixed(2)}x | >= 0.9x |`);
  console.log(`| Tintype end to end / model only | ${(tintypeFps / modelFps).toFixed(2)}x | |`);
  console.log(
    `| Tintype peak RSS (Node process; ffmpeg children not included) | ${(t.maxRssKb / 1024).toFixed(0)} MB | |`,
  );
  console.log(`| Tintype temporary disk (peak of the segment folder) | ${mb(child.peakDisk)} | |`);
  if (py) {
    console.log(
      `| DeOldify-style end to end (extract JPEGs, PyTorch eager, JPEGs, encode + mux) | ${(py.frames / py.totalS).toFixed(2)} fps (${py.totalS.toFixed(1)} s: extract ${py.extractS.toFixed(1)}, colorize ${py.colorizeS.toFixed(1)}, encode ${py.encodeS.toFixed(1)}) | |`,
    );
    console.log(
      `| Tintype speed-up over DeOldify-style | ${(tintypeFps / (py.frames / py.totalS)).toFixed(2)}x | >= 3x |`,
    );
    console.log(`| PyTorch eager colorize loop alone | ${(py.frames / py.colorizeS).toFixed(2)} fps | |`);
    console.log(`| DeOldify-style peak RSS (Python process) | ${(py.maxRssKb / 1024).toFixed(0)} MB | |`);
    console.log(`| DeOldify-style temporary disk (two JPEGs per frame) | ${mb(py.peakDisk)} | |`);
    console.log(
      `| same weights: max abs difference, ONNX vs PyTorch output | ${py.maxAbsDiff.toExponential(2)} | |`,
    );
  } else {
    console.log(`| DeOldify-style pipeline | not run${pyError ? `: ${pyError}` : ' (--skip-pytorch)'} | |`);
  }
}

/* 4. Flicker: the metric with and without temporal chroma smoothing. */
async function flicker(): Promise<void> {
  const flickClip = join(work, 'flicker-src.mkv');
  // prettier-ignore
  run('ffmpeg', [
    '-hide_banner', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=24:duration=2`,
    '-vf', 'noise=alls=6:allf=t,format=gray', '-c:v', 'ffv1', flickClip,
  ]);
  const { perFrame, renderVideo } = await import('../src/engine/video');
  type R = import('../src/engine/types').Raster;
  // The random-weight U-Net's colours are almost constant, so it cannot show flicker. Two stand-ins
  // that decide colour frame by frame, as a colorizer does:
  //  - "low-res false colour": chroma from a steep colour map of the luma seen at 1/8 size (like a
  //    model's small render), merged over the full-resolution luma; film grain moves it a little
  //    every frame, as it moves a real colorizer's output;
  //  - "frame-wise colour cast": the right colours plus a random per-frame cast of up to ±8 levels.
  const lowResFalseColour = (f: R): R => {
    const { width: w, height: h } = f;
    const s = 8;
    const sw = Math.ceil(w / s);
    const sh = Math.ceil(h / s);
    const small = new Float32Array(sw * sh);
    const count = new Float32Array(sw * sh);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = Math.floor(y / s) * sw + Math.floor(x / s);
        small[i] += f.data[y * w + x] / 255;
        count[i] += 1;
      }
    const out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = Math.floor(y / s) * sw + Math.floor(x / s);
        const l = small[i] / count[i];
        const u = 0.15 * Math.sin(l * 40);
        const v = 0.15 * Math.cos(l * 40);
        const Y = f.data[y * w + x];
        const o = (y * w + x) * 3;
        out[o] = Math.max(0, Math.min(255, Math.round(Y + 255 * 1.13983 * v)));
        out[o + 1] = Math.max(0, Math.min(255, Math.round(Y - 255 * (0.39465 * u + 0.5806 * v))));
        out[o + 2] = Math.max(0, Math.min(255, Math.round(Y + 255 * 2.03211 * u)));
      }
    return { width: w, height: h, channels: 3, depth: 8, data: out };
  };
  let t = 0;
  const colourCast = (f: R): R => {
    const r = Math.sin(++t * 12.9898) * 43758.5453;
    const d = Math.round((r - Math.floor(r) - 0.5) * 16);
    const n = f.width * f.height;
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const Y = f.data[i];
      out[i * 3] = Math.max(0, Math.min(255, Y + d));
      out[i * 3 + 1] = Math.max(0, Math.min(255, Y - Math.round((0.299 * d - 0.114 * d) / 0.587)));
      out[i * 3 + 2] = Math.max(0, Math.min(255, Y - d));
    }
    return { width: f.width, height: f.height, channels: 3, depth: 8, data: out };
  };
  console.log(`\n## Flicker\n`);
  console.log(
    `clip: testsrc2 320x240 (moving pattern, static background), 24 fps, 2 s, greyscale with temporal grain (noise=alls=6); lossless FFV1 output\n`,
  );
  console.log(
    '| colour stand-in | smoothing | flicker (mean chroma change in static areas, 8-bit levels) | static pixels |',
  );
  console.log('|---|---|---|---|');
  for (const [name, fn] of [
    ['low-res false colour', lowResFalseColour],
    ['frame-wise colour cast', colourCast],
  ] as const) {
    for (const smooth of [false, true]) {
      t = 0;
      const r = await renderVideo({
        input: flickClip,
        output: join(work, `flicker-${name.replace(/\W+/g, '-')}-${smooth}.mkv`),
        processor: perFrame(async (f) => fn(f)),
        processorKey: name,
        measureFlicker: true,
        smoothChroma: smooth,
        batchSize: 1,
      });
      const f = r.flicker!;
      console.log(
        `| ${name} | ${smooth ? 'on (defaults)' : 'off'} | ${f.meanChromaChange.toFixed(3)} | ${(f.staticFraction * 100).toFixed(1)} % |`,
      );
    }
  }
}
