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

port.on('message', async (req: WorkerRequest) => {
  try {
    if (req.kind === 'file') {
      const result = await engine.processFile(req.job, (event) =>
        post({ id: req.id, type: 'progress', event }),
      );
      post({ id: req.id, type: 'file', result });
    } else {
      const raster =
        req.kind === 'window'
          ? await engine.processWindow(req.frames, req.ops, req.options)
          : await engine.processRaster(req.raster, req.ops, req.options);
      post({ id: req.id, type: 'raster', raster }, [raster.data.buffer as ArrayBuffer]);
    }
  } catch (err) {
    post({
      id: req.id,
      type: 'error',
      message: errorMessage(err),
      code: err instanceof TintypeError ? err.code : undefined,
    });
  }
});
