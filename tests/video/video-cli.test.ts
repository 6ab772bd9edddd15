import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerVideoCommand } from '../../src/cli/video-command';
import { countFrames, ffprobeJson, makeClip, packetHashes, tempDir } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

function program(): Command {
  const p = new Command('tintype').exitOverride();
  registerVideoCommand(p);
  return p;
}

describe('tintype video', () => {
  it('upscales a clip with the bundled ESRGAN model through the worker pool, keeping the audio', async () => {
    const clip = await makeClip(join(dir, 'clip.mp4'), { size: '64x48', seconds: 1, audio: [440] });
    const out = join(dir, 'clip-x2.mp4');
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await program().parseAsync(
        [
          'video',
          clip,
          '-o',
          out,
          '--ops',
          'upscale',
          '--scale',
          '2',
          '--model',
          'esrgan-slim-x2',
          '--duration',
          '0.4',
          '--preset',
          'ultrafast',
          '--json',
          '--threads',
          '2',
        ],
        { from: 'user' },
      );
    } finally {
      write.mockRestore();
    }
    const result = JSON.parse(printed.join('').trim().split('\n').pop() ?? '{}') as {
      frames: number;
      width: number;
      height: number;
    };
    expect(result).toMatchObject({ frames: 10, width: 128, height: 96 });
    expect(await countFrames(out)).toBe(10);
    const v = (await ffprobeJson(out)).streams.find((s) => s.codec_type === 'video');
    expect([v?.width, v?.height]).toEqual([128, 96]);
    expect((await packetHashes(out, '0:a')).length).toBeGreaterThan(0);
  });

  it('refuses an unknown format and a missing model before decoding anything', async () => {
    const clip = await makeClip(join(dir, 'c2.mp4'), { seconds: 1 });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(
        program().parseAsync(['video', clip, '-o', join(dir, 'x.avi'), '--format', 'avi'], { from: 'user' }),
      ).rejects.toThrow(/Allowed choices/);
      await expect(
        program().parseAsync(
          ['video', clip, '-o', join(dir, 'y.mp4'), '--ops', 'upscale', '--model', 'no-such-model'],
          { from: 'user' },
        ),
      ).rejects.toThrow(/model "no-such-model" not found/);
    } finally {
      err.mockRestore();
    }
  });
});
