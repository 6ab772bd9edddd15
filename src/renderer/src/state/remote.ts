import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiEvent } from '../../../shared/bridge';
import { errorMessage } from '../../../shared/errors';
import { useApiEvent } from '../api/context';

export interface Remote<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads data from the backend and reloads it when an event says it changed. Reloads triggered by
 * bursts of events are coalesced (one in flight, at most one more queued).
 */
export function useRemote<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  refreshOn?: (e: ApiEvent) => boolean,
): Remote<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const inFlight = useRef(false);
  const again = useRef(false);

  const run = useCallback(() => {
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    const gen = generation.current;
    setLoading(true);
    loadRef
      .current()
      .then(
        (d) => {
          if (gen === generation.current) {
            setData(d);
            setError(null);
          }
        },
        (err: unknown) => {
          if (gen === generation.current) setError(errorMessage(err));
        },
      )
      .finally(() => {
        inFlight.current = false;
        setLoading(false);
        if (again.current) {
          again.current = false;
          run();
        }
      });
  }, []);

  useEffect(() => {
    generation.current++;
    inFlight.current = false;
    again.current = false;
    setData(undefined);
    run();
  }, deps);

  useApiEvent((e) => {
    if (refreshOn?.(e)) run();
  });

  return { data, error, loading, reload: run };
}
