import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteRange } from '../../src/library/media';
import { mediaResponse } from '../../src/main/media-response';

/**
 * Byte ranges for media: the HTTP route and the desktop app's tintype-media:// handler answer
 * `Range` the same way, so a <video> can seek in either. The handler is plain web types (Request,
 * Response), so it runs here without Electron.
 */

describe('byte ranges', () => {
  it('reads the forms a browser sends and refuses ranges past the end', () => {
    expect(byteRange(undefined, 100)).toBeNull();
    expect(byteRange('bytes=0-', 100)).toEqual({ start: 0, end: 99 });
    expect(byteRange('bytes=10-19', 100)).toEqual({ start: 10, end: 19 });
    expect(byteRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
    expect(byteRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(byteRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(byteRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(byteRange('bytes=-0', 100)).toBe('unsatisfiable');
    // Forms not handled get the whole file, which is a valid answer to them.
    expect(byteRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(byteRange('bytes=20-10', 100)).toBeNull();
    expect(byteRange('items=0-1', 100)).toBeNull();
    expect(byteRange('bytes=-', 100)).toBeNull();
  });
});

describe('tintype-media:// answers', () => {
  let dir: string;
  let file: string;
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tintype-range-'));
    file = join(dir, 'clip.mp4');
    writeFileSync(file, bytes);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const resolve = (key: string) => (key === 'play/c-1.mp4' ? { path: file, contentType: 'video/mp4' } : null);
  const ask = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
    mediaResponse(new Request(url, { headers, method }), resolve);

  it('serves the whole file, a range of it, or 416 past its end', async () => {
    const all = await ask('tintype-media://media/play/c-1.mp4');
    expect(all.status).toBe(200);
    expect(all.headers.get('accept-ranges')).toBe('bytes');
    expect(all.headers.get('content-length')).toBe('1000');
    expect(new Uint8Array(await all.arrayBuffer())).toEqual(bytes);

    const part = await ask('tintype-media://media/play/c-1.mp4', { range: 'bytes=500-599' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 500-599/1000');
    expect(part.headers.get('content-type')).toBe('video/mp4');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(500, 600));

    const tail = await ask('tintype-media://media/play/c-1.mp4', { range: 'bytes=-3' });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.subarray(997));

    const past = await ask('tintype-media://media/play/c-1.mp4', { range: 'bytes=1000-' });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */1000');

    const head = await ask('tintype-media://media/play/c-1.mp4', {}, 'HEAD');
    expect([head.status, head.headers.get('content-length')]).toEqual([200, '1000']);
  });

  it('answers 404 for keys the library does not know and for other hosts', async () => {
    expect((await ask('tintype-media://media/play/other.mp4')).status).toBe(404);
    expect((await ask('tintype-media://elsewhere/play/c-1.mp4')).status).toBe(404);
    expect((await ask('tintype-media://media/%E0%A4%A')).status).toBe(404);
  });
});
