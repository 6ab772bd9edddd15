/**
 * Films that fail: a truncated file, a full disk, a read-only folder, a very long name. A failure
 * says why in words, removes what it half-wrote (the .part segment; the whole work folder when no
 * segment was finished) and never blocks the next run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderVideo, TintypeError } from '../../src/engine';
import { writeStack16 } from '../helpers/library-helpers';
import {
  canMakeReadOnly,
  canMount,
  mountSkipReason,
  mountTmpfs,
  readOnlyFolder,
  resizeTmpfs,
  unmountAll,
} from '../helpers/tmpfs';
import { countFrames, invertProcessor, makeClip, tempDir } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('tintype-hostile-film-'));
});
afterAll(async () => {
  unmountAll();
  await cleanup();
});

if (!canMount) console.warn(`\n[hostile films] full-disk test SKIPPED: ${mountSkipReason}\n`);
function tmpfs(at: string, size: string, readOnly = false): void {
  expect(readOnly ? readOnlyFolder(at) : mountTmpfs(at, size)).toBe(true);
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as TintypeError,
  );

describe('failed films never block the next run', () => {
  it('a truncated AVI: clear error, no work folder left; the --tolerate-errors rerun renders it', async () => {
    const whole = await makeClip(join(dir, 'whole.avi'), {
      seconds: 3,
      video: ['-c:v', 'mpeg4', '-q:v', '3'],
    });
    const bytes = readFileSync(whole);
    const cut = join(dir, 'cut.avi');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.45)));
    const out = join(dir, 'cut-out.mp4');
    const opts = {
      input: cut,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      preset: 'ultrafast',
    };
    const err = await failureOf(renderVideo(opts));
    expect(err).toBeInstanceOf(TintypeError);
    expect(err!.message).toContain(cut);
    expect(err!.message).toMatch(/truncated or damaged|damaged input/);
    // No finished segment: nothing to resume, so nothing is left behind to refuse the next run.
    expect(existsSync(`${out}.tintype-work`)).toBe(false);
    expect(existsSync(out)).toBe(false);
    // The same command again fails the same way (not "an unfinished render is there").
    const again = await failureOf(renderVideo(opts));
    expect(again?.code).toBe(err!.code);
    // Tolerating errors renders what is there.
    const r = await renderVideo({ ...opts, strict: false });
    expect(r.frames).toBeGreaterThan(10);
    expect(await countFrames(out)).toBe(r.frames);
  });

  it('a microscopy stack cut in its last page is refused as damaged, nothing left behind', async () => {
    const own = join(dir, 'stack');
    mkdirSync(own);
    const whole = join(own, 'cells.tif');
    writeStack16(whole, 40, 30, 6);
    const bytes = readFileSync(whole);
    const cut = join(own, 'cut.tif');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 700));
    const out = join(own, 'out.tif');
    const err = await failureOf(
      renderVideo({ input: cut, output: out, processor: invertProcessor(), processorKey: 'invert' }),
    );
    expect(err?.message).toContain(cut);
    expect(err?.message).toMatch(/page 6.*damaged or truncated/);
    expect(readdirSync(own).sort()).toEqual(['cells.tif', 'cut.tif']);
  });

  it('a very long film name works (the work folder name is shortened to fit)', async () => {
    const own = join(dir, 'long');
    mkdirSync(own);
    const clip = await makeClip(join(own, 'short.mp4'), { seconds: 1 });
    const out = join(own, `${'f'.repeat(245)}.mp4`); // 249 bytes: legal, but not with ".tintype-work"
    // What a join killed mid-write leaves (pid 2^22+1 is above Linux's pid_max: never alive).
    const stale = join(own, `.${'f'.repeat(200)}.4194305.deadbeef.tmp`);
    writeFileSync(stale, 'half a film');
    const r = await renderVideo({
      input: clip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      preset: 'ultrafast',
    });
    expect(r.frames).toBe(25);
    expect(readdirSync(own).filter((n) => n.includes('tintype-work') || n.startsWith('.'))).toEqual([]);
  });

  it.skipIf(!canMount)(
    'a full disk: "the disk is full", no .part left, only finished segments; rerun after freeing space',
    async () => {
      const clip = await makeClip(join(dir, 'big.mkv'), {
        seconds: 3,
        size: '320x240',
        video: ['-c:v', 'ffv1'],
      });
      const disk = join(dir, 'small-disk');
      tmpfs(disk, '600k');
      const out = join(disk, 'film.mkv');
      const opts = {
        input: clip,
        output: out,
        processor: invertProcessor(),
        processorKey: 'invert',
        segmentFrames: 10,
      };
      const err = await failureOf(renderVideo(opts));
      expect(err).toBeInstanceOf(TintypeError);
      expect(err!.message).toMatch(/the disk is full/);
      const work = `${out}.tintype-work`;
      const left = existsSync(work) ? readdirSync(work) : [];
      expect(left.filter((n) => n.includes('.part') || n.includes('.tmp'))).toEqual([]);
      expect(readdirSync(disk).filter((n) => n.startsWith('.'))).toEqual([]);
      const kept = left.filter((n) => /^seg-\d+\.mkv$/.test(n)).length;
      expect(kept).toBe(err!.progress?.segmentsKept ?? 0);
      if (kept === 0) expect(existsSync(work)).toBe(false);
      // More room: the run goes through (resuming what was kept).
      expect(resizeTmpfs(disk, '64m')).toBe(true);
      const r = await renderVideo({ ...opts, resume: kept > 0 });
      expect(r.frames).toBe(75);
      expect(r.resumedFromFrame).toBe(kept * 10);

      // Full before the first segment is finished: the work folder goes entirely, and the next run
      // (here with --tolerate-errors) is not refused.
      const disk2 = join(dir, 'tiny-disk');
      tmpfs(disk2, '200k');
      const out2 = join(disk2, 'film.mkv');
      const whole = { ...opts, output: out2, segmentFrames: 1000 };
      const err2 = await failureOf(renderVideo(whole));
      expect(err2?.message).toMatch(/the disk is full.*no finished segment, nothing kept/);
      expect(readdirSync(disk2)).toEqual([]);
      expect(resizeTmpfs(disk2, '64m')).toBe(true);
      expect((await renderVideo({ ...whole, strict: false })).frames).toBe(75);
    },
  );

  it.skipIf(!canMakeReadOnly)('a read-only output folder: said in words before any work', async () => {
    const clip = await makeClip(join(dir, 'ro-src.mp4'), { seconds: 1 });
    const ro = join(dir, 'read-only');
    tmpfs(ro, '1m', true);
    const err = await failureOf(
      renderVideo({
        input: clip,
        output: join(ro, 'x.mp4'),
        processor: invertProcessor(),
        processorKey: 'invert',
      }),
    );
    expect(err?.message).toMatch(new RegExp(`folder ${ro}.* is read-only`));
    expect(err?.message).not.toMatch(/\bE[A-Z]{3,}\b/);
  });
});
