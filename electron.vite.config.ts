import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

// Native and heavy modules stay outside the bundle: they load from node_modules (unpacked from the asar).
const external = [
  'onnxruntime-node',
  'sharp',
  'better-sqlite3',
  '@ffmpeg-installer/ffmpeg',
  '@ffprobe-installer/ffprobe',
  'ffmpeg-static',
  'bullmq',
  'ioredis',
];

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Pure-JavaScript dependencies go into the bundle: loaded from node_modules as ES modules they
      // cost the CLI's start-up a file resolution and a module instance per file (zod 4 alone is
      // dozens of files).
      externalizeDeps: { exclude: ['zod', 'commander', 'p-queue'] },
      rollupOptions: {
        external,
        // One build serves the app, the CLI and the headless server; the engine worker is its own entry
        // because worker threads load a file by path.
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          cli: resolve(__dirname, 'src/cli/index.ts'),
          'engine-worker': resolve(__dirname, 'src/engine/pool/worker.ts'),
          serve: resolve(__dirname, 'src/server/index.ts'),
        },
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    build: {
      outDir: 'out/renderer',
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
    plugins: [react()],
  },
});
