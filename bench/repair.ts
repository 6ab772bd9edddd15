/**
 * Repair benchmark (issue #19): on a 12 MP scan with synthetic damage (scratches, dust, a torn corner),
 * the CPU time of `tintype repair` against `tintype restore` in the same run (goal ≤ 2×), each as the
 * built CLI, with peak RSS (the fill is tiled: memory must stay near restore's). Also the PSNR inside
 * the damage of the damaged scan and of the repaired one.
 *
 * Run: npm run bench -- repair   (BENCH_REPAIR_MP=3 for a quicker run)
 * Repair with a user mask times the fill alone; repair without one adds detection and runs only when
 * a repair model is installed (bundled, or in TINTYPE_MODELS_DIR / --models-dir): there is no stand-in.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ModelRegistry, defaultModelDirs } from '../src/engine/index';
import { cleanPicture, damage, damageMask, psnrInside } from '../tests/helpers/repair';
import { sharedDatasets } from './_photo';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'tintype-bench-repair-'));
const mp = Number(process.env.BENCH_REPAIR_MP ?? 12);
const W = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
const H = Math.round((W * 3) / 4);

interface Timed {
  wallS: number;
  cpuS: number;
  rssMb: number;
  ok: boolean;
  err: string;
}

function timeCli(args: string[]): Timed {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', process.execPath, join(root, 'bin', 'tintype.js'), ...args], {
    encoding: 'utf8',
  });
  const wallS = (performance.now() - t0) / 1000;
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  return {
    wallS,
    cpuS: m ? Number(m[1]) + Number(m[2]) : NaN,
    rssMb: m ? Number(m[3]) / 1024 : NaN,
    ok: r.status === 0,
    err: (r.stderr ?? '').split('\n').slice(-4).join(' '),
  };
}

/** A real print from ../shared when there is one (texture of a photo), else the generated picture. */
async function scan(): Promise<{ data: Buffer; from: string }> {
  const bw = sharedDatasets(root);
  const dir = bw && join(bw, 'bw', 'deoldify-test-images');
  const files = dir ? readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort() : [];
  if (dir && files.length) {
    const file = join(dir, files[Math.floor(files.length / 2)]);
    const data = await sharp(file).resize(W, H, { fit: 'cover', kernel: 'lanczos3' }).toColourspace('srgb').removeAlpha().raw().toBuffer();
    return { data, from: file };
  }
  return { data: Buffer.from(cleanPicture(W, H).data), from: 'generated' };
}

async function main(): Promise<void> {
  const { data, from } = await scan();
  const clean = { width: W, height: H, channels: 3 as const, depth: 8 as const, data: new Uint8Array(data) };
  const truth = damageMask(W, H, 11, { corner: true });
  const hurt = damage(clean, truth);
  const input = join(work, 'scan.png');
  const maskFile = join(work, 'scan-damage.png');
  await sharp(hurt.data, { raw: { width: W, height: H, channels: 3 } }).png({ compressionLevel: 1 }).toFile(input);
  await sharp(truth, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(maskFile);
  let marked = 0;
  for (const v of truth) if (v) marked++;

  const registry = new ModelRegistry({ dirs: defaultModelDirs() });
  const detector = (await registry.list()).find((m) => m.task === 'repair');
  const common = ['--overwrite', '-q', '--ep', 'cpu'];
  const restore = timeCli(['restore', input, '-o', join(work, 'restored.png'), ...common]);
  const fill = timeCli(['repair', input, '--mask', maskFile, '-o', join(work, 'filled.png'), ...common]);
  const detect = detector
    ? timeCli(['repair', input, '-o', join(work, 'repaired.png'), '--save-mask', ...common])
    : undefined;

  const read = async (f: string) =>
    new Uint8Array(await sharp(f).toColourspace('srgb').removeAlpha().raw().toBuffer());
  const filled = { ...clean, data: await read(join(work, 'filled.png')) };

  const row = (name: string, t: Timed) =>
    `| ${name} | ${t.ok ? t.cpuS.toFixed(1) : 'failed'} | ${t.wallS.toFixed(1)} | ${t.rssMb.toFixed(0)} | ${t.ok ? (t.cpuS / restore.cpuS).toFixed(2) : '-'} |`;
  console.log(
    `\n${W}×${H} (${(W * H / 1e6).toFixed(1)} MP) scan from ${from}; synthetic damage on ${((100 * marked) / (W * H)).toFixed(2)} % of the pixels`,
  );
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((v) => v.toFixed(1)).join(' ')} (at the end)`);
  console.log('\n| run | CPU s (user+sys) | wall s | peak RSS MB | CPU vs restore |\n|---|---|---|---|---|');
  console.log(row('restore (tintype-restore)', restore));
  console.log(row('repair, user mask (fill only)', fill));
  if (detect) console.log(row(`repair, detected (${detector!.id})`, detect));
  else console.log('| repair, detected | no repair model installed: not measured | | | |');
  console.log(
    `\nPSNR inside the damage: damaged ${psnrInside(hurt, clean, truth).toFixed(2)} dB, filled (tintype-fill) ${psnrInside(filled, clean, truth).toFixed(2)} dB`,
  );
  for (const [n, t] of [['restore', restore], ['fill', fill], ['detect', detect]] as const) {
    if (t && !t.ok) console.log(`${n} failed: ${t.err}`);
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
