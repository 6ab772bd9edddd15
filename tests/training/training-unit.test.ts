/** Runs the training toolkit's Python unit tests (training/tests, unittest) as part of `npm test`. */
import { describe, expect, it } from 'vitest';
import { requireTorch, skipTraining } from '../helpers/training';
import { runPython } from '../../training/runner';

const WHAT = 'training unit tests';
const skip = await skipTraining(WHAT);

describe.skipIf(skip)('training toolkit unit tests (python -m unittest)', () => {
  it('pass', async () => {
    await requireTorch(WHAT);
    const r = await runPython(
      ['-m', 'unittest', 'discover', '-s', 'training/tests', '-t', 'training/tests'],
      {
        timeoutMs: 300_000,
      },
    );
    if (r.code !== 0) console.error(r.stderr);
    expect(r.stderr).toMatch(/\nOK/);
    expect(r.code).toBe(0);
    // The suite takes ~1 min on two quiet cores and over 2 min on loaded ones: the python timeout's bound.
  }, 300_000);
});
