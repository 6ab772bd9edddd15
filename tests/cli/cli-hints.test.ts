import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveRaster, tempDir } from '../helpers/images';
import { installColorizer } from '../helpers/models';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tintype.js');

async function tintype(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tintype colorize --hints', () => {
  const models = tempDir();
  const env = { TINTYPE_MODELS_DIR: models, TINTYPE_BUNDLED_MODELS_DIR: join(models, 'none') };
  const dir = tempDir();
  const input = join(dir, 'two.png');
  beforeAll(async () => {
    // A warm grey-independent chroma; left half dark, right half light.
    installColorizer(models, 'warm', {}, 'uv', [0, 0], [-0.05, 0.07]);
    const W = 120;
    const H = 80;
    const data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = x < 60 ? 60 : 180;
    await saveRaster(input, { width: W, height: H, channels: 1, depth: 8, data });
  });

  it('colours the hinted region with the hint and leaves the other one as the model had it', async () => {
    const hints = join(dir, 'hints.json');
    writeFileSync(
      hints,
      JSON.stringify({
        hints: [
          {
            points: [
              [20, 40],
              [40, 40],
            ],
            radius: 4,
            color: '#2050e0',
            strength: 1,
          },
        ],
      }),
    );
    const out = join(dir, 'hinted.png');
    const r = await tintype(['colorize', input, '-o', out, '--hints', hints, '-q', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * 120 + x) * 3, (y * 120 + x) * 3 + 3)];
    const [lr, , lb] = px(10, 10);
    expect(lb).toBeGreaterThan(lr + 20); // blue where hinted (the dark half)
    const [rr, , rb] = px(100, 10);
    expect(rr).toBeGreaterThan(rb + 10); // still warm on the light half
  });

  it('refuses an invalid hint file by name, before any work', async () => {
    const cases: [string, string, RegExp][] = [
      ['bad.json', '{"hints": [', /not valid JSON/],
      [
        'colour.json',
        JSON.stringify({ hints: [{ points: [[1, 1]], radius: 3, color: '#zzzzzz' }] }),
        /color/,
      ],
      [
        'radius.json',
        JSON.stringify({ hints: [{ points: [[1, 1]], radius: -2, color: '#ffffff' }] }),
        /radius/,
      ],
    ];
    for (const [name, text, why] of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const out = join(dir, `${name}.png`);
      const r = await tintype(['colorize', input, '-o', out, '--hints', file, '-q'], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(why);
      expect(existsSync(out)).toBe(false);
    }
    const missing = join(dir, 'missing.json');
    const r = await tintype(['colorize', input, '-o', join(dir, 'm.png'), '--hints', missing], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(missing);
    // Four CLI starts one after another: room for a loaded machine.
  }, 300_000);
});
