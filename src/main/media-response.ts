import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { mediaHeaders, type MediaFile } from '../library/media';

/**
 * The answer to a tintype-media://media/<key> request, with byte ranges: a <video> seeks by asking
 * for ranges, and net.fetch of a file:// URL does not honour them. Plain Node and web types, no
 * Electron, so the tests call it directly; protocol.ts hands it the requests.
 */
export async function mediaResponse(
  request: Pick<Request, 'url' | 'method' | 'headers'>,
  resolve: (key: string) => MediaFile | null,
): Promise<Response> {
  const notFound = () =>
    new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return notFound();
  }
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  } catch {
    return notFound();
  }
  const media = url.host === 'media' ? resolve(key) : null;
  if (!media) return notFound();
  const size = (await stat(media.path)).size;
  const answer = mediaHeaders(media, size, request.headers.get('range'));
  if (answer.status === 416 || request.method === 'HEAD')
    return new Response(null, { status: answer.status, headers: answer.headers });
  const body = Readable.toWeb(createReadStream(media.path, answer.range ?? {})) as ReadableStream<Uint8Array>;
  return new Response(body, { status: answer.status, headers: answer.headers });
}
