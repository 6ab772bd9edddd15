import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { CatalogSchema } from '../../src/shared/catalog';
import type { Catalog, CatalogEntryInput } from '../../src/shared/catalog';
import { GraphBuilder } from '../../tools/onnx/builder';

/**
 * Test fixtures for the model manager: generated ONNX models and a local HTTP server that can
 * cut connections, answer 404, ignore Range, or stall. Nothing here reaches the internet.
 */

/** A tiny deterministic PRNG so generated weights are the same on every run. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A DeOldify-shaped model: input "input" [1,3,h,w] -> output [1,outChannels,h,w]. `padFloats`
 * random weights are folded in (multiplied by zero) so the file is big enough to cut half-way.
 */
export function colorizerModel(
  opts: { outChannels?: number; padFloats?: number; seed?: number; fixed?: number } = {},
): Uint8Array {
  const g = new GraphBuilder('fixture');
  const h: number | string = opts.fixed ?? 'h';
  const w: number | string = opts.fixed ?? 'w';
  const x = g.input('input', [1, 3, h, w]);
  const rnd = seeded(opts.seed ?? 1);
  const pad = g.constant(
    Float32Array.from({ length: opts.padFloats ?? 16_384 }, () => rnd()),
    [opts.padFloats ?? 16_384],
  );
  const zero = g.node('Mul', [g.node('ReduceSum', [pad], { keepdims: 0 }), g.constant([0], [])]);
  let y = g.node('Add', [x, zero]);
  const outC = opts.outChannels ?? 3;
  if (outC !== 3) {
    // Keep the first outC channels.
    y = g.node('Slice', [y, g.int64([0]), g.int64([outC]), g.int64([1])]);
  }
  g.node('Identity', [y], {}, ['output']);
  g.output('output', [1, outC, h, w]);
  return g.encode();
}

export const sha256Of = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const crc32Of = (b: Uint8Array): string => (crc32(b) >>> 0).toString(16).padStart(8, '0');

export interface Route {
  body: Uint8Array | string;
  status?: number;
  /** Close the connection after this many body bytes, for the first `cutTimes` requests. */
  cutAfter?: number;
  cutTimes?: number;
  /** Send this many bytes, then stop sending (connection left open) until `release()`. */
  stallAfter?: number;
  /** Answer Range requests with the whole file (200), as some servers do. */
  ignoreRange?: boolean;
  etag?: string;
}

export interface RequestLog {
  path: string;
  method: string;
  range: string | undefined;
  ifRange: string | undefined;
}

export interface TestServer {
  url: (path: string) => string;
  routes: Map<string, Route>;
  log: RequestLog[];
  /** Lets stalled responses finish their body. */
  release(): void;
  close(): Promise<void>;
}

