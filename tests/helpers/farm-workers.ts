import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** `tintype worker` as a real child process (the built CLI, or the sources through tsx), for the farm tests. */

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tintype.js');

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Its name in job progress and results (host:pid). */
  name: string;
  log(): string;
  /** SIGTERM: finishes its running job, then exits. */
  stop(): Promise<void>;
  /** kill -9. */
  kill(): Promise<void>;
}

export async function startWorker(
  redis: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--redis', redis, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const onData = (d: Buffer): void => {
    log += d.toString();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const name = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${log}`)), 60_000);
    const check = (): void => {
      const m = /worker (\S+) waiting for jobs/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it started:\n${log}`));
    });
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    child,
    pid: child.pid!,
    name,
    log: () => log,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tintype <args>` to the end. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { done: Promise<CliRun>; child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, child };
}
