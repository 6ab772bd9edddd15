/**
 * The engine's one public surface. Code outside src/engine (CLI, library, server, app) imports only
 * this file; eslint.config.js enforces it, so the engine's folders can be rearranged freely.
 */
export * from './types';
export * from './errors';
export type { Logger } from './log';
export { consoleLogger, silentLogger } from './log';
export { Engine, type EngineOptions, type RasterResult } from './engine';
export {
  operations,
  operation,
  orderedOps,
  registerOperation,
  withOpDefaults,
  type Operation,
  type OpContext,
  type OpRun,
} from './ops/registry';
export { checkOptions } from './ops/options';
export { modelsByOp, resolveModelChain, type ModelChain } from './ops/chain';
export * from '../shared/ops';
export { EnginePool, type PoolOptions } from './pool/pool';
export { filmProcessor } from './pool/film-processor';
export {
  readImage,
  decodeStrictly,
  writeImage,
  formatFromPath,
  parseHexColour,
  IMAGE_EXTENSIONS,
  MAX_INPUT_PIXELS,
  type LoadedImage,
  type WriteOptions,
} from './image/io';
export { WRITABLE_EXTENSIONS } from './image/formats';
export {
  detectColour,
  detectColourRaw,
  detectColourFromPreview,
  detectFilmColour,
  colourVerdictFromLab,
  COLOUR_SPREAD_LIMIT,
  VIVID_CHROMA_LIMIT,
  type ColourVerdict,
} from './image/colour-input';
export { ModelRegistry } from './models/registry';
export { defaultFor, type ModelDefaults } from './models/defaults';
export { loadManifest, sha256File, type LoadedManifest } from './models/manifest-io';
export { bundledModelsDir, userModelsDir, userDataDir, defaultModelDirs } from './models/paths';
export {
  writeFileAtomic,
  writeTextAtomic,
  tempPathFor,
  commitTemp,
  removeStaleTemps,
  MAX_NAME_BYTES,
} from './fs/atomic';
export { effectiveRenderSize } from './ops/render-size';
// The model manager and the film pipeline have their own indexes; they are part of this surface.
export * from './catalog/index';
export { modelsDirOf } from './catalog/store';
export * from './video/index';
