import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('tintype', { version: '0.1.0' });
