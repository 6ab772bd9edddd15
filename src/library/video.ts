import {
  ModelRegistry,
  type Logger,
  defaultModelDirs,
  perFrame,
  perWindow,
  renderVideo,
  type FileResult,
} from '../engine/index';
import type { VideoRenderer } from './engine';
import { PIPELINE_ORDER } from './recipe';

/**
 * Films and stacks through the video pipeline, frame by frame on the engine pool. The library keeps
 * a lossless master (FFV1 in Matroska for films, a multi-page TIFF at the source depth for stacks)
 * and exports other formats from it. Renders are resumable: a job interrupted by a crash continues
 * from its last finished segment when the queue picks it up again.
 */
export function engineVideoRenderer(opts: { modelDirs?: string[]; log: Logger }): VideoRenderer {
  return {
    async processVideo(job, engine, onProgress): Promise<FileResult> {
      const processRaster = engine.processRaster?.bind(engine);
      if (!processRaster) throw new Error(`${job.input}: this engine cannot process frames`);
      const ops = PIPELINE_ORDER.filter((op) => job.ops.includes(op));
      const registry = new ModelRegistry({ dirs: opts.modelDirs ?? defaultModelDirs(), log: opts.log });
      const key: string[] = [];
      const models: string[] = [];
      let frames: 1 | 3 = 1;
      for (const [i, op] of ops.entries()) {
        const m = await registry.resolve(op, {
          id: job.options.models?.[op],
          scale: job.options.scale ?? (op === 'upscale' ? 4 : undefined),
        });
        if (m.input.frames === 3) {
          // Only the first operation sees real neighbouring frames; later ones get processed frames.
          if (i > 0) throw new Error(`${job.input}: 3-frame model "${m.id}" must be the first operation`);
          frames = 3;
        }
        key.push(`${op}:${m.id}@${m.version}#${m.sha256.slice(0, 12)}`);
        models.push(m.id);
      }
      key.push(
        `renderSize=${job.options.renderSize ?? 'default'}`,
        `saturation=${job.options.saturation ?? 1}`,
        `scale=${job.options.scale ?? 1}`,
      );
      const t0 = Date.now();
      const options = {
        ...job.options,
        scale: job.options.scale ?? (ops.includes('upscale') ? 4 : undefined),
      };
      const r = await renderVideo({
        input: job.input,
        output: job.output,
        format: job.kind === 'stack' ? 'tiff-stack' : 'mkv',
        processor:
          frames === 3
            ? perWindow((w) => {
                if (!engine.processWindow)
                  throw new Error(`${job.input}: this engine cannot run 3-frame models`);
                return engine.processWindow(
                  [w.frames[0], w.frames[1], w.frames[2]],
                  ops,
                  options,
                  job.signal,
                );
              })
            : perFrame((f) => processRaster(f, ops, options, job.signal)),
        processorKey: key.join(' '),
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
