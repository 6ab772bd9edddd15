import '@mantine/core/styles.css';
import {
  Badge,
  createTheme,
  darken,
  MantineProvider,
  Modal,
  Notification,
  type CSSVariablesResolver,
} from '@mantine/core';
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
  components: {
    // Mantine's xs badge is 9 px: too small to read.
    Badge: Badge.extend({ defaultProps: { size: 'sm' } }),
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss' } },
      styles: { description: { color: 'var(--mantine-color-dimmed)' } },
    }),
  },
});

/**
 * Text contrast of at least 4.5:1 (WCAG AA), which Mantine's stock shades miss: white on the orange
 * primary is 2.6:1, grey helper text and red errors 3.3:1. Filled colours (and coloured text) are the
 * darkest shade darkened a quarter, light-variant text a third; helper text is a darker grey.
 */
const contrast: CSSVariablesResolver = (t) => {
  const vars = (scheme: 'light' | 'dark') =>
    Object.fromEntries(
      Object.entries(t.colors).flatMap(([name, shades]) => {
        const filled = darken(shades[9], 0.25);
        return [
          [`--mantine-color-${name}-filled`, filled],
          [`--mantine-color-${name}-filled-hover`, darken(shades[9], 0.4)],
          ...(scheme === 'light'
            ? [
                [`--mantine-color-${name}-text`, filled],
                [`--mantine-color-${name}-light-color`, darken(shades[9], 0.3)],
                [`--mantine-color-${name}-outline`, filled],
              ]
            : []),
        ];
      }),
    );
  return {
    variables: {},
    light: { ...vars('light'), '--mantine-color-dimmed': t.colors.gray[7] },
    dark: { ...vars('dark'), '--mantine-color-dimmed': t.colors.dark[1] },
  };
};

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
    <MantineProvider theme={theme} defaultColorScheme="auto" cssVariablesResolver={contrast}>
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
