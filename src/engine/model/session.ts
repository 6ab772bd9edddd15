import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { errorMessage, fileError, TintypeError } from '../errors';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type { LoadedManifest } from '../models/manifest-io';
import type { ExecutionProviderChoice } from '../types';

export type ConcreteEp = Exclude<ExecutionProviderChoice, 'auto'>;

/** GPU providers worth trying on this platform, best first. */
export function gpuCandidates(platform: NodeJS.Platform = process.platform): ConcreteEp[] {
  if (platform === 'win32') return ['cuda', 'dml'];
  if (platform === 'darwin') return ['coreml'];
  if (platform === 'linux') return ['cuda'];
  return [];
}

export interface LoadedModel {
  manifest: LoadedManifest;
  session: ort.InferenceSession;
  ep: ConcreteEp;
  inputName: string;
  outputName: string;
}

export interface SessionCacheOptions {
  ep?: ExecutionProviderChoice;
  /** Threads ONNX Runtime may use inside one inference (intra-op). */
  intraOpThreads?: number;
  log?: Logger;
  /** For tests: replaces ort.InferenceSession.create. */
  create?: (model: Uint8Array, opts: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
}

/**
 * Sessions are expensive (graph optimization, weight packing), so they are cached per
 * (model, execution provider). `auto` tries the GPU providers this platform's binary may have and
 * falls back to CPU with one log line saying why; a forced provider that fails is an error.
 */
export class SessionCache {
  private readonly cache = new Map<string, Promise<LoadedModel>>();
  private readonly log: Logger;
  private readonly ep: ExecutionProviderChoice;
  private readonly create: NonNullable<SessionCacheOptions['create']>;
  private readonly fallbackLogged = new Set<string>();
  /** Providers that already failed to load in this process: not retried for every model. */
  private static readonly unavailable = new Map<ConcreteEp, string>();

  constructor(private readonly opts: SessionCacheOptions = {}) {
    this.log = opts.log ?? silentLogger;
    this.ep = opts.ep ?? 'auto';
    this.create = opts.create ?? ((model, o) => ort.InferenceSession.create(model, o));
  }

