/**
 * The model manager: catalog, downloads, installs, custom ONNX import and verification. The CLI
 * (src/cli/models-command.ts) and the app's Models page both call these; types they exchange with
 * the renderer live in src/shared/catalog.ts.
 */
export { defaultCatalog, findEntry, loadCatalogFile, manifestFor, parseCatalog, MODEL_FILE } from './catalog';
export { CatalogError, isCatalogError } from '../errors';
export { downloadFile, fetchText, partialBytes, remoteSize } from './download';
export type { DownloadOptions, DownloadResult, Sink, SinkFactory, TransferProgress } from './download';
export { crc32, crc32Portable, digestFile, parseCrc32Text } from './hash';
export { downloadPath, expectedHash, installModel, isInstalling } from './install';
export type { InstallOptions } from './install';
export { listModels, removeModel } from './manage';
export { assertShapes, checkShapes, readModelInfo } from './shapes';
export type { ShapeConventions } from './shapes';
export { findInstalled, listInstalled } from './store';
export type { StoreOptions } from './store';
export { verifyModels } from './verify';
export { effectiveDefaults, forgetDefault, readDefaults, setDefaultModel } from './defaults';
export { importModel, probeOnnx, sanitizeId, smokeTest } from './import';
