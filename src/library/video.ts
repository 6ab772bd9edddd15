import {
  ModelRegistry,
  type Logger,
  defaultModelDirs,
  perFrame,
  perWindow,
  renderVideo,
  resolveModelChain,
  type FileResult,
  type ModelChain,
  type OpName,
  type OpOptions,
  type VideoProcessor,
} from '../engine/index';
import type { RenderEngine, VideoRenderer } from './engine';

/**
 * Films and stacks through the video pipeline, frame by frame on the engine pool. The library keeps
 * a lossless master (FFV1 in Matroska for films, a multi-page TIFF at the source depth for stacks)
 * and exports other formats from it. Renders are resumable: a job interrupted by a crash continues
 * from its last finished segment when the queue picks it up again.
 */
export function engineVideoRenderer(opts: { modelDirs?: string[]; log: Logger }): VideoRenderer {
  // A new one per job: it reads the defaults as they are now.
  const registry = () => new ModelRegistry({ dirs: opts.modelDirs ?? defaultModelDirs(), log: opts.log });

  /** The recipe's model chain and a frame processor running it on the engine pool. */
  async function framesThrough(
    job: { input: string; ops: OpName[]; options: OpOptions; signal?: AbortSignal },
    engine: RenderEngine,
  ): Promise<{ chain: ModelChain; processor: VideoProcessor }> {
    const processRaster = engine.processRaster?.bind(engine);
    if (!processRaster) throw new Error(`${job.input}: this engine cannot process frames`);
    // The queue names the file in any message that does not already.
    const chain = await resolveModelChain(registry(), job.ops, job.options, { film: true });
    const { ops, options, frames } = chain;
    const processor =
      frames === 3
        ? perWindow((w) => {
            if (!engine.processWindow) throw new Error(`${job.input}: this engine cannot run 3-frame models`);
            return engine.processWindow([w.frames[0], w.frames[1], w.frames[2]], ops, options, job.signal);
          })
        : perFrame((f) => processRaster(f, ops, options, job.signal));
    return { chain, processor };
  }

  return {
    async processVideo(job, engine, onProgress): Promise<FileResult> {
      const { chain, processor } = await framesThrough(job, engine);
      const { ops, processorKey } = chain;
      const models = chain.models.map((m) => m.manifest.id);
      const t0 = Date.now();
      const r = await renderVideo({
        input: job.input,
        output: job.output,
        format: job.kind === 'stack' ? 'tiff-stack' : 'mkv',
        processor,
        processorKey,
        resume: true,
        overwrite: true,
        signal: job.signal,
        onNote: (n) => opts.log.info(`video: ${n}`),
        onProgress: (p) => {
          if (p.framesTotal)
            onProgress?.({ fraction: p.framesDone / p.framesTotal, stage: p.stage, fps: p.fps });
        },
      });
      return {
        input: job.input,
        output: r.output,
        ok: true,
        ops,
        models,
        width: r.width,
        height: r.height,
        ms: Date.now() - t0,
        inferenceMs: r.processorMs,
      };
    },

    async renderClip(job, engine): Promise<{ frames: number; width: number; height: number }> {
      const { chain, processor } = await framesThrough(job, engine);
      // A preview: no resume journal worth keeping, H.264 so any Chromium plays it at once.
      const r = await renderVideo({
        input: job.input,
        output: job.output,
        format: 'mp4',
        processor,
        processorKey: chain.processorKey,
        overwrite: true,
        restart: true,
        signal: job.signal,
      });
      return { frames: r.frames, width: r.width, height: r.height };
    },

    async filmOptions(ops, options) {
      return (await resolveModelChain(registry(), ops, options, { film: true })).options;
    },

    async exportVideo(input, output, kind, format): Promise<void> {
      const target = format === 'frames' ? (kind === 'stack' ? 'tif' : 'png') : format;
      await renderVideo({
        input,
        output,
        format: target,
        // The master is already rendered: exporting re-encodes its frames unchanged.
        processor: perFrame(async (f) => f),
        processorKey: 'export',
        overwrite: true,
      });
    },
  };
}
