import type { Operation } from '../../src/engine';

/**
 * A trivial operation that exists only for the tests: it proves that a new operation is this file,
 * one registerOperation line and its test, with nothing else in the code base to edit.
 * (A real operation's per-pixel work belongs in native code; this one is a few pixels in a test.)
 */
export const invertOp: Operation = {
  name: 'invert',
  task: null,
  label: 'Invert',
  hint: 'swap dark and light',
  summary: 'invert the tones of photos (a test operation)',
  order: 5,
  options: [],
  run: async (raster, ctx) => {
    const max = raster.depth === 16 ? 65535 : 255;
    const data = raster.data.map((v) => max - v);
    ctx.onProgress(1);
    return { ...raster, data };
  },
};
