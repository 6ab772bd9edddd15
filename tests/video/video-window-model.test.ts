import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerVideoCommand } from '../../src/cli/video-command';
import { frameSelectGraph, installModel } from '../helpers/models';
import { decodeAll, ffmpeg, tempDir } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('tintype video with a 3-frame model', () => {
  it('gives the model the real previous frame (t-1), repeating the first frame at the start', async () => {
    const models = join(dir, 'models');
    installModel(
      models,
      {
        id: 'previous-frame',
        task: 'restore',
        input: { layout: 'NCHW', channels: 3, frames: 3, range: [0, 1], normalization: null },
        size: { kind: 'dynamic', multiple: 1 },
        output: { kind: 'rgb', range: [0, 1] },
        tile: { size: 64, overlap: 8 },
      },
      frameSelectGraph(0),
    );
    // Lossless source whose every frame differs (temporal noise), so frames can be told apart exactly.
    const clip = join(dir, 'clip.mkv');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=48x32:rate=25:duration=0.4,noise=alls=60:allf=t+u:all_seed=5',
      '-c:v',
      'ffv1',
      '-pix_fmt',
      'bgr0',
      clip,
    ]);
    const out = join(dir, 'out.mkv');
    const program = new Command('tintype').exitOverride();
    registerVideoCommand(program);
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(
        [
          'video',
          clip,
          '-o',
          out,
          '--format',
          'mkv',
          '--ops',
          'restore',
          '--model',
          'previous-frame',
          '--models-dir',
          models,
          '-q',
        ],
        { from: 'user' },
      );
    } finally {
      quiet.mockRestore();
    }
    const src = await decodeAll(clip);
    const res = await decodeAll(out);
    const frame = 48 * 32 * 3;
    const frames = src.length / frame;
    expect(frames).toBe(10);
    expect(res.length).toBe(src.length);
    const maxDiff = (a: Buffer, b: Buffer) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    expect(maxDiff(res.subarray(0, frame), src.subarray(0, frame))).toBeLessThanOrEqual(1);
    for (let k = 1; k < frames; k++) {
      const outK = res.subarray(k * frame, (k + 1) * frame);
      expect(maxDiff(outK, src.subarray((k - 1) * frame, k * frame)), `frame ${k}`).toBeLessThanOrEqual(1);
      // …and it is not simply the frame itself (testsrc2 changes every frame).
      expect(maxDiff(outK, src.subarray(k * frame, (k + 1) * frame))).toBeGreaterThan(10);
    }
  });
});
