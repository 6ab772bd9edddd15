import { app, shell, type Session, type WebContents } from 'electron';

/**
 * The renderer shows local photos and nothing else: no navigation away from the app, no new windows,
 * no webviews, no permissions, and no network requests except the dev server during development.
 */
export function hardenSession(ses: Session, devServer: string | null): void {
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'notifications'));
  ses.setPermissionCheckHandler((_wc, permission) => permission === 'notifications');
  ses.webRequest.onBeforeRequest(
    { urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] },
    (details, callback) => {
      const allowed =
        devServer !== null &&
        (details.url.startsWith(devServer) || details.url.startsWith(devServer.replace(/^http/, 'ws')));
      callback({ cancel: !allowed });
    },
  );
}

export function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (url !== contents.getURL()) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Links to documentation open in the user's browser, never inside the app.
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

export function hardenApp(): void {
  app.on('web-contents-created', (_e, contents) => hardenContents(contents));
}
