import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Raster } from '../../src/engine/types';
import { renderVideo, VideoError } from '../../src/engine/video';
import {
  countFrames,
  decodeAll,
  ffmpeg,
  invertProcessor,
  makeClip,
  packetHashes,
  tempDir,
} from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
/** 96x64 RGB stored losslessly, 25 fps, 3 s = 75 frames, with AAC audio. */
let clip: string;
const FRAME = 96 * 64 * 3;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  clip = await makeClip(join(dir, 'clip.mkv'), {
    seconds: 3,
    video: ['-c:v', 'ffv1', '-pix_fmt', 'gbrp'],
    audio: [330],
  });
});
afterAll(() => cleanup());

/** Starts a render in a child process and SIGKILLs it once `segments` segments are committed. */
function renderAndKill(
  output: string,
  format: string,
  segments: number,
): Promise<{ killedAt: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, '..', 'helpers', 'video-render-child.ts'),
        clip,
        output,
        format,
        '10',
        '25',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let buf = '';
    let err = '';
    let killedAt = -1;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const p = JSON.parse(line) as { segmentsDone?: number; framesDone?: number; done?: boolean };
        if (p.done) reject(new Error('the render finished before it could be killed'));
        // Kill mid-segment: a few frames into the segment after the wanted ones.
        if (killedAt < 0 && (p.segmentsDone ?? 0) >= segments && (p.framesDone ?? 0) >= segments * 10 + 3) {
          killedAt = p.framesDone ?? -1;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('close', (code, signal) => {
      if (killedAt < 0) reject(new Error(`child exited (${code ?? signal}) before the kill: ${err}`));
      else resolve({ killedAt, signal });
    });
  });
}

