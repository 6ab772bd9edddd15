import type { CatalogErrorCode } from '../../shared/catalog';

/** A model-manager failure the user can act on: plain words, plus a stable code for the app and --json. */
export class CatalogError extends Error {
  constructor(
    message: string,
    readonly code: CatalogErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CatalogError';
  }
}

export function isCatalogError(err: unknown, code?: CatalogErrorCode): err is CatalogError {
  return err instanceof CatalogError && (code === undefined || err.code === code);
}

export function errnoCode(err: unknown): string | undefined {
  let e: unknown = err;
  // fetch wraps socket errors: TypeError('fetch failed') -> cause (Error with .code) -> maybe another cause.
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    // Happy-eyeballs connects (IPv6 then IPv4) fail with an AggregateError of per-address errors.
    const inner = (e as { errors?: unknown }).errors;
    e = (e as { cause?: unknown }).cause ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
