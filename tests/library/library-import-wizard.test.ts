import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/log';
import { registryCatalog } from '../../src/library/backend';
import { dispatch, serviceHandlers } from '../../src/library/dispatch';
import { LibraryService } from '../../src/library/service';
import type { ImportProbeResult, ModelInfo, ModelRow } from '../../src/shared/api';
import type { ApiEvent, ApiResult } from '../../src/shared/bridge';
import { catalogOf, conventionModel, sha256Of } from '../helpers/catalog-fixtures';
import { sharpProcessor } from '../helpers/library-helpers';

/**
 * The Models page's import wizard backend (models.probe, models.import) through the same dispatch
 * the IPC bridge and the HTTP server use, with small generated models.
 */

let dir: string;
let modelsDir: string;
let svc: LibraryService;
const events: ApiEvent[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-wizard-'));
  modelsDir = join(dir, 'models');
  svc = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor(),
    catalog: registryCatalog({ modelDirs: [modelsDir], log: silentLogger }),
    models: { store: { modelsDir, bundledDir: null }, catalog: catalogOf() },
    mode: 'server',
    version: 'test',
  });
  svc.on((e) => events.push(e));
});
afterAll(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

const raw = (method: string, payload: unknown): Promise<ApiResult<unknown>> =>
  dispatch(serviceHandlers(svc), method, payload, { validateResponses: true });
const call = async <T>(method: string, payload: unknown): Promise<T> => {
  const r = await raw(method, payload);
  if (!r.ok) throw new Error(r.error.message);
  return r.value as T;
};
const failure = async (method: string, payload: unknown) => {
  const r = await raw(method, payload);
  if (r.ok) throw new Error(`${method} succeeded where it should fail`);
  return r.error;
};

async function save(name: string, bytes: Uint8Array | string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('import wizard backend', () => {
  it('probes a file, imports it with the user’s edits, and lists it', async () => {
    const bytes = conventionModel({ inRange: [0, 1], out: 'ab', outRange: [-128, 128], multiple: 8 });
    const file = await save('Family DDColor.onnx', bytes);
    const probe = await call<ImportProbeResult>('models.probe', { path: file });
    expect(probe.file).toBe(file);
    expect(probe.problems).toEqual([]);
    expect(probe.findings.length).toBeGreaterThan(0);
    expect(probe.info.inputs[0]).toMatchObject({ name: 'input', type: 'float32' });
    expect(probe.proposal).toMatchObject({
      id: 'family-ddcolor',
      task: 'colorize',
      input: { layout: 'NCHW', channels: 3, range: [0, 1] },
      size: { kind: 'dynamic', multiple: 8 },
      output: { kind: 'ab' },
    });

    const row = await call<ModelRow>('models.import', {
      path: file,
      manifest: { ...probe.proposal!, id: 'family-colors', name: 'Family colours', license: 'Apache-2.0' },
    });
    expect(row).toMatchObject({
      id: 'family-colors',
      name: 'Family colours',
      task: 'colorize',
      license: 'Apache-2.0',
      installed: true,
      removable: true,
      origin: 'imported',
    });
    expect(row.sizeOnDisk).toBeGreaterThanOrEqual(bytes.length);
    expect(sha256Of(await readFile(join(modelsDir, 'family-colors', 'model.onnx')))).toBe(sha256Of(bytes));
    // The original is only read.
    expect(sha256Of(await readFile(file))).toBe(sha256Of(bytes));

    const listed = await call<ModelInfo[]>('models.list', {});
    expect(listed.map((m) => [m.id, m.task, m.license])).toEqual([
      ['family-colors', 'colorize', 'Apache-2.0'],
    ]);
    expect(events).toContainEqual({
      type: 'model',
      id: 'family-colors',
      state: 'installed',
      progress: null,
      error: null,
    });

    // The same id again is refused with the reason; the first copy stays.
    const again = await failure('models.import', {
      path: file,
      manifest: { ...probe.proposal!, id: 'family-colors' },
    });
    expect(again.message).toMatch(/family-colors is already installed/);
  });

  it('a text file named .onnx gives an error naming it, for probe and import alike', async () => {
    const file = await save('notes.onnx', 'these are my notes, not a model');
    const probed = await failure('models.probe', { path: file });
    expect(probed.code).toBe('FAILED');
    expect(probed.message).toContain(file);
    const manifest = {
      id: 'notes',
      name: 'notes',
      task: 'restore',
      input: { layout: 'NCHW', channels: 3, range: [0, 1] },
      size: { kind: 'dynamic', multiple: 1 },
      output: { kind: 'rgb', range: [0, 1] },
      license: 'MIT',
      source: 'me',
    };
    const imported = await failure('models.import', { path: file, manifest });
    expect(imported.message).toContain(file);
    await expect(stat(join(modelsDir, 'notes'))).rejects.toThrow();
  });

  it('a missing file is named too', async () => {
    const file = join(dir, 'gone.onnx');
    expect((await failure('models.probe', { path: file })).message).toContain(file);
  });

  it('refuses relative paths and files that are not .onnx before running anything', async () => {
    const rel = await failure('models.probe', { path: 'models/x.onnx' });
    expect(rel.code).toBe('BAD_REQUEST');
    expect(rel.message).toMatch(/absolute path/);
    const txt = await failure('models.probe', { path: join(dir, 'x.txt') });
    expect(txt.code).toBe('BAD_REQUEST');
    expect(txt.message).toMatch(/\.onnx file/);
  });

  it('an edited manifest the model does not fit is rejected with the reason, installing nothing', async () => {
    const file = await save(
      'restorer.onnx',
      conventionModel({ inRange: [0, 1], out: 'rgb', outRange: [0, 1], multiple: 8 }),
    );
    const probe = await call<ImportProbeResult>('models.probe', { path: file });
    expect(probe.proposal?.task).toBe('restore');
    // The user claims a chroma-only colorizer: the model returns 3 channels.
    const wrong = await failure('models.import', {
      path: file,
      manifest: {
        ...probe.proposal!,
        id: 'claimed-chroma',
        task: 'colorize',
        output: { kind: 'ab', range: [-128, 128] },
        tile: undefined,
        renderSize: { default: 256, min: 192, max: 512 },
      },
    });
    expect(wrong.code).toBe('FAILED');
    expect(wrong.message).toMatch(/has 3 channels .*"ab" needs 2/);
    // A manifest that breaks the contract's own rules names the rule.
    const noSize = await failure('models.import', {
      path: file,
      manifest: { ...probe.proposal!, id: 'no-render-size', task: 'colorize', tile: undefined },
    });
    expect(noSize.message).toMatch(/a colorize model needs renderSize/);
    // A malformed id never reaches the engine.
    const badId = await failure('models.import', {
      path: file,
      manifest: { ...probe.proposal!, id: 'My Model!' },
    });
    expect(badId.code).toBe('BAD_REQUEST');
    expect(badId.message).toMatch(/id: lower-case letters/);
    for (const id of ['claimed-chroma', 'no-render-size'])
      await expect(stat(join(modelsDir, id))).rejects.toThrow();
    expect((await call<ModelInfo[]>('models.list', {})).map((m) => m.id)).toEqual(['family-colors']);
  });
});
