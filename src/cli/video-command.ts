import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  addsColour,
  detectFilmColour,
  probeMedia,
  resolveFfmpeg,
  EnginePool,
  modelsByOp,
  filmProcessor,
  renderVideo,
  resolveModelChain,
  ModelRegistry,
  defaultModelDirs,
  consoleLogger,
  silentLogger,
  type ExecutionProviderChoice,
  type OpName,
  type VideoProgress,
  type VideoResult,
  VideoError,
  VIDEO_FORMATS,
} from '../engine/index';
import { checkRedisUrl } from '../farm/redis-url';
import type { FilmSettings } from '../farm/protocol';
import type { FarmStats } from '../farm/video-farm';
import { addOpOptions, collect, colourSkipLine, numberOption, opsHelp, parseOps } from './options';
import { formatSeconds, ProgressBar } from './progress';

/**
 * `tintype video <input> -o <output>`: a thin shell over renderVideo (src/engine/video) with the
 * engine's worker pool as the frame processor.
 */

interface VideoCommandOptions {
  output: string;
  ops: OpName[];
  model?: string[];
  renderSize?: number;
  scale?: number;
  saturation?: number;
  format?: string;
  crf?: number;
  preset?: string;
  bitDepth?: 8 | 16;
  start?: number;
  duration?: number;
  fps?: string;
  resume?: boolean;
  restart?: boolean;
  overwrite?: boolean;
  segmentSeconds?: number;
  smoothChroma?: boolean;
  flicker?: boolean;
  tolerateErrors?: boolean;
  cfr?: boolean;
  ffmpeg?: string;
  ffprobe?: string;
  forceColour?: boolean;
  ep: ExecutionProviderChoice;
  threads?: number;
  workers?: number;
  modelsDir?: string[];
  json?: boolean;
  quiet?: boolean;
  farm?: string;
  farmTimeout?: number;
  attempts?: number;
}

function progressLine(p: VideoProgress): string {
  const total = p.framesTotal !== undefined ? `/${p.framesTotal}` : '';
  return `${p.fps.toFixed(1)} fps · ETA ${formatSeconds(p.etaSeconds ?? NaN)} · ${p.segmentsDone} segments${p.resumedFrames ? ` (${p.resumedFrames} resumed)` : ''}${total ? '' : ` · ${p.framesDone} frames`}`;
}

