import { missingTorch } from '../../training/runner';
import { skipWithout } from './system-tools';

/**
 * Whether a training test file skips: TINTYPE_SKIP_TRAINING=1 (said so), or no python3 with torch
 * (skipWithout: the reason printed, a failure under TINTYPE_REQUIRE_SYSTEM_TOOLS=1). `what` names the
 * file's tests in what is printed.
 */
export async function skipTraining(what: string): Promise<boolean> {
  if (process.env.TINTYPE_SKIP_TRAINING === '1') {
    console.log(`${what} skipped: TINTYPE_SKIP_TRAINING=1`);
    return true;
  }
  return skipWithout(what, await missingTorch());
}

/** Inside a test that runs: torch must still be there (a test that got this far never skips quietly). */
export async function requireTorch(what: string): Promise<void> {
  const why = await missingTorch();
  if (why) throw new Error(`${what} cannot run: ${why}`);
}