describe('kill during a render, then --resume', () => {
  it('lossless output: every frame exactly once, in order, identical to the source inverted', async () => {
    const out = join(dir, 'killed.mkv');
    const { killedAt, signal } = await renderAndKill(out, 'mkv', 3);
    expect(signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(33);
    const work = `${out}.tintype-work`;
    const journal = JSON.parse(await readFile(join(work, 'journal.json'), 'utf8')) as {
      segments: { frames: number }[];
    };
    expect(journal.segments.length).toBeGreaterThanOrEqual(3);
    await expect(stat(out)).rejects.toThrow(); // nothing half-written in place of the output

    const seen: Raster[] = [];
    const r = await renderVideo({
      input: clip,
      output: out,
      processor: invertProcessor(seen),
      processorKey: 'invert',
      segmentFrames: 10,
      resume: true,
    });
    const kept = journal.segments.length * 10;
    expect(r.resumedFromFrame).toBe(kept);
    expect(seen.length).toBe(75 - kept); // finished segments were not rendered again
    expect(r.frames).toBe(75);
    const src = await decodeAll(clip);
    const got = await decodeAll(out);
    expect(got.length).toBe(75 * FRAME);
    for (let f = 0; f < 75; f++) {
      const o = got.subarray(f * FRAME, (f + 1) * FRAME);
      const s = src.subarray(f * FRAME, (f + 1) * FRAME);
      if (!o.every((v, i) => v === 255 - s[i]))
        throw new Error(`frame ${f} is not source frame ${f} inverted`);
    }
    expect(await packetHashes(out, '0:a')).toEqual(await packetHashes(clip, '0:a'));
  });

  it('H.264 output: the resumed file decodes to the same frames as an uninterrupted render', async () => {
    const out = join(dir, 'killed.mp4');
    await renderAndKill(out, 'mp4', 2);
    await renderVideo({
      input: clip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 10,
      preset: 'ultrafast',
      resume: true,
    });
    const straight = join(dir, 'straight.mp4');
    await renderVideo({
      input: clip,
      output: straight,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 10,
      preset: 'ultrafast',
    });
    expect(await countFrames(out)).toBe(75);
    expect((await decodeAll(out)).equals(await decodeAll(straight))).toBe(true);
    expect(await packetHashes(out, '0:a')).toEqual(await packetHashes(clip, '0:a'));
  });

  it('a damaged segment in the work folder is rendered again, not trusted', async () => {
    const out = join(dir, 'damaged.mkv');
    await renderAndKill(out, 'mkv', 3);
    const work = `${out}.tintype-work`;
    const seg1 = join(work, 'seg-000001.mkv');
    const bytes = await readFile(seg1);
    await writeFile(seg1, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const notes: string[] = [];
    const r = await renderVideo({
      input: clip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 10,
      resume: true,
      onNote: (n) => notes.push(n),
    });
    expect(r.resumedFromFrame).toBe(10);
    expect(notes.join('\n')).toMatch(/segment 1 is missing or incomplete/);
    const src = await decodeAll(clip);
    const got = await decodeAll(out);
    expect(got.length).toBe(75 * FRAME);
    expect(got.subarray(40 * FRAME, 41 * FRAME).every((v, i) => v === 255 - src[40 * FRAME + i])).toBe(true);
  });
});

describe('one render per output', () => {
  it('refuses while another live process holds the work folder, and takes over a dead one', async () => {
    const out = join(dir, 'locked.mkv');
    const work = `${out}.tintype-work`;
    await mkdir(work, { recursive: true });
    const other = spawn('sleep', ['30']);
    try {
      await writeFile(join(work, 'lock'), String(other.pid));
      const err = (await renderVideo({
        input: clip,
        output: out,
        processor: invertProcessor(),
        processorKey: 'invert',
        duration: 0.2,
      }).catch((e: unknown) => e)) as VideoError;
      expect(err.code).toBe('WORK_EXISTS');
      expect(err.message).toMatch(new RegExp(`another render \\(process ${other.pid}\\)`));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('close', r));
    }
    const r = await renderVideo({
      input: clip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      duration: 0.2,
    });
    expect(r.frames).toBe(5);
    await expect(stat(work)).rejects.toThrow();
  });
});

describe('damaged input', () => {
  it('a truncated file: a clear error with the frames done, finished segments kept', async () => {
    const whole = await makeClip(join(dir, 'whole.mkv'), {
      seconds: 3,
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p'],
    });
    const bytes = await readFile(whole);
    const cut = join(dir, 'cut.mkv');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.5)));
    const out = join(dir, 'cut-out.mp4');
    const err = (await renderVideo({
      input: cut,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 10,
      preset: 'ultrafast',
    }).catch((e: unknown) => e)) as VideoError;
    expect(err).toBeInstanceOf(VideoError);
    expect(err.code).toBe('TRUNCATED');
    expect(err.message).toContain(cut);
    expect(err.message).toMatch(
      /input ended after frame \d+ but should have 75 frames \(truncated or damaged file\)/,
    );
    expect(err.message).toMatch(/\d+ of 75 frames done/);
    expect(err.progress?.segmentsKept).toBeGreaterThanOrEqual(1);
    const work = await readdir(`${out}.tintype-work`);
    expect(work).toContain('seg-000000.mp4');
    await expect(stat(out)).rejects.toThrow();
  });

  it('corruption in the middle stops at the damage (strict), or is concealed when asked', async () => {
    const whole = await makeClip(join(dir, 'whole2.mkv'), {
      seconds: 3,
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p'],
    });
    const bytes = Buffer.from(await readFile(whole));
    // Overwrite 3 kB in the middle with noise (deterministic).
    let x = 12345;
    for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 3000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = x & 0xff;
    }
    const bad = join(dir, 'corrupt.mkv');
    await writeFile(bad, bytes);
    const out = join(dir, 'corrupt-out.mkv');
    const err = (await renderVideo({
      input: bad,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 10,
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('DECODE_FAILED');
    expect(err.message).toMatch(/decoding failed after source frame \d+/);
    expect(err.message).toMatch(/\d+ of \d+ frames done; [1-9]\d* finished segments kept/);
    const kept = err.progress?.segmentsKept ?? 0;
    expect(kept).toBeGreaterThanOrEqual(1);

    const tolerant = join(dir, 'corrupt-tolerant.mkv');
    const r = await renderVideo({
      input: bad,
      output: tolerant,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 10,
      strict: false,
    });
    expect(r.frames).toBeGreaterThan(kept * 10);
    expect(await countFrames(tolerant)).toBe(r.frames);
  });

  it('a file that is not a video at all is named in the error', async () => {
    const junk = join(dir, 'junk.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=duration=1',
      '-c:a',
      'pcm_s16le',
      '-f',
      'wav',
      join(dir, 'x.wav'),
    ]);
    await writeFile(junk, Buffer.alloc(4096, 7));
    const err = (await renderVideo({
      input: junk,
      output: join(dir, 'junk-out.mp4'),
      processor: invertProcessor(),
      processorKey: 'i',
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('NOT_MEDIA');
    expect(err.message).toContain(junk);
  });
});