function summary(r: VideoResult): string {
  const lines = [
    `wrote ${r.output}: ${r.frames} frames ${r.width}x${r.height} at ${r.fps} fps (${r.durationSeconds.toFixed(2)} s), ${r.formatLabel}`,
    `rendered ${r.framesRendered} frames in ${(r.elapsedMs / 1000).toFixed(1)} s (${r.renderFps.toFixed(2)} fps)${r.resumedFromFrame ? `, resumed at frame ${r.resumedFromFrame}` : ''}`,
  ];
  for (const a of r.streams.audio)
    lines.push(
      `audio stream ${a.index} (${a.codec}): ${a.action === 'copied' ? 'copied as is' : 're-encoded to AAC'}`,
    );
  for (const s of r.streams.subtitles) lines.push(`subtitle stream ${s.index} (${s.codec}): ${s.action}`);
  if (r.flicker)
    lines.push(
      `flicker: ${r.flicker.meanChromaChange.toFixed(3)} (mean chroma change in static areas, 8-bit levels)`,
    );
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

/** Why a film is left out of colorizing (it already has colour), or null. Stacks and sequences are not checked. */
async function filmColour(input: string, o: VideoCommandOptions): Promise<string | null> {
  if (
    !(await stat(input).then(
      (s) => s.isFile(),
      () => false,
    )) ||
    /\.tiff?$/i.test(input)
  )
    return null;
  const bins = await resolveFfmpeg({ ffmpegPath: o.ffmpeg, ffprobePath: o.ffprobe });
  // Unreadable: the render itself says why, in its own words.
  const info = await probeMedia(bins.ffprobe, input).catch(() => null);
  // A greyscale pixel format (gray, gray16le, ya8…) holds no colour: no frames to sample.
  if (!info?.video || info.video.grey) return null;
  const v = await detectFilmColour(input, { ffmpeg: bins.ffmpeg, durationSec: info.duration ?? null }).catch(
    () => null,
  );
  return v?.colour ? v.reason : null;
}

async function runVideoCommand(input: string, o: VideoCommandOptions): Promise<void> {
  const log = o.quiet || o.json ? silentLogger : consoleLogger;
  const modelDirs = o.modelsDir?.length ? [...defaultModelDirs(), ...o.modelsDir] : undefined;
  const registry = new ModelRegistry({ dirs: modelDirs });
  // Resolve the models now: fail before decoding anything, and name them in the resume fingerprint.
  const { ops, options, models, frames, processorKey } = await resolveModelChain(
    registry,
    o.ops,
    {
      models: await modelsByOp(registry, o.model),
      renderSize: o.renderSize,
      scale: o.scale,
      saturation: o.saturation,
    },
    { film: true },
  );
  for (const { op, manifest } of models) log.info(`${op} with ${manifest.id}`);
  if (addsColour(ops) && !o.forceColour) {
    const reason = await filmColour(input, o);
    if (reason) {
      if (o.json)
        process.stdout.write(`${JSON.stringify({ input, output: o.output, skipped: true, reason })}\n`);
      else if (!o.quiet) process.stderr.write(`${colourSkipLine(input, reason)}\n`);
      return;
    }
  }

  if (o.farm && o.flicker)
    throw new VideoError(
      '--flicker measures frames in this process: it cannot be used with --farm',
      'BAD_ARGUMENT',
    );
  const workers = o.workers ?? 1;
  // A farm render processes no frame here: no engine pool, only the plan, the queue and the join.
  const pool = o.farm ? undefined : new EnginePool({ ep: o.ep, threads: o.threads, workers, modelDirs, log });
  const film: FilmSettings = {
    input: resolve(input),
    output: resolve(o.output),
    format: o.format,
    crf: o.crf,
    preset: o.preset,
    bitDepth: o.bitDepth,
    start: o.start,
    duration: o.duration,
    fps: o.fps,
    forceCfr: o.cfr,
    segmentSeconds: o.segmentSeconds,
    smoothChroma: o.smoothChroma,
    strict: !o.tolerateErrors,
  };
  const chain = { ops, options, frames, models, processorKey };
  const farmStats: FarmStats = { workers: {}, jobs: [] };
  // Loaded only for a farm render: BullMQ and ioredis cost every other run ~0.35 s of start-up.
  const farm = o.farm ? await import('../farm/video-farm') : undefined;
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  let bar: ProgressBar | undefined;
  let barTotal = 0;
  try {
    const result = await renderVideo({
      ...film,
      // Paths as given (messages name them so); the workers get them absolute.
      input,
      output: o.output,
      processor: pool ? filmProcessor(pool, chain) : farm!.farmProcessor(chain),
      processorKey,
      // A farm render resumes by itself: rerunning the command is how it continues.
      resume: o.resume || (o.farm !== undefined && !o.restart),
      restart: o.restart,
      overwrite: o.overwrite,
      measureFlicker: o.flicker,
      farm: o.farm
        ? farm!.videoFarm({
            redis: o.farm,
            chain,
            film,
            attempts: o.attempts,
            timeoutMs: o.farmTimeout !== undefined ? o.farmTimeout * 1000 : undefined,
            signal: ac.signal,
            onNote: (n) => log.info(n),
            stats: farmStats,
          })
        : undefined,
      // Two frames per worker keep every worker busy while the previous batch is encoded.
      batchSize: workers * 2,
      ffmpeg: { ffmpegPath: o.ffmpeg, ffprobePath: o.ffprobe },
      signal: ac.signal,
      onNote: (n) => log.info(n),
      onProgress: (p) => {
        if (o.quiet || o.json || p.stage !== 'rendering' || p.framesTotal === undefined) return;
        if (!bar || barTotal !== p.framesTotal) {
          bar = new ProgressBar(p.framesTotal);
          barTotal = p.framesTotal;
        }
        bar.update(p.framesDone, progressLine(p));
      },
    });
    bar?.done();
    // The models it ran (the film defaults when none was named), as a photo's result names them.
    const ran = { ...result, models: models.map((m) => m.manifest.id) };
    const report = o.farm ? { ...ran, farm: farmStats } : ran;
    if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (!o.quiet) {
      process.stderr.write(summary(result));
      const who = Object.entries(farmStats.workers);
      if (who.length)
        process.stderr.write(`farm: ${who.map(([w, n]) => `${w} rendered ${n}`).join(', ')} segments\n`);
    }
  } catch (err) {
    bar?.done();
    if (err instanceof VideoError && err.code === 'CANCELLED') {
      throw new VideoError(`interrupted: ${err.message}`, 'CANCELLED', err.file, err.progress);
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await pool?.close();
  }
}

export function registerVideoCommand(program: Command): void {
  addOpOptions(
    program
      .command('video')
      .description('colorize, restore or upscale a film (or a microscopy stack) frame by frame; resumable')
      .argument(
        '<input>',
        'video file, multi-page TIFF, folder of numbered images or a pattern like frames/f_%04d.tif',
      )
      .requiredOption(
        '-o, --output <path>',
        'output file (.mp4 .mkv .mov .tif), or a folder / %d pattern for png/tif frames',
      )
      .option('--ops <list>', opsHelp(), parseOps, ['colorize'] as OpName[]),
  )
    .addOption(
      new Option('--format <fmt>', 'output format (default: from the output name)').choices([
        ...VIDEO_FORMATS,
      ]),
    )
    .option(
      '--crf <n>',
      'H.264/H.265 quality, lower is better (default 18 / 20)',
      numberOption('crf', 0, 51, true),
    )
    .option('--preset <name>', 'x264/x265 speed preset (default medium)')
    .addOption(
      new Option('--bit-depth <n>', 'PNG/TIFF sample depth (default: as processed)')
        .choices(['8', '16'])
        .argParser((v) => Number(v) as 8 | 16),
    )
    .option('--start <seconds>', 'preview: start here', numberOption('start', 0, 1e7))
    .option('--duration <seconds>', 'preview: render only this long', numberOption('duration', 0.001, 1e7))
    .option('--fps <rate>', 'frame rate for image stacks and sequences (default 24), e.g. 10 or 30000/1001')
    .option('--resume', 'continue the unfinished render of this output')
    .option('--restart', 'discard an unfinished render of this output and start again')
    .option('--overwrite', 'replace an existing output')
    .option(
      '--segment-seconds <s>',
      'segment length: the most a crash can lose (default 10)',
      numberOption('segment length', 0.1, 3600),
    )
    .option('--smooth-chroma', 'temporal chroma smoothing against colour flicker (motion-adaptive)')
    .option('--flicker', 'measure colour flicker of the output and print it')
    .option('--tolerate-errors', 'conceal decoding errors and accept a short input instead of stopping')
    .option('--cfr', 'resample to a constant frame rate even if the input looks constant')
    .option(
      '--ffmpeg <path>',
      'ffmpeg binary (default: FFMPEG_PATH, the npm-shipped one, ffmpeg-static, PATH)',
    )
    .option(
      '--ffprobe <path>',
      'ffprobe binary (default: FFPROBE_PATH, beside ffmpeg, the npm-shipped one, PATH)',
    )
    .addOption(
      new Option('--ep <provider>', 'execution provider')
        .choices(['auto', 'cpu', 'cuda', 'dml', 'coreml'])
        .default('auto'),
    )
    .option('--threads <n>', 'CPU threads for inference', numberOption('threads', 1, 256, true))
    .option(
      '--workers <n>',
      'frames processed at once (each worker loads its own models)',
      numberOption('workers', 1, 16, true),
    )
    .option('--models-dir <dir>', 'extra folder of models (repeatable)', collect)
    .option('--json', 'print the result as JSON on stdout')
    .option('-q, --quiet', 'no progress bar or summary')
    .option(
      '--farm <redis-url>',
      'render the segments on farm workers ("tintype worker") through this Redis; rerunning resumes',
      checkRedisUrl,
    )
    .option(
      '--farm-timeout <s>',
      'with --farm: stop when Redis has not answered this long (default 30)',
      numberOption('farm timeout', 1, 86400),
    )
    .option(
      '--attempts <n>',
      'with --farm: tries per segment before it counts as failed (default 3)',
      numberOption('attempts', 1, 100, true),
    )
    .action(async (input: string, o: VideoCommandOptions) => runVideoCommand(input, o));
}
