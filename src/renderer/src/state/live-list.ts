/**
 * A list shown live: a snapshot fetched from the backend, overlaid with the full objects that events
 * carry. A snapshot can answer after events that are newer than it (or several snapshots can answer out
 * of order), so an event's object wins over any snapshot whose request started before the event came.
 */

export interface Stamped<T> {
  value: T;
  /** When it arrived, on the clock of `tick`. */
  at: number;
}

let clock = 0;
/** A strictly increasing stamp: taken when a snapshot is requested and when an event arrives. */
export function tick(): number {
  return ++clock;
}

/** The snapshot's items, replaced or joined by the events that arrived after its request started. */
export function mergeLive<T extends { id: number }>(
  snapshot: readonly T[] | undefined,
  snapshotAt: number,
  live: ReadonlyMap<number, Stamped<T>>,
): Map<number, T> {
  const out = new Map<number, T>((snapshot ?? []).map((x) => [x.id, x]));
  for (const [id, s] of live) if (s.at > snapshotAt) out.set(id, s.value);
  return out;
}

/** Drops the events a snapshot has superseded, so the overlay does not grow for the whole session. */
export function pruneLive<T>(
  live: ReadonlyMap<number, Stamped<T>>,
  snapshotAt: number,
): Map<number, Stamped<T>> {
  return new Map([...live].filter(([, s]) => s.at > snapshotAt));
}
