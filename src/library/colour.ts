import { detectColour, detectFilmColour, errorMessage, resolveFfmpeg, type Logger } from '../engine/index';
import type { AssetKind, ColourVerdict } from '../shared/api';
import type { LibraryLayout } from './layout';
import type { AssetRow, Store } from './store';

/**
 * The engine's colour verdict for an imported file. Photos and stacks are measured on their display
 * copy (the same picture at ≤ 2048 px, already upright and sRGB: the detector shrinks to 128 px, so
 * nothing is lost and the original is not decoded twice); films on frames sampled across them.
 * Null when it cannot be measured (no display copy, no ffmpeg): then nothing is warned or skipped.
 */
export async function measureColour(
  a: { kind: AssetKind; path: string; view: string | null; durationSec: number | null },
  log: Logger,
): Promise<ColourVerdict | null> {
  try {
    if (a.kind === 'video') {
      const { ffmpeg } = await resolveFfmpeg();
      return await detectFilmColour(a.path, { ffmpeg, durationSec: a.durationSec });
    }
    return a.view ? await detectColour(a.view) : null;
  } catch (err) {
    log.warn(`colour check: ${errorMessage(err)}`);
    return null;
  }
}

/** Measures (and records) the assets among `rows` not measured yet: libraries imported before the check existed. */
export async function ensureColour(
  store: Store,
  layout: LibraryLayout,
  rows: readonly AssetRow[],
  log: Logger,
): Promise<void> {
  for (const r of rows) {
    if (r.colour !== null || r.problem) continue;
    const v = await measureColour(
      {
        kind: r.kind,
        path: layout.abs(r.path),
        view: r.view_path ? layout.abs(r.view_path) : null,
        durationSec: r.duration_sec,
      },
      log,
    );
    if (v) store.setColour(r.id, v);
  }
}
