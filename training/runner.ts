/** Finds the Python that has PyTorch and runs the training toolkit with it (tests, scripts). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TRAINING_DIR = path.dirname(fileURLToPath(import.meta.url));

/** TINTYPE_PYTHON, else Debian's /usr/bin/python3 (where python3-torch installs), else python3 on PATH. */
export function resolvePython(): string {
  const fromEnv = process.env.TINTYPE_PYTHON;
  if (fromEnv) return fromEnv;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPython(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const env = {
    ...process.env,
    PYTHONPATH: [TRAINING_DIR, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    // Tiny tensors: one thread per process beats two fighting over shared cores.
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  return new Promise((resolve) => {
    execFile(
      resolvePython(),
      args,
      {
        cwd: opts.cwd ?? path.dirname(TRAINING_DIR),
        env,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 32 << 20,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (err && code === 1 && !stderr ? err.message : ''),
        });
      },
    );
  });
}

/** `python -m tintype_train ARGS`; throws with the toolkit's own output when it fails. */
export async function runToolkit(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await runPython(['-m', 'tintype_train', ...args], opts);
  if (r.code !== 0) {
    throw new Error(`tintype_train ${args[0]} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout + r.stderr;
}

/** Why the toolkit cannot run here, or null when PyTorch, numpy and Pillow import. */
export async function missingTorch(): Promise<string | null> {
  const r = await runPython(['-c', 'import torch, numpy, PIL; print(torch.__version__)'], {
    timeoutMs: 60_000,
  });
  if (r.code === 0) return null;
  return (
    `${resolvePython()} cannot import torch, numpy and PIL (${r.stderr.trim().split('\n').pop() ?? 'exit ' + r.code}). ` +
    "Install Debian's python3-torch python3-numpy python3-pil (as .ci/run does) or set TINTYPE_PYTHON; " +
    'TINTYPE_SKIP_TRAINING=1 skips the training tests.'
  );
}
