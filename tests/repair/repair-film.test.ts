import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerVideoCommand } from '../../src/cli/video-command';
import { installWhiteDetector } from '../helpers/repair';
import { decodeAll, ffmpeg, tempDir } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('tintype-repair-film-'));
});
afterAll(() => cleanup());

const W = 96;
const H = 64;
const FRAMES = 8;
/** A scratch that moves every frame, as on a worn print: column 10 + 9n, 2 px wide, white. */
const scratchX = (n: number) => 10 + 9 * n;

describe('repair on film', () => {
  it('repairs a short clip frame by frame: the moving scratch is filled', async () => {
    // A smooth, dim moving picture (nothing white in it), then the same with the scratch drawn on
    // (geq: the npm ffmpeg is a 2018 build whose drawbox cannot move per frame). Lossless FFV1 RGB.
    const source = ['-f', 'lavfi', '-i', `color=c=0x404040:size=${W}x${H}:rate=10:duration=${FRAMES / 10}`];
    const lossless = ['-c:v', 'ffv1', '-pix_fmt', 'bgr0'];
    const picture = (scratch: boolean) => {
      const on = `between(X,${scratchX(0)}+9*N,${scratchX(0) + 1}+9*N)`;
      const ch = (v: string) => (scratch ? `if(${on},255,${v})` : v);
      return `format=rgb24,geq=r='${ch('40+X+N*3')}':g='${ch('30+Y')}':b='${ch('60+X/2')}'`;
    };
    const clean = join(dir, 'clean.mkv');
    const scratched = join(dir, 'scratched.mkv');
    await ffmpeg(['-y', ...source, '-vf', picture(false), ...lossless, clean]);
    await ffmpeg(['-y', ...source, '-vf', picture(true), ...lossless, scratched]);
    const models = join(dir, 'models');
    installWhiteDetector(models);
    const out = join(dir, 'repaired.mkv');
    const p = new Command('tintype').exitOverride();
    registerVideoCommand(p);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await p.parseAsync(
        [
          'video',
          scratched,
          '-o',
          out,
          '--ops',
          'repair',
          '--models-dir',
          models,
          '--json',
          '--threads',
          '1',
        ],
        { from: 'user' },
      );
    } finally {
      write.mockRestore();
    }
    const [a, b, c] = await Promise.all([decodeAll(clean), decodeAll(scratched), decodeAll(out)]);
    const frame = W * H * 3;
    expect(c.length).toBe(a.length);
    // Inside each frame's scratch: how far from the clean frame, damaged vs repaired.
    let damagedErr = 0;
    let repairedErr = 0;
    let n = 0;
    for (let f = 0; f < FRAMES; f++) {
      const x0 = scratchX(f);
      if (x0 + 2 > W) continue;
      for (let y = 0; y < H; y++) {
        for (let x = x0; x < x0 + 2; x++) {
          for (let k = 0; k < 3; k++) {
            const i = f * frame + (y * W + x) * 3 + k;
            damagedErr += Math.abs(b[i] - a[i]);
            repairedErr += Math.abs(c[i] - a[i]);
            n += 1;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(0);
    expect(damagedErr / n).toBeGreaterThan(80);
    expect(repairedErr / n).toBeLessThan(12);
  });
});
