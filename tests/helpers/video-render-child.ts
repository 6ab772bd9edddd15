/**
 * Run by video-resume.test.ts as a separate process that the test SIGKILLs mid-render:
 *   node --import tsx tests/helpers/video-render-child.ts <input> <output> <format> <segmentFrames> <delayMs> [resume]
 * Prints one JSON line per progress event so the parent knows when segments are committed.
 */
import { perFrame, renderVideo } from '../../src/engine/video';
import { invertFrame, sleep } from './video-fixtures';

const [input, output, format, segmentFrames, delayMs, resume] = process.argv.slice(2);
const slow = perFrame(async (f) => {
  await sleep(Number(delayMs));
  return invertFrame(f);
});
const r = await renderVideo({
  input,
  output,
  format,
  processor: slow,
  processorKey: 'invert',
  segmentFrames: Number(segmentFrames),
  preset: 'ultrafast',
  resume: resume === 'resume',
  onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
});
process.stdout.write(`${JSON.stringify({ done: true, frames: r.frames })}\n`);
