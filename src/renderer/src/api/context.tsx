import { createContext, useContext, useEffect, useRef } from 'react';
import type { ApiEvent } from '../../../shared/bridge';
import type { ApiClient } from './client';

const ApiContext = createContext<ApiClient | null>(null);
export const ApiProvider = ApiContext.Provider;

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}

/** Subscribes for the component's lifetime; the latest callback is always the one called. */
export function useApiEvent(listener: (e: ApiEvent) => void): void {
  const api = useApi();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => api.subscribe((e) => ref.current(e)), [api]);
}
