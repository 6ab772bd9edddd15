import { createHash } from 'node:crypto';
import type { FileResult, ModelChain, OutputFormat } from '../engine/index';
import { runFarmJobs } from './jobs';
import { chainPayload } from './models';
import { PhotoJobResultSchema } from './protocol';

/**
 * The coordinator of `tintype run <folder> … --farm`: one job per photo (or per small group, fewer
 * round trips for small files) for the outputs that do not exist yet; workers write each output
 * atomically beside the others on the shared storage. A rerun skips the outputs that are there, so
 * it resumes; a photo that fails is reported with its reason and the rest carries on.
 */

export interface PhotoFarmOptions {
  redis: string;
  chain: ModelChain;
  /** Absolute paths on the shared storage. */
  files: { input: string; output: string }[];
  /** Photos per job (default 1). */
  group?: number;
  format?: OutputFormat;
  overwrite?: boolean;
  watermark?: boolean;
  background?: string;
  attempts?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onNote?: (n: string) => void;
  /** Each photo's result as its job settles. */
  onResult: (r: FileResult & { worker?: string }) => void;
  /** Photos finished so far, summed over the workers (fractional while jobs run). */
  onProgress?: (done: number) => void;
}

export async function runPhotoFarm(o: PhotoFarmOptions): Promise<void> {
  const chain = chainPayload(o.chain);
  const group = Math.max(1, o.group ?? 1);
  const groups: PhotoFarmOptions['files'][] = [];
  for (let i = 0; i < o.files.length; i += group) groups.push(o.files.slice(i, i + group));
  const settings = JSON.stringify([chain.processorKey, o.format, o.overwrite, o.watermark, o.background]);
  const byId = new Map(
    groups.map((files) => [
      `photo-${createHash('sha256')
        .update(settings)
        .update(JSON.stringify(files))
        .digest('hex')
        .slice(0, 24)}`,
      files,
    ]),
  );
  const running = new Map<string, number>();
  let finished = 0;
  const tick = (): void => o.onProgress?.(finished + [...running.values()].reduce((a, b) => a + b, 0));
  await runFarmJobs({
    redis: o.redis,
    attempts: o.attempts,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onNote: o.onNote,
    jobs: [...byId].map(([id, files]) => ({
      id,
      data: {
        kind: 'photo',
        chain,
        files,
        format: o.format,
        overwrite: o.overwrite,
        watermark: o.watermark,
        background: o.background,
      },
    })),
    onProgress: (id, p) => {
      running.set(id, p.done);
      tick();
    },
    onCompleted: async (id, job) => {
      const files = byId.get(id)!;
      const r = PhotoJobResultSchema.safeParse(job.returnvalue);
      for (const f of files) {
        const got = r.success ? r.data.results.find((x) => x.input === f.input) : undefined;
        o.onResult(
          got
            ? { ...got, ops: o.chain.ops, worker: r.success ? r.data.worker : undefined }
            : {
                ...f,
                ok: false,
                ops: o.chain.ops,
                models: [],
                error: `${f.input}: the worker's result is unreadable`,
              },
        );
      }
      running.delete(id);
      finished += files.length;
      tick();
    },
    onFailed: async (id, job) => {
      const files = byId.get(id)!;
      for (const f of files)
        o.onResult({
          ...f,
          ok: false,
          ops: o.chain.ops,
          models: [],
          error: job.failedReason || `${f.input}: failed`,
        });
      running.delete(id);
      finished += files.length;
      tick();
    },
  });
}
