export * from './types';
export * from './errors';
export type { Logger } from './log';
export { consoleLogger, silentLogger } from './log';
export { Engine, orderedOps, type EngineOptions, type RasterResult } from './engine';
export { EnginePool, type PoolOptions } from './pool/pool';
export {
  readImage,
  writeImage,
  formatFromPath,
  IMAGE_EXTENSIONS,
  MAX_INPUT_PIXELS,
  type LoadedImage,
  type WriteOptions,
} from './image/io';
export { ModelRegistry } from './models/registry';
export { loadManifest, sha256File, type LoadedManifest } from './models/manifest-io';
export { bundledModelsDir, userModelsDir, userDataDir, defaultModelDirs } from './models/paths';
export { writeFileAtomic, writeTextAtomic, tempPathFor, commitTemp } from './fs/atomic';
export { effectiveRenderSize } from './ops/render-size';
