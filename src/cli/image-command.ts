import { lstat, mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import PQueue from 'p-queue';
import {
  addsColour,
  detectColour,
  Engine,
  EnginePool,
  ModelRegistry,
  defaultModelDirs,
  effectiveRenderSize,
  removeStaleTemps,
  parseHexColour,
  modelsByOp,
  operation,
  operations,
  resolveModelChain,
  TASK_INFO,
  errorMessage,
  TintypeError,
  consoleLogger,
  silentLogger,
  type ExecutionProviderChoice,
  type FileResult,
  type OpName,
  type OutputFormat,
} from '../engine/index';
import type { Hint } from '../shared/hints';
import { renderFactorOf } from '../shared/manifest';
import { checkRedisUrl } from '../farm/redis-url';
import { collectInputs, maskPathFor, planOutputs } from './files';
import {
  addOpOptions,
  collect,
  colourSkipLine,
  hintsOption,
  intOption,
  opNames,
  opsHelp,
  parseOps,
} from './options';
import { ProgressBar } from './progress';

export interface ImageCommandOptions {
  output?: string;
  recursive?: boolean;
  ops?: OpName[];
  model?: string[];
  renderSize?: number;
  scale?: number;
  saturation?: number;
  hints?: Hint[];
  ep: ExecutionProviderChoice;
  threads?: number;
  workers?: number;
  format?: OutputFormat;
  overwrite?: boolean;
  background?: string;
  watermark?: boolean;
  forceColour?: boolean;
  json?: boolean;
  quiet?: boolean;
  modelsDir?: string[];
  mask?: string;
  saveMask?: boolean;
  farm?: string;
  farmGroup?: number;
  farmTimeout?: number;
  attempts?: number;
}

/** Options shared by every image command. */
export function addImageOptions(cmd: Command): Command {
  return addOpOptions(
    cmd
      .option('-o, --output <path>', 'output file (one input) or folder')
      .option('-r, --recursive', 'include images in subfolders'),
  )
    .option(
      '--hints <file>',
      'colour hints for colorize: JSON {"hints":[{"points":[[x,y],...],"radius":r,"color":"#rrggbb","strength":1}]}',
      hintsOption,
    )
    .addOption(
      new Option('--ep <provider>', 'execution provider')
        .choices(['auto', 'cpu', 'cuda', 'dml', 'coreml'])
        .default('auto'),
    )
    .option('--threads <n>', 'CPU threads for inference', intOption('threads', 1, 256))
    .option(
      '--workers <n>',
      'worker threads, one image each at a time, each with its own models (default: a colorize batch on up to 3 cores runs 2 images at once in the main thread)',
      intOption('workers', 1, 16),
    )
    .addOption(
      new Option('--format <fmt>', 'output format (default: same as input)').choices([
        'jpg',
        'png',
        'tif',
        'webp',
      ]),
    )
    .option('--overwrite', 'redo outputs that already exist (never touches the original)')
    .option(
      '--background <colour>',
      'what transparent pixels become in a JPEG (default #ffffff)',
      (v: string) => {
        if (!parseHexColour(v)) throw new InvalidArgumentError(`"${v}" is not a colour like #ffffff`);
        return v;
      },
    )
    .option('--watermark', 'draw a small visible "AI-colorized" mark')
    .option(
      '--mask <file>',
      "repair: the damage, as a greyscale image of the picture's size (white = repair)",
    )
    .option(
      '--save-mask',
      'repair: also write the mask it used as <output>.mask.png (edit it, give it back with --mask)',
    )
    .option('--json', 'print one JSON result per file on stdout')
    .option('-q, --quiet', 'no progress bar or summary')
    .option('--models-dir <dir>', 'extra folder of models (repeatable)', collect)
    .option(
      '--farm <redis-url>',
      'process the photos on farm workers ("tintype worker") through this Redis; rerunning resumes',
      checkRedisUrl,
    )
    .option('--farm-group <n>', 'with --farm: photos per job (default 1)', intOption('farm group', 1, 256))
    .option(
      '--farm-timeout <s>',
      'with --farm: stop when Redis has not answered this long (default 30)',
      intOption('farm timeout', 1, 86400),
    )
    .option(
      '--attempts <n>',
      'with --farm: tries per job before it counts as failed (default 3)',
      intOption('attempts', 1, 100),
    );
}

/** Photos run in this thread, `atOnce` at a time (their decodes and encodes run on libuv's threads). */
function inProcess(engine: Engine, atOnce: number): Pick<EnginePool, 'processFile' | 'close'> {
  const queue = new PQueue({ concurrency: atOnce });
  return {
    processFile: (job, onProgress) => queue.add(() => engine.processFile(job, onProgress)),
    close: () => queue.onIdle(),
  };
}

/** Runs an image command; resolves to the process exit code (0 only when every file succeeded). */
export async function runImageCommand(
  files: string[],
  ops: OpName[],
  o: ImageCommandOptions,
  suffix?: string,
): Promise<number> {
  const log = o.quiet ? silentLogger : consoleLogger;
  const modelDirs = o.modelsDir?.length ? [...defaultModelDirs(), ...o.modelsDir] : undefined;
  const registry = new ModelRegistry({ dirs: modelDirs });
  // Fail fast on a missing model rather than once per file.
  const chain = await resolveModelChain(
    registry,
    ops,
    {
      models: await modelsByOp(registry, o.model),
      renderSize: o.renderSize,
      scale: o.scale,
      saturation: o.saturation,
      hints: o.hints,
    },
    { masked: o.mask !== undefined },
  );
  const { options, ops: ordered } = chain;
  for (const { op, manifest: m } of chain.models) {
    if (TASK_INFO[m.task].runs === 'render-size') {
      const size = effectiveRenderSize(m, options.renderSize);
      log.info(`${op} with ${m.id} at ${size} px (DeOldify render_factor ${renderFactorOf(size)})`);
    } else {
      log.info(`${op} with ${m.id}${m.scale > 1 ? ` (×${m.scale})` : ''}`);
    }
  }
  const { files: found, warnings } = await collectInputs(files, Boolean(o.recursive));
  for (const w of warnings) log.warn(w);
  if (found.length === 0) {
    log.warn('no input images');
    return 1;
  }
  if (o.mask !== undefined && found.length !== 1) {
    throw new TintypeError(
      `--mask ${o.mask}: a mask belongs to one picture, and ${found.length} were given`,
      'BAD_ARGUMENT',
    );
  }
  const planned = await planOutputs(found, suffix ?? ordered.join('-'), o.output, o.format);
  // A rerun (after Ctrl-C, kill -9 or a crash) skips what is already there, before any work: outputs
  // are written atomically, so one that exists is complete. --overwrite redoes them.
  const skipped: FileResult[] = [];
  const plan = o.overwrite ? planned : [];
  if (!o.overwrite) {
    for (const p of planned) {
      if (
        await lstat(p.output).then(
          () => true,
          () => false,
        )
      )
        skipped.push({ input: p.input, output: p.output, ok: true, skipped: true, ops: ordered, models: [] });
      else plan.push(p);
    }
  }
  // What a killed run left half-written is hidden temp files (never outputs): clear them.
  for (const t of await removeStaleTemps(planned.map((p) => p.output)))
    log.info(`removed ${t} (left by a killed run)`);
  for (const r of skipped) {
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else if (!o.quiet) process.stderr.write(`skipped: ${r.output} already exists (--overwrite redoes it)\n`);
  }
  // Colorize would replace the colours of a photo that has them: such inputs are left out, said so.
  // A local run leaves that to the engine (FileJob.skipColour), which judges it from the small read
  // the model's input comes from, photo by photo as the batch runs; a farm run checks here first.
  const skipColour = addsColour(ordered) && !o.forceColour;
  let colourSkipped = 0;
  if (skipColour && o.farm) {
    for (const p of [...plan]) {
      const v = await detectColour(p.input).catch(() => null); // unreadable: the render says why
      if (!v?.colour) continue;
      plan.splice(plan.indexOf(p), 1);
      colourSkipped++;
      const r: FileResult = {
        input: p.input,
        output: p.output,
        ok: true,
        skipped: true,
        ops: ordered,
        models: [],
        notes: [v.reason],
      };
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (!o.quiet) process.stderr.write(`${colourSkipLine(p.input, v.reason)}\n`);
    }
  }
  if (plan.length === 0) {
    if (!o.json && !o.quiet) {
      const parts = [`0 done`];
      if (skipped.length) parts.push(`${skipped.length} skipped (all outputs exist)`);
      if (colourSkipped) parts.push(`${colourSkipped} skipped (already in colour)`);
      process.stderr.write(`${parts.join(', ')}\n`);
    }
    return 0;
  }
  const bar = o.json || o.quiet ? undefined : new ProgressBar(plan.length);
  const partial = new Map<number, number>();
  let finished = 0;
  const results: FileResult[] = [];
  const tick = (label: string) =>
    bar?.update(finished + [...partial.values()].reduce((a, b) => a + b, 0), label);
  /** A file's result, printed as it comes. */
  const report = (result: FileResult): void => {
    if (result.alreadyColour) colourSkipped++;
    else results.push(result);
    tick(basename(result.input));
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.alreadyColour) {
      if (!o.quiet) {
        bar?.done();
        process.stderr.write(`${colourSkipLine(result.input, result.notes?.[0] ?? 'already in colour')}\n`);
      }
    } else if (result.ok && result.notes?.length && !o.quiet) {
      bar?.done();
      for (const n of result.notes) process.stderr.write(`note: ${result.output}: ${n}\n`);
    } else if (!result.ok) {
      bar?.done();
      process.stderr.write(`error: ${result.error}\n`);
    }
  };
  if (o.farm && (o.mask !== undefined || o.saveMask))
    throw new TintypeError(
      '--mask and --save-mask work on one picture here: not with --farm',
      'BAD_ARGUMENT',
    );
  if (o.farm) {
    // Farm workers write the outputs on the shared storage; this process only queues and waits.
    for (const p of plan) await mkdir(dirname(p.output), { recursive: true }).catch(() => undefined);
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      // Loaded only here: BullMQ and ioredis cost every other run ~0.35 s of start-up.
      const { runPhotoFarm } = await import('../farm/photo-farm');
      await runPhotoFarm({
        redis: o.farm,
        chain,
        files: plan.map((p) => ({ input: resolve(p.input), output: resolve(p.output) })),
        group: o.farmGroup,
        format: o.format,
        overwrite: o.overwrite,
        watermark: o.watermark,
        background: o.background,
        attempts: o.attempts,
        timeoutMs: o.farmTimeout !== undefined ? o.farmTimeout * 1000 : undefined,
        signal: ac.signal,
        onNote: (n) => log.info(n),
        onResult: report,
        onProgress: (done) => {
          finished = done;
          tick('');
        },
      });
    } finally {
      process.removeListener('SIGINT', onSigint);
      bar?.done();
    }
  } else {
    const how = o.workers ? { workers: o.workers, atOnce: 1 } : batchPlan(ordered, plan.length);
    const pool: Pick<EnginePool, 'processFile' | 'close'> =
      how.workers === 0
        ? inProcess(new Engine({ ep: o.ep, threads: o.threads, modelDirs, log }), how.atOnce)
        : new EnginePool({ ep: o.ep, threads: o.threads, workers: how.workers, modelDirs, log });
    try {
      await Promise.all(
        plan.map(async (p, i) => {
          let result: FileResult;
          try {
            await mkdir(dirname(p.output), { recursive: true }).catch(() => undefined);
            result = await pool.processFile(
              {
                input: p.input,
                output: p.output,
                ops: ordered,
                options,
                format: o.format,
                overwrite: o.overwrite,
                watermark: o.watermark,
                background: o.background,
                mask: o.mask,
                saveMask: o.saveMask ? maskPathFor(p.output) : undefined,
                skipColour,
              },
              (e) => {
                partial.set(i, e.fraction);
                tick(basename(p.input));
              },
            );
          } catch (err) {
            result = {
              input: p.input,
              output: p.output,
              ok: false,
              ops: ordered,
              models: [],
              error: errorMessage(err),
            };
          }
          partial.delete(i);
          finished += 1;
          report(result);
        }),
      );
    } finally {
      bar?.done();
      await pool.close();
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  if (!o.json && !o.quiet) {
    const ok = results.length - failed;
    const parts = [`${ok} done`];
    if (skipped.length) parts.push(`${skipped.length} skipped (already there)`);
    if (colourSkipped) parts.push(`${colourSkipped} skipped (already in colour)`);
    if (failed) parts.push(`${failed} failed`);
    process.stderr.write(`${parts.join(', ')}\n`);
  }
  return failed === 0 ? 0 : 1;
}

/**
 * How a local batch runs: `workers` engine threads (0: this thread, which needs no start-up of its
 * own) with `atOnce` photos in flight in this thread.
 *
 * Colorizing infers at a small render size; most of a photo's time is its full-resolution decode,
 * chroma merge and encode. Decode and encode run on libuv's threads and only the merge (65–80 ms
 * of CPU at 12 MP) on the JavaScript thread, so on up to 3 cores two photos in flight in this
 * thread keep the cores busy without a worker's start-up (modules, ONNX Runtime, its own model
 * session: measured 0.65 s of CPU on 2 cores for 6 photos against one worker, and peak RSS 320
 * against 370 MB). On more cores the merges would queue on this thread: one worker per two cores
 * (2–8, each holds a full-size photo) share the inference threads out. Restore and upscale spend
 * their time in tiled inference that ONNX Runtime already spreads over every core, and their
 * full-size buffers would multiply, so they keep one worker; a single photo runs here.
 */
export function batchPlan(
  ops: readonly OpName[],
  files: number,
  cores = availableParallelism(),
): { workers: number; atOnce: number } {
  const smallRender = (op: OpName) => {
    const task = operation(op).task;
    return task !== null && TASK_INFO[task].runs === 'render-size';
  };
  if (files < 2) return { workers: 0, atOnce: 1 };
  if (!ops.every(smallRender)) return { workers: 1, atOnce: 1 };
  if (cores <= 3) return { workers: 0, atOnce: 2 };
  return { workers: Math.min(files, 8, Math.floor(cores / 2)), atOnce: 1 };
}

export function registerImageCommands(program: Command, setExit: (code: number) => void): void {
  const single = (name: OpName, description: string) =>
    addImageOptions(
      program.command(name).description(description).argument('<paths...>', 'image files or folders'),
    ).action(async (paths: string[], o: ImageCommandOptions) =>
      setExit(await runImageCommand(paths, [name], o)),
    );
  // One command per registered operation, so a new operation is a new command too.
  for (const op of operations()) single(op.name as OpName, op.summary);
  addImageOptions(
    program
      .command('run')
      .description(`run several operations in one pass (${opNames().join(' → ')})`)
      .argument('<paths...>', 'image files or folders')
      .requiredOption('--ops <list>', opsHelp(), parseOps),
  ).action(async (paths: string[], o: ImageCommandOptions) =>
    setExit(await runImageCommand(paths, o.ops!, o)),
  );
}
