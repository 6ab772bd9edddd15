import { parentPort, workerData } from 'node:worker_threads';
import { Engine } from '../engine';
import { errorMessage, TintypeError } from '../errors';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol';

// One Engine per thread: its ONNX sessions stay warm across jobs.
const port = parentPort!;
const post = (msg: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const engine = new Engine({
  ...(workerData as WorkerInit),
  log: {
    info: (message) => post({ id: -1, type: 'log', level: 'info', message }),
    warn: (message) => post({ id: -1, type: 'log', level: 'warn', message }),
  },
});

/** Requests in progress, by id, so a 'cancel' message can reach the one it names. */
const running = new Map<number, AbortController>();

port.on('message', async (req: WorkerRequest) => {
  if (req.kind === 'cancel') {
    running.get(req.id)?.abort();
    return;
  }
  const abort = new AbortController();
  running.set(req.id, abort);
  try {
    if (req.kind === 'file') {
      const result = await engine.processFile(
        req.job,
        (event) => post({ id: req.id, type: 'progress', event }),
        abort.signal,
      );
      post({ id: req.id, type: 'file', result });
    } else if (req.kind === 'luma') {
      const planes = await engine.colorizeLuma(req.frame, req.options);
      post({ id: req.id, type: 'chroma', planes }, [
        planes.u.buffer as ArrayBuffer,
        planes.v.buffer as ArrayBuffer,
      ]);
    } else {
      const raster = (
        await engine.run(
          req.kind === 'window' ? req.frames[1] : req.raster,
          req.ops,
          req.options,
          undefined,
          req.kind === 'window' ? [req.frames[0], req.frames[2]] : undefined,
          undefined,
          abort.signal,
        )
      ).raster;
      post({ id: req.id, type: 'raster', raster }, [raster.data.buffer as ArrayBuffer]);
    }
  } catch (err) {
    post({
      id: req.id,
      type: 'error',
      message: errorMessage(err),
      code: err instanceof TintypeError ? err.code : undefined,
    });
  } finally {
    running.delete(req.id);
  }
});
