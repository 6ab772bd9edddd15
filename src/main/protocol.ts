import { net, protocol } from 'electron';
import { pathToFileURL } from 'node:url';
import type { MediaFile } from '../library/media';
import { MEDIA_SCHEME } from '../shared/bridge';

/** Must run before the app is ready: the scheme behaves like https (secure, fetchable, streamable). */
export function registerMediaScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: MEDIA_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true },
    },
  ]);
}

/**
 * tintype-media://media/<key> → the library file the key names. The renderer never sees a path and
 * file:// stays closed to it; a key the library does not know is a 404.
 */
export function handleMediaScheme(resolve: (key: string) => MediaFile | null): void {
  protocol.handle(MEDIA_SCHEME, async (request) => {
    const url = new URL(request.url);
    const media = url.host === 'media' ? resolve(decodeURIComponent(url.pathname.replace(/^\/+/, ''))) : null;
    if (!media) return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
    const file = await net.fetch(pathToFileURL(media.path).toString());
    return new Response(file.body, {
      status: 200,
      headers: { 'content-type': media.contentType, 'cache-control': 'private, max-age=60' },
    });
  });
}
