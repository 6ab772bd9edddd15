import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../src/engine/video/formats';
import { checkRenderOptions, pathsFor, planRender, type PlanOptions } from '../../src/engine/video/plan';

/** The film renderer's plan is pure: it can be checked without ffmpeg, files or a model. */
describe('film render plan', () => {
  const base: PlanOptions = {
    input: '/films/reel.mp4',
    output: '/out/reel.mp4',
    processorKey: 'k',
    windowFrames: 1,
  };
  const source = { fps: { num: 25, den: 1 }, frameCount: 250, frameCountExact: true, rotationApplied: false };

  it('covers the whole film in 10 s segments by default', () => {
    const p = planRender(base, FORMATS.mp4, source);
    expect([p.rangeStart, p.rangeEnd, p.expectedEnd, p.framesTotal, p.segmentFrames]).toEqual([
      0,
      undefined,
      250,
      250,
      250,
    ]);
  });

  it('a preview window is cut to the film, and a start past the end is refused', () => {
    const p = planRender({ ...base, start: 8, duration: 4 }, FORMATS.mp4, source);
    expect([p.rangeStart, p.rangeEnd, p.framesTotal]).toEqual([200, 250, 50]);
    expect(() => planRender({ ...base, start: 10 }, FORMATS.mp4, source)).toThrow(
      /past the end \(250 frames\)/,
    );
    // An inexact count (an estimate) does not cut the window: the film may be longer.
    const est = planRender({ ...base, start: 8, duration: 4 }, FORMATS.mp4, {
      ...source,
      frameCountExact: false,
    });
    expect(est.rangeEnd).toBe(300);
  });

  it('the fingerprint changes with what changes the pixels, not with what the encoder ignores', () => {
    const fp = (o: Partial<PlanOptions>, f = FORMATS.mp4) =>
      planRender({ ...base, ...o }, f, source).fingerprint;
    expect(fp({ crf: 18 })).not.toBe(fp({ crf: 20 }));
    expect(fp({ processorKey: 'other model' })).not.toBe(fp({}));
    expect(fp({ yuvPath: true })).not.toBe(fp({}));
    // FFV1 is lossless: crf and preset change nothing there.
    expect(fp({ crf: 18, preset: 'slow' }, FORMATS.mkv)).toBe(fp({}, FORMATS.mkv));
  });

  it('checks options before anything is opened', () => {
    const paths = pathsFor(base.output, FORMATS.mp4);
    expect(paths.workDir).toBe('/out/reel.mp4.tintype-work');
    expect(() => checkRenderOptions({ ...base, crf: 60 }, paths)).toThrow(/--crf 60: use 0..51/);
    expect(() =>
      checkRenderOptions({ ...base, output: base.input }, pathsFor(base.input, FORMATS.mp4)),
    ).toThrow(/would overwrite the input/);
    const seq = pathsFor('/out/frames/f_%04d.png', FORMATS.png);
    expect([seq.output, seq.pattern, seq.workDir]).toEqual([
      '/out/frames',
      'f_%04d.png',
      '/out/frames.tintype-work',
    ]);
  });
});
