import '@mantine/core/styles.css';
import { createTheme, MantineProvider } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { TintypeBridge } from '../../shared/bridge';
import { App } from './App';
import type { ApiClient } from './api/client';
import { ApiProvider } from './api/context';
import { HttpClient, takeToken } from './api/http';
import { IpcClient } from './api/ipc';
import { ToastProvider } from './components/Toasts';

declare global {
  interface Window {
    tintype?: TintypeBridge;
  }
}

const theme = createTheme({
  primaryColor: 'orange',
  defaultRadius: 'md',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
});

/** The desktop app's preload provides window.tintype; a browser gets its token from the URL. */
function pickClient(): ApiClient | null {
  if (window.tintype) return new IpcClient(window.tintype);
  const token = takeToken();
  return token ? new HttpClient(token) : null;
}

const client = pickClient();
const root = createRoot(document.getElementById('root')!);
root.render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="auto">
      {client ? (
        <ApiProvider value={client}>
          <ToastProvider>
            <App />
          </ToastProvider>
        </ApiProvider>
      ) : (
        <p style={{ padding: 24, fontFamily: 'system-ui' }}>
          This page needs the link printed by <code>tintype serve</code> (it carries the access token).
        </p>
      )}
    </MantineProvider>
  </StrictMode>,
);
