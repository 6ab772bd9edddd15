export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '–';
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A film's length as players show it, "0:04", "12:30", "1:02:03": badges print in capitals, where
 * "4s" would read "4S", which looks like 45.
 */
export function formatFilmLength(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '–';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function formatRate(perSec: number | null | undefined): string {
  if (!perSec) return '–';
  return perSec >= 1 ? `${perSec.toFixed(1)} items/s` : `${(perSec * 60).toFixed(1)} items/min`;
}

/** DeOldify's render_factor for a render size in px. */
export function renderFactor(size: number): string {
  const f = size / 16;
  return Number.isInteger(f) ? String(f) : f.toFixed(1);
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "1 item", "3 items": a count with its noun (plural: the noun + "s" unless given). */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}

/**
 * A model's name for a select field, split so the field shows the short part and its list shows the
 * rest: "Tintype Colorize (pretrained MobileNetV2 encoder, CPU-trained)" would be cut to "Tinty…"
 * in a field 200 px wide.
 */
export function modelNameParts(name: string): { short: string; detail: string | null } {
  const m = /^(.+?)\s*\((.+)\)\s*$/.exec(name);
  return m ? { short: m[1], detail: m[2] } : { short: name, detail: null };
}
