/**
 * The one way to turn anything thrown into words for people. Shared so the engine, the library,
 * the server and the renderer (which cannot import the engine) all say the same thing.
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
