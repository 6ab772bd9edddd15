import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { IPC_DRAG, IPC_EVENT, IPC_INVOKE, type ApiEvent, type TintypeBridge } from '../shared/bridge';

/**
 * The whole surface the sandboxed renderer gets: one invoke (validated in main), one event stream,
 * the path of a dropped file and a native drag of a render out (its id, checked in main). No
 * ipcRenderer, no Node, nothing else.
 */
const bridge: TintypeBridge = {
  invoke: (method, payload) => ipcRenderer.invoke(IPC_INVOKE, method, payload),
  onEvent(listener) {
    const wrapped = (_e: IpcRendererEvent, event: ApiEvent) => listener(event);
    ipcRenderer.on(IPC_EVENT, wrapped);
    return () => ipcRenderer.removeListener(IPC_EVENT, wrapped);
  },
  pathForFile: (file) => webUtils.getPathForFile(file),
  startDrag: (renderId) => ipcRenderer.send(IPC_DRAG, renderId),
};

contextBridge.exposeInMainWorld('tintype', bridge);
