import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  Notification,
  session,
  type WebContents,
  type WebFrameMain,
} from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { userDataDir } from '../engine/index';
import { openBackend } from '../library/backend';
import { serviceHandlers } from '../library/dispatch';
import { fileLogger } from '../library/log';
import { LoopLag } from '../library/loop-lag';
import type { LibraryService } from '../library/service';
import { IPC_EVENT, type MenuAction } from '../shared/bridge';
import { desktopHandlers } from './dialogs';
import { registerDragOut, renderDragFile } from './drag';
import { forwardEvents, registerIpc } from './ipc';
import { buildMenu } from './menu';
import { DesktopProgress } from './progress';
import { handleMediaScheme, registerMediaScheme } from './protocol';
import { hardenApp, hardenSession } from './security';

// The same per-user folder the CLI and the server use (engine/models/paths), so all three share
// settings, models and the library.
app.setName('Tintype');
app.setPath('userData', userDataDir());
registerMediaScheme();
app.enableSandbox();
hardenApp();

const devServer = process.env.ELECTRON_RENDERER_URL ?? null;
const rendererFile = join(import.meta.dirname, '../renderer/index.html');
const rendererUrl = devServer ?? pathToFileURL(rendererFile).toString();

let win: BrowserWindow | null = null;
let service: LibraryService | null = null;
let closed = false;

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1360,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Tintype',
    backgroundColor: '#1a1b1e',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  });
  w.once('ready-to-show', () => w.show());
  w.on('closed', () => {
    if (win === w) win = null;
  });
  if (devServer) void w.loadURL(devServer);
  else void w.loadFile(rendererFile);
  return w;
}

/** Only our own page, in our own window, may call the backend or start a drag. */
function fromOurPage(e: { sender: WebContents; senderFrame: WebFrameMain | null }): boolean {
  return e.sender === win?.webContents && (e.senderFrame?.url ?? '').startsWith(rendererUrl.split('#')[0]);
}

/** An OS notification; clicking it brings the window back. */
function notify(n: { title: string; body: string }): void {
  if (!Notification.isSupported()) return;
  const note = new Notification({ title: n.title, body: n.body });
  note.on('click', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  });
  note.show();
}

async function start(): Promise<void> {
  const dataDir = app.getPath('userData');
  const logFile = join(dataDir, 'logs', 'main.log');
  const log = fileLogger(logFile, !app.isPackaged);
  log.info(
    `Tintype ${app.getVersion()} starting (Electron ${process.versions.electron}, ${process.platform})`,
  );
  process.on('uncaughtException', (err) => log.error(`uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) =>
    log.error(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`),
  );

  const lag = new LoopLag();
  const s = openBackend({ dataDir, mode: 'electron', version: app.getVersion(), log, logFile });
  service = s;
  hardenSession(session.defaultSession, devServer);
  handleMediaScheme((key) => s.resolveMedia(key));
  registerIpc(
    ipcMain,
    { ...serviceHandlers(s, lag), ...desktopHandlers(() => win) },
    {
      validateResponses: !app.isPackaged,
      onError: (method, err) => log.warn(`${method}: ${(err as Error).message}`),
      isTrustedSender: fromOurPage,
    },
  );

  registerDragOut(ipcMain, {
    resolve: (id) => renderDragFile(s, id),
    isTrustedSender: fromOurPage,
    onError: (m) => log.warn(m),
  });

  win = createWindow();
  const send = (action: MenuAction) => win?.webContents.send(IPC_EVENT, { type: 'menu', action });
  Menu.setApplicationMenu(buildMenu(send, { logFile, dev: !app.isPackaged }));
  forwardEvents(
    (l) => s.on(l),
    () => win?.webContents ?? null,
  );
  // Progress on the taskbar (Windows, Linux) or dock (macOS); long batches and films announce their end.
  const progress = new DesktopProgress({
    window: () => win,
    notify,
    initial: s.jobs.listBatches(50).filter((b) => b.finishedAt === null),
  });
  s.on((e) => progress.handle(e));
  const resumed = s.start();
  if (resumed) log.info(`resumed ${resumed} job(s) interrupted by the last exit`);
}

if (!app.requestSingleInstanceLock()) {
  // A second launch hands over to the running app (which focuses its window) and leaves.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.whenReady().then(start, (err: unknown) => {
    console.error(err);
    app.exit(1);
  });
  app.on('activate', () => {
    if (service && BrowserWindow.getAllWindows().length === 0) win = createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('before-quit', (event) => {
    if (closed || !service) return;
    // Close the library cleanly first (a render in progress is redone at the next start).
    event.preventDefault();
    closed = true;
    void service.close().finally(() => app.quit());
  });
}