export async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const log: RequestLog[] = [];
  const served = new Map<string, number>();
  const stalled: (() => void)[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    log.push({
      path,
      method: req.method ?? 'GET',
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
    });
    const route = table.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (route.status && route.status !== 200) {
      res.writeHead(route.status, { 'content-type': 'text/plain' }).end(`status ${route.status}`);
      return;
    }
    const body = typeof route.body === 'string' ? Buffer.from(route.body) : Buffer.from(route.body);
    const etag = route.etag ?? `"${sha256Of(body).slice(0, 16)}"`;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (m && !route.ignoreRange && (!ifRange || ifRange === etag)) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        etag,
        'accept-ranges': 'bytes',
      });
    } else {
      res.writeHead(200, { 'content-length': body.length, etag, 'accept-ranges': 'bytes' });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const part = body.subarray(start);
    const count = (served.get(path) ?? 0) + 1;
    served.set(path, count);
    if (route.cutAfter !== undefined && count <= (route.cutTimes ?? 1)) {
      // Give the client time to read what was sent: the cut should land after those bytes.
      res.write(part.subarray(0, route.cutAfter), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    if (route.stallAfter !== undefined && count === 1) {
      res.write(part.subarray(0, route.stallAfter));
      stalled.push(() => res.end(part.subarray(route.stallAfter)));
      return;
    }
    res.end(part);
  };

  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    routes: table,
    log,
    release: () => stalled.splice(0).forEach((fn) => fn()),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: connections to it are refused. */
export async function refusedUrl(path: string): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}

/** A catalog entry with DeOldify's conventions pointing at the given URLs. */
export function entry(
  id: string,
  sources: { url: string; crc32Url?: string }[],
  extra: Partial<CatalogEntryInput> = {},
): CatalogEntryInput {
  return {
    id,
    name: `Test ${id}`,
    task: 'colorize',
    license: 'MIT',
    homepage: 'https://example.org/upstream',
    publisher: 'test fixture',
    sources,
    conventions: {
      input: { name: 'input', layout: 'NCHW', channels: 3, range: [0, 255], normalization: null },
      size: { kind: 'dynamic', multiple: 16 },
      output: { layout: 'NCHW', kind: 'rgb', range: [0, 255] },
      scale: 1,
      renderSize: { default: 256, min: 192, max: 512 },
    },
    ...extra,
  };
}

export const catalogOf = (...entries: CatalogEntryInput[]): Catalog =>
  CatalogSchema.parse({ version: 1, entries });

export interface ConventionSpec {
  layout?: 'NCHW' | 'NHWC';
  inChannels?: 1 | 3;
  inRange: [number, number];
  out: 'rgb' | 'grey' | 'ab';
  outRange: [number, number];
  /** Colour added to the RGB output (a DeOldify-like colorizer); 0 for a restorer. */
  tint?: number;
  fixed?: number;
  /** Dynamic sizes must be a multiple of this (SpaceToDepth/DepthToSpace make others fail). */
  multiple?: number;
  scale?: number;
}

/**
 * A model with known conventions that behaves like a trained network: it maps its own input range
 * onto a picture through a non-linear (sigmoid/tanh) curve, so an input in another range comes out
 * flat or saturated, as a real network's would.
 */
export function conventionModel(spec: ConventionSpec): Uint8Array {
  const g = new GraphBuilder('convention');
  const layout = spec.layout ?? 'NCHW';
  const cin = spec.inChannels ?? 3;
  const h: number | string = spec.fixed ?? 'h';
  const w: number | string = spec.fixed ?? 'w';
  const x = g.input('input', layout === 'NCHW' ? [1, cin, h, w] : [1, h, w, cin]);
  let t = layout === 'NHWC' ? g.node('Transpose', [x], { perm: [0, 3, 1, 2] }) : x;
  const m = spec.multiple ?? 1;
  if (m > 1) t = g.node('DepthToSpace', [g.node('SpaceToDepth', [t], { blocksize: m })], { blocksize: m });
  const [lo, hi] = spec.inRange;
  const u = g.node('Mul', [g.node('Sub', [t, g.constant([lo], [])]), g.constant([1 / (hi - lo)], [])]);
  const grey = g.node('ReduceMean', [u], { axes: [1], keepdims: 1 });
  const centred = g.node('Sub', [grey, g.constant([0.5], [])]);
  let y: string;
  let outC: number;
  if (spec.out === 'ab') {
    const a = g.node('Mul', [
      g.node('Tanh', [g.node('Mul', [centred, g.constant([3], [])])]),
      g.constant([spec.outRange[1] * 0.45], []),
    ]);
    const b = g.node('Mul', [a, g.constant([-0.5], [])]);
    y = g.node('Concat', [a, b], { axis: 1 });
    outC = 2;
  } else {
    const s0 = 1 / (1 + Math.exp(2));
    const s1 = 1 / (1 + Math.exp(-2));
    const sig = g.node('Sigmoid', [g.node('Mul', [centred, g.constant([4], [])])]);
    const curve = g.node('Mul', [
      g.node('Sub', [sig, g.constant([s0], [])]),
      g.constant([1 / (s1 - s0)], []),
    ]);
    const [olo, ohi] = spec.outRange;
    let img = g.node('Add', [g.node('Mul', [curve, g.constant([ohi - olo], [])]), g.constant([olo], [])]);
    outC = spec.out === 'rgb' ? 3 : 1;
    if (outC === 3) {
      img = g.node('Concat', [img, img, img], { axis: 1 });
      const tint = (spec.tint ?? 0) * (ohi - olo);
      if (tint) img = g.node('Add', [img, g.constant([tint, 0, -tint], [1, 3, 1, 1])]);
    }
    y = img;
  }
  const s = spec.scale ?? 1;
  if (s > 1) y = g.node('Resize', [y, '', g.constant([1, 1, s, s], [4])], { mode: 'nearest' });
  if (layout === 'NHWC') y = g.node('Transpose', [y], { perm: [0, 2, 3, 1] });
  g.node('Identity', [y], {}, ['output']);
  const oh: number | string = spec.fixed ? spec.fixed * s : 'oh';
  const ow: number | string = spec.fixed ? spec.fixed * s : 'ow';
  g.output('output', layout === 'NCHW' ? [1, outC, oh, ow] : [1, oh, ow, outC]);
  return g.encode();
}
