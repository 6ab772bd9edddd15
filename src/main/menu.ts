import { app, Menu, shell, type MenuItemConstructorOptions } from 'electron';
import type { MenuAction } from '../shared/bridge';

/** The application menu; app actions are sent to the renderer, which owns the UI state. */
export function buildMenu(send: (action: MenuAction) => void, opts: { logFile: string; dev: boolean }): Menu {
  const isMac = process.platform === 'darwin';
  const item = (label: string, action: MenuAction, accelerator?: string): MenuItemConstructorOptions => ({
    label,
    accelerator,
    click: () => send(action),
  });
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        item('New Project…', 'new-project', 'CmdOrCtrl+N'),
        item('Import Files…', 'import-files', 'CmdOrCtrl+O'),
        item('Import Folder…', 'import-folder', 'CmdOrCtrl+Shift+O'),
        { type: 'separator' },
        item('Export…', 'export', 'CmdOrCtrl+E'),
        { type: 'separator' },
        item(isMac ? 'Settings…' : 'Settings', 'settings', 'CmdOrCtrl+,'),
        ...(isMac ? [] : [{ type: 'separator' as const }, { role: 'quit' as const }]),
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        item('Show Queue', 'toggle-queue', 'CmdOrCtrl+J'),
        item('Toggle Dark Theme', 'toggle-theme', 'CmdOrCtrl+Shift+L'),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(opts.dev
          ? [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }]
          : []),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Show Log File', click: () => shell.showItemInFolder(opts.logFile) },
        { label: `Tintype ${app.getVersion()}`, enabled: false },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
