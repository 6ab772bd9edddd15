import { protocol } from 'electron';
import type { MediaFile } from '../library/media';
import { MEDIA_SCHEME } from '../shared/bridge';
import { mediaResponse } from './media-response';

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
 * tintype-media://media/<key> → the library file the key names, with byte ranges for <video>. The
 * renderer never sees a path and file:// stays closed to it; a key the library does not know is a 404.
 */
export function handleMediaScheme(resolve: (key: string) => MediaFile | null): void {
  protocol.handle(MEDIA_SCHEME, (request) => mediaResponse(request, resolve));
}
