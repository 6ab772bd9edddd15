import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerModelsCommand } from '../../src/cli/models-command';
import type { ModelsIo } from '../../src/cli/models-command';
import { CatalogError } from '../../src/engine/catalog';
import {
  colorizerModel,
  conventionModel,
  crc32Of,
  entry,
  sha256Of,
  startServer,
} from '../helpers/catalog-fixtures';
import type { TestServer } from '../helpers/catalog-fixtures';

const MODEL = colorizerModel({ padFloats: 20_000, seed: 3 });
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startServer({ '/m.onnx': { body: MODEL }, '/m.hash': { body: crc32Of(MODEL) } });
  work = await mkdtemp(join(tmpdir(), 'tintype-cli-'));
  const catalogFile = join(work, 'catalog.json');
  await writeFile(
    catalogFile,
    JSON.stringify({
      version: 1,
      entries: [entry('test-model', [{ url: server.url('/m.onnx'), crc32Url: server.url('/m.hash') }])],
    }),
  );
  await mkdir(join(work, 'bundled'));
  process.env.TINTYPE_CATALOG = catalogFile;
  process.env.TINTYPE_MODELS_DIR = join(work, 'models');
  process.env.TINTYPE_BUNDLED_MODELS_DIR = join(work, 'bundled');
});
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

async function cli(args: string[], answer = false) {
  let out = '';
  let err = '';
  let exit = 0;
  const questions: string[] = [];
  const io: ModelsIo = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    interactive: false,
    confirm: async (q) => {
      questions.push(q);
      return answer;
    },
  };
  const program = new Command('tintype').exitOverride();
  registerModelsCommand(program, { io, setExit: (c) => (exit = c) });
  await program.parseAsync(['models', ...args], { from: 'user' });
  return { out, err, exit, questions };
}

describe('tintype models', () => {
  it('lists, installs with progress, verifies, sets a default and removes', async () => {
    const before = await cli(['list']);
    expect(before.out).toMatch(
      /^ID\s+TASK\s+STATUS\s+SIZE\s+LICENSE\s+NAME\ntest-model\s+colorize\s+available\s+-\s+MIT\s+Test test-model\n$/,
    );

    const inst = await cli(['install', 'test-model']);
    expect(inst.out).toMatch(/^installed test-model \(\d+(\.\d)? kB\) in .*test-model\n$/);
    expect(inst.err).toContain('test-model: fetching the publisher hash');
    expect(inst.err).toMatch(/test-model: \d+(\.\d)? kB \/ \d+(\.\d)? kB 100%/);
    expect(inst.err).toContain('test-model: done');

    const listed = JSON.parse((await cli(['list', '--json'])).out) as {
      id: string;
      installed: { origin: string } | null;
    }[];
    expect(listed.map((r) => [r.id, r.installed?.origin])).toEqual([['test-model', 'catalog']]);

    const ok = await cli(['verify']);
    expect(ok.out).toBe('ok      test-model\n');
    expect(ok.exit).toBe(0);

    await cli(['default', 'colorize', 'test-model']);
    const defaults = JSON.parse(await readFile(join(work, 'models', 'defaults.json'), 'utf8'));
    expect(defaults).toEqual({ colorize: 'test-model' });

    const file = join(work, 'models', 'test-model', 'model.onnx');
    const bytes = Buffer.from(await readFile(file));
    bytes[100] ^= 1;
    await writeFile(file, bytes);
    const bad = await cli(['verify', 'test-model']);
    expect(bad.out).toMatch(/^FAILED {2}test-model\n\s+.*SHA-256/);
    expect(bad.exit).toBe(1);

    const removed = await cli(['remove', 'test-model']);
    expect(removed.out).toMatch(/^removed test-model \(.* freed\)\n$/);
    // Removing the default clears it, so the engine falls back to the bundled default.
    expect(JSON.parse(await readFile(join(work, 'models', 'defaults.json'), 'utf8'))).toEqual({});
    await expect(cli(['remove', 'test-model'])).rejects.toThrow(CatalogError);
  });

  it('imports a custom model after confirmation, or from an edited manifest', async () => {
    const bytes = conventionModel({
      inRange: [0, 255],
      out: 'rgb',
      outRange: [0, 255],
      tint: 0.08,
      multiple: 16,
    });
    const file = join(work, 'Family Colorizer.onnx');
    await writeFile(file, bytes);

    const declined = cli(['import', file]);
    await expect(declined).rejects.toThrow(/not imported: confirm with --yes/);

    const dry = await cli(['import', file, '--dry-run', '--license', 'CC-BY-4.0']);
    const proposal = JSON.parse(dry.out);
    expect(proposal).toMatchObject({
      id: 'family-colorizer',
      task: 'colorize',
      license: 'CC-BY-4.0',
      input: { range: [0, 255] },
    });

    const asked = await cli(['import', file, '--license', 'CC-BY-4.0'], true);
    expect(asked.questions).toEqual(['Import with this manifest?']);
    expect(asked.err).toContain('multiple of 16');
    expect(asked.out).toMatch(/^imported family-colorizer \(colorize\) into /);

    const edited = join(work, 'edited.json');
    await writeFile(edited, JSON.stringify({ ...proposal, id: 'family-colorizer-b', name: 'Edited' }));
    const viaManifest = await cli(['import', file, '--manifest', edited, '--json']);
    const m = JSON.parse(viaManifest.out);
    expect(m).toMatchObject({ id: 'family-colorizer-b', name: 'Edited', origin: 'imported' });
    expect(m.manifest.sha256).toBe(sha256Of(bytes));
  });

  it('explains why a model cannot be imported', async () => {
    const file = join(work, 'bad.onnx');
    const { GraphBuilder } = await import('../../tools/onnx/builder');
    const g = new GraphBuilder();
    g.node('Identity', [g.input('x', [1, 5, 'h', 'w'])], {}, ['y']);
    g.output('y', [1, 5, 'h', 'w']);
    await writeFile(file, g.encode());
    await expect(cli(['import', file, '--yes'])).rejects.toThrow(
      /bad\.onnx cannot be used by Tintype:\n {2}- input "x" \[1, 5, h, w\] has 5 channels/,
    );
  });
});
