import { Command, Option } from 'commander';
import { consoleLogger, type ExecutionProviderChoice } from '../engine/index';
import { checkRedisUrl } from '../farm/redis-url';
import { collect, numberOption } from './options';

interface WorkerCommandOptions {
  redis: string;
  concurrency?: number;
  ep: ExecutionProviderChoice;
  threads?: number;
  modelsDir?: string[];
  stalledSeconds?: number;
  name?: string;
}

/** `tintype worker --redis URL`: a render-farm worker (src/farm/worker.ts) until Ctrl-C or SIGTERM. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'render-farm worker: take film segments and photos from the queue on Redis (see docs/farm.md)',
    )
    .requiredOption('--redis <url>', "the farm's Redis, e.g. redis://host:6379", checkRedisUrl)
    .option('--concurrency <n>', 'jobs at once (default 1)', numberOption('concurrency', 1, 64, true))
    .addOption(
      new Option('--ep <provider>', 'execution provider')
        .choices(['auto', 'cpu', 'cuda', 'dml', 'coreml'])
        .default('auto'),
    )
    .option('--threads <n>', 'CPU threads for inference', numberOption('threads', 1, 256, true))
    .option('--models-dir <dir>', 'extra folder of models (repeatable)', collect)
    .option(
      '--stalled-seconds <s>',
      'a job whose worker is silent this long goes to another worker (default 30)',
      numberOption('stalled seconds', 1, 3600, true),
    )
    .option('--name <name>', 'worker name in progress and results (default host:pid)')
    .action(async (o: WorkerCommandOptions) => {
      // Loaded on demand, as the other farm code: BullMQ's start-up is for farm commands only.
      const { startFarmWorker, workerModelDirs } = await import('../farm/worker');
      const worker = await startFarmWorker({
        redis: o.redis,
        concurrency: o.concurrency,
        ep: o.ep,
        threads: o.threads,
        modelDirs: workerModelDirs(o.modelsDir),
        stalledSeconds: o.stalledSeconds,
        name: o.name,
        log: consoleLogger,
      });
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (): void => {
          if (stopping) process.exit(130); // a second Ctrl-C: do not wait for running jobs
          stopping = true;
          consoleLogger.info('finishing the running jobs, then stopping (Ctrl-C again to stop now)');
          void worker.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