  get(manifest: LoadedManifest): Promise<LoadedModel> {
    const key = `${manifest.modelPath}|${this.ep}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.load(manifest);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private sessionOptions(ep: ConcreteEp): ort.InferenceSession.SessionOptions {
    const o: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      graphOptimizationLevel: 'all',
      interOpNumThreads: 1,
      // Idle inference threads sleep instead of spinning for the next run: between frames and photos
      // the spinning burnt a core that ffmpeg's encoder and sharp wanted (film SD, near-zero model:
      // 20 ms of CPU a frame), and on a busy machine it only took time from others (U-Net at 280 px,
      // loaded: same wall time, 12 % less CPU).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    };
    if (this.opts.intraOpThreads) o.intraOpNumThreads = this.opts.intraOpThreads;
    return o;
  }

  private async load(manifest: LoadedManifest): Promise<LoadedModel> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(manifest.modelPath);
    } catch (err) {
      throw fileError(manifest.modelPath, 'model file not found', 'MODEL_NOT_FOUND', err);
    }
    const tryEp = async (ep: ConcreteEp): Promise<ort.InferenceSession> =>
      this.create(bytes, this.sessionOptions(ep));
    let session: ort.InferenceSession | undefined;
    let ep: ConcreteEp = 'cpu';
    if (this.ep === 'auto') {
      const reasons: string[] = [];
      for (const candidate of gpuCandidates()) {
        const known = SessionCache.unavailable.get(candidate);
        if (known) {
          reasons.push(`${candidate}: ${known}`);
          continue;
        }
        try {
          session = await quietly(() => tryEp(candidate));
          ep = candidate;
          break;
        } catch (err) {
          const why = shortReason(err);
          SessionCache.unavailable.set(candidate, why);
          reasons.push(`${candidate}: ${why}`);
        }
      }
      if (!session && reasons.length > 0) {
        const line = `GPU execution provider unavailable (${reasons.join('; ')}); running on CPU`;
        if (!this.fallbackLogged.has(line)) {
          this.fallbackLogged.add(line);
          this.log.info(line);
        }
      }
    } else if (this.ep !== 'cpu') {
      try {
        session = await tryEp(this.ep);
        ep = this.ep;
      } catch (err) {
        throw new TintypeError(
          `execution provider "${this.ep}" is not available: ${errorMessage(err).split('\n')[0]}`,
          'EP_UNAVAILABLE',
          manifest.modelPath,
          { cause: err },
        );
      }
    }
    if (!session) {
      try {
        session = await tryEp('cpu');
      } catch (err) {
        throw fileError(
          manifest.modelPath,
          `not a valid ONNX model (${errorMessage(err).split('\n')[0]})`,
          'BAD_MODEL',
          err,
        );
      }
    }
    const loaded: LoadedModel = {
      manifest,
      session,
      ep,
      inputName: manifest.input.name ?? session.inputNames[0],
      outputName: manifest.output.name ?? session.outputNames[0],
    };
    checkShapes(loaded);
    return loaded;
  }
}

/** ONNX Runtime logs a failed provider load at error level on stderr; the fallback line says it better. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const before = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  try {
    return await fn();
  } finally {
    ort.env.logLevel = before;
  }
}

/** The useful part of a provider error, e.g. the library that failed to load. */
function shortReason(err: unknown): string {
  const msg = errorMessage(err).split('\n')[0];
  const lib = /Failed to load library (\S+)/.exec(msg);
  if (lib) return `its library ${lib[1].split('/').pop()} is not installed`;
  return msg.length > 200 ? `${msg.slice(0, 200)}…` : msg;
}

type Meta = { name: string; isTensor: boolean; shape?: ReadonlyArray<number | string>; type?: string };

/** The model's declared input/output must fit its manifest; otherwise say exactly how it doesn't. */
function checkShapes(m: LoadedModel): void {
  const { manifest, session } = m;
  const where = manifest.modelPath;
  if (!session.inputNames.includes(m.inputName)) {
    throw fileError(
      where,
      `model has no input "${m.inputName}" (it has ${session.inputNames.join(', ')})`,
      'MODEL_SHAPE',
    );
  }
  if (!session.outputNames.includes(m.outputName)) {
    throw fileError(
      where,
      `model has no output "${m.outputName}" (it has ${session.outputNames.join(', ')})`,
      'MODEL_SHAPE',
    );
  }
  const metas = (session as unknown as { inputMetadata?: Meta[] }).inputMetadata;
  const meta = metas?.find((x) => x.name === m.inputName);
  if (!meta?.shape) return;
  const shape = meta.shape;
  const describe = `[${shape.join(', ')}]`;
  if (shape.length !== 4) {
    throw fileError(
      where,
      `input "${m.inputName}" has shape ${describe}; the manifest expects a 4-D image tensor`,
      'MODEL_SHAPE',
    );
  }
  if (meta.type && meta.type !== 'float32') {
    throw fileError(where, `input "${m.inputName}" is ${meta.type}; Tintype feeds float32`, 'MODEL_SHAPE');
  }
  const nchw = manifest.input.layout === 'NCHW';
  const c = nchw ? shape[1] : shape[3];
  const h = nchw ? shape[2] : shape[1];
  const w = nchw ? shape[3] : shape[2];
  const channels = manifest.input.channels * manifest.input.frames;
  if (typeof c === 'number' && c !== channels) {
    throw fileError(
      where,
      `input shape ${describe} has ${c} channels where the manifest (${manifest.input.layout}, ${manifest.input.channels} channel(s) × ${manifest.input.frames} frame(s)) expects ${channels}`,
      'MODEL_SHAPE',
    );
  }
  if (manifest.size.kind === 'fixed') {
    for (const d of [h, w]) {
      if (typeof d === 'number' && d !== manifest.size.value) {
        throw fileError(
          where,
          `input shape ${describe} is not the fixed size ${manifest.size.value} its manifest states`,
          'MODEL_SHAPE',
        );
      }
    }
  } else {
    for (const d of [h, w]) {
      if (typeof d === 'number' && d > 0) {
        throw fileError(
          where,
          `input shape ${describe} is fixed but the manifest says dynamic size`,
          'MODEL_SHAPE',
        );
      }
    }
  }
}
