import type { Manifest } from '../../shared/manifest';
import { TintypeError } from '../errors';

/** The square size the model actually runs at, checked against the manifest. */
export function effectiveRenderSize(m: Manifest, wanted?: number): number {
  const rs = m.renderSize!;
  if (m.size.kind === 'fixed') {
    if (wanted !== undefined && wanted !== m.size.value) {
      throw new TintypeError(
        `model "${m.id}" only runs at ${m.size.value} px; render size ${wanted} is not possible`,
        'BAD_ARGUMENT',
      );
    }
    return m.size.value;
  }
  const size = wanted ?? rs.default;
  if (!Number.isInteger(size) || size < rs.min || size > rs.max) {
    throw new TintypeError(
      `render size ${size} is outside ${rs.min}–${rs.max} px for model "${m.id}"`,
      'BAD_ARGUMENT',
    );
  }
  const k = m.size.multiple;
  return Math.max(k, Math.round(size / k) * k);
}
