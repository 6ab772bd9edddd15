import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** A greyscale "scan" with real texture, so JPEG size and decode cost are a photo's. */
export async function greyScan(path: string, width: number, height: number): Promise<void> {
  const noise = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .blur(1.2)
    .greyscale()
    .jpeg({ quality: 90 })
    .toBuffer();
  await sharp(noise).toFile(path);
}

/**
 * ../shared/datasets beside the project root; from a git worktree elsewhere, beside the main
 * checkout (the folder that holds the common .git).
 */
export function sharedDatasets(root: string): string | undefined {
  const candidates = [join(root, '..', 'shared', 'datasets')];
  const common = spawnSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (common.status === 0)
    candidates.push(join(dirname(dirname(common.stdout.trim())), '..', 'shared', 'datasets'));
  return candidates.find((c) => existsSync(c));
}
