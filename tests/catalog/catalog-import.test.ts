import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestSchema } from '../../src/shared/manifest';
import { CatalogError, listModels } from '../../src/engine/catalog';
import { importModel, probeOnnx } from '../../src/engine/catalog/import';
import { GraphBuilder } from '../../tools/onnx/builder';
import { catalogOf, conventionModel, sha256Of } from '../helpers/catalog-fixtures';
import type { ConventionSpec } from '../helpers/catalog-fixtures';

const { onnx } = onnxProto;

let work: string;
let n = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tintype-import-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function save(name: string, bytes: Uint8Array): Promise<string> {
  n += 1;
  const file = join(work, `${name}-${n}.onnx`);
  await writeFile(file, bytes);
  return file;
}

async function probe(spec: ConventionSpec) {
  const p = await probeOnnx(await save('model', conventionModel(spec)));
  expect(p.problems).toEqual([]);
  expect(p.proposal).not.toBeNull();
  // Every proposal must be a valid manifest as it stands.
  return { probe: p, manifest: ManifestSchema.parse(p.proposal) };
}

describe('import probing', () => {
  it('finds a 0-255 RGB colorizer with a multiple-of-16 size (DeOldify convention)', async () => {
    const { probe: p, manifest: m } = await probe({
      inRange: [0, 255],
      out: 'rgb',
      outRange: [0, 255],
      tint: 0.08,
      multiple: 16,
    });
    expect(m.task).toBe('colorize');
    expect(m.input).toMatchObject({
      name: 'input',
      layout: 'NCHW',
      channels: 3,
      range: [0, 255],
      normalization: null,
    });
    expect(m.output).toMatchObject({ kind: 'rgb', range: [0, 255] });
    expect(m.size).toEqual({ kind: 'dynamic', multiple: 16 });
    expect(m.renderSize).toEqual({ default: 256, min: 192, max: 512 });
    expect(p.uncertain).toEqual([]);
  });

  it('finds a 0-1 colorizer with a fixed size and Lab a/b output (DDColor convention)', async () => {
    const { manifest: m } = await probe({ inRange: [0, 1], out: 'ab', outRange: [-128, 128], fixed: 96 });
    expect(m.task).toBe('colorize');
    expect(m.input.range).toEqual([0, 1]);
    expect(m.output).toMatchObject({ kind: 'ab', range: [-128, 128] });
    expect(m.size).toEqual({ kind: 'fixed', value: 96 });
    expect(m.renderSize).toEqual({ default: 96, min: 96, max: 96 });
  });

  it('tells a 0-255 input from a 0-1 input on a chroma-only model with normalized output', async () => {
    const { manifest: m } = await probe({ inRange: [0, 255], out: 'ab', outRange: [-1, 1] });
    expect(m.input.range).toEqual([0, 255]);
    expect(m.output).toMatchObject({ kind: 'ab', range: [-1, 1] });
    expect(m.size).toEqual({ kind: 'dynamic', multiple: 1 });
  });

  it('finds a 0-1 RGB restorer that needs multiples of 8', async () => {
    const { probe: p, manifest: m } = await probe({
      inRange: [0, 1],
      out: 'rgb',
      outRange: [0, 1],
      multiple: 8,
    });
    expect(m.task).toBe('restore');
    expect(m.input.range).toEqual([0, 1]);
    expect(m.output).toMatchObject({ kind: 'rgb', range: [0, 1] });
    expect(m.size).toEqual({ kind: 'dynamic', multiple: 8 });
    expect(m.tile).toEqual({ size: 256, overlap: 16 });
    expect(p.findings.join('\n')).toContain('multiple of 8');
  });

  it('finds a x4 upscaler', async () => {
    const { manifest: m } = await probe({
      inRange: [0, 1],
      out: 'rgb',
      outRange: [0, 1],
      scale: 4,
      multiple: 2,
    });
    expect(m.task).toBe('upscale');
    expect(m.scale).toBe(4);
    expect(m.size).toEqual({ kind: 'dynamic', multiple: 2 });
  });

  it('finds an NHWC grey model in [-1, 1]', async () => {
    const { manifest: m } = await probe({
      layout: 'NHWC',
      inChannels: 1,
      inRange: [-1, 1],
      out: 'grey',
      outRange: [-1, 1],
      multiple: 4,
    });
    expect(m.input).toMatchObject({ layout: 'NHWC', channels: 1, range: [-1, 1] });
    expect(m.output).toMatchObject({ layout: 'NHWC', kind: 'grey', range: [-1, 1] });
    expect(m.size).toEqual({ kind: 'dynamic', multiple: 4 });
  });

  it('finds the layout by running the model when the channel axis is symbolic', async () => {
    const g = new GraphBuilder();
    const x = g.input('pixels', ['n', 'a', 'b', 'c']);
    // NHWC in and out, 0-1, through the same non-linear curve as the other fixtures.
    const t = g.node('Transpose', [x], { perm: [0, 3, 1, 2] });
    const grey = g.node('ReduceMean', [t], { axes: [1], keepdims: 1 });
    const curve = g.node('Sigmoid', [
      g.node('Mul', [g.node('Sub', [grey, g.constant([0.5], [])]), g.constant([4], [])]),
    ]);
    const rgb = g.node('Concat', [curve, curve, curve], { axis: 1 });
    g.node('Transpose', [rgb], { perm: [0, 2, 3, 1] }, ['restored']);
    g.output('restored', ['n', 'a', 'b', 'c']);
    const p = await probeOnnx(await save('symbolic', g.encode()));
    expect(p.problems).toEqual([]);
    expect(p.proposal?.input).toMatchObject({ name: 'pixels', layout: 'NHWC', channels: 3 });
  });

  it('says when a linear model fits several ranges equally', async () => {
    const g = new GraphBuilder();
    const x = g.input('input', [1, 3, 'h', 'w']);
    g.node('Identity', [x], {}, ['output']);
    g.output('output', [1, 3, 'h', 'w']);
    const p = await probeOnnx(await save('identity', g.encode()));
    expect(p.problems).toEqual([]);
    expect(p.proposal?.input.range).toEqual([0, 1]);
    expect(p.uncertain.join('\n')).toMatch(/fit almost as well/);
  });
});

describe('import rejects what cannot work', () => {
  const build = (fn: (g: GraphBuilder) => void) => {
    const g = new GraphBuilder();
    fn(g);
    return g.encode();
  };

  it('a 3-D input', async () => {
    const p = await probeOnnx(
      await save(
        'rank3',
        build((g) => {
          g.node('Identity', [g.input('input', [3, 'h', 'w'])], {}, ['out']);
          g.output('out', [3, 'h', 'w']);
        }),
      ),
    );
    expect(p.proposal).toBeNull();
    expect(p.problems.join()).toMatch(
      /input "input" has shape \[3, h, w\] \(3-D\); Tintype needs a 4-D image tensor/,
    );
  });

  it('a non-float input', async () => {
    const bytes = build((g) => {
      const x = g.input('ids', [1, 3, 'h', 'w']);
      g.node('Cast', [x], { to: 1 }, ['out']);
      g.output('out', [1, 3, 'h', 'w']);
    });
    const model = onnx.ModelProto.decode(bytes);
    model.graph!.input![0].type!.tensorType!.elemType = onnx.TensorProto.DataType.INT64;
    const p = await probeOnnx(await save('int64', onnx.ModelProto.encode(model).finish()));
    expect(p.problems).toEqual([expect.stringMatching(/input "ids" is int64; Tintype feeds float32/)]);
  });

  it('two inputs', async () => {
    const p = await probeOnnx(
      await save(
        'two',
        build((g) => {
          g.node('Add', [g.input('a', [1, 3, 'h', 'w']), g.input('b', [1, 3, 'h', 'w'])], {}, ['out']);
          g.output('out', [1, 3, 'h', 'w']);
        }),
      ),
    );
    expect(p.problems.join()).toMatch(/2 inputs \(a, b\)/);
  });

  it('an output of the wrong rank', async () => {
    const p = await probeOnnx(
      await save(
        'flat',
        build((g) => {
          g.node('Flatten', [g.input('input', [1, 3, 'h', 'w'])], { axis: 1 }, ['out']);
          g.output('out', [1, 'k']);
        }),
      ),
    );
    expect(p.problems.join()).toMatch(/output "out" has shape \[1, k\] \(2-D\)/);
  });

  it('four input channels and a non-square fixed size', async () => {
    const four = await probeOnnx(
      await save(
        'four',
        build((g) => {
          g.node('Identity', [g.input('input', [1, 4, 'h', 'w'])], {}, ['out']);
          g.output('out', [1, 4, 'h', 'w']);
        }),
      ),
    );
    expect(four.problems.join()).toMatch(/has 4 channels; Tintype feeds 1 \(grey\) or 3 \(RGB\)/);
    const oblong = await probeOnnx(
      await save(
        'oblong',
        build((g) => {
          g.node('Identity', [g.input('input', [1, 3, 64, 96])], {}, ['out']);
          g.output('out', [1, 3, 64, 96]);
        }),
      ),
    );
    expect(oblong.problems.join()).toMatch(/fixed at 64x96; Tintype's fixed-size models must be square/);
  });

  it('a file that is not ONNX, naming the file', async () => {
    const file = await save('junk', new TextEncoder().encode('this is not a model'));
    const err = await probeOnnx(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogError);
    expect((err as CatalogError).code).toBe('BAD_MODEL');
    expect((err as CatalogError).message).toContain(file);
  });
});

describe('importModel', () => {
  it('copies the file with the confirmed manifest and leaves the original alone', async () => {
    const bytes = conventionModel({ inRange: [0, 1], out: 'ab', outRange: [-128, 128], multiple: 8 });
    const file = await save('My DDColor', bytes);
    const before = await stat(file);
    const p = await probeOnnx(file);
    expect(p.proposal?.id).toMatch(/^my-ddcolor-\d+$/);
    const modelsDir = join(work, `models-${n}`);
    const m = await importModel(
      file,
      { ...p.proposal!, id: 'my-ddcolor', license: 'Apache-2.0' },
      { modelsDir },
    );

    expect(m.origin).toBe('imported');
    expect(m.dir).toBe(join(modelsDir, 'my-ddcolor'));
    expect(sha256Of(await readFile(m.modelPath))).toBe(sha256Of(bytes));
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(m.manifestPath, 'utf8')));
    expect(manifest).toMatchObject({
      id: 'my-ddcolor',
      license: 'Apache-2.0',
      file: 'model.onnx',
      sha256: sha256Of(bytes),
    });
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    expect(sha256Of(await readFile(file))).toBe(sha256Of(bytes));

    const rows = await listModels({ modelsDir, catalog: catalogOf(), bundledDir: null });
    expect(rows.map((r) => [r.id, r.installed?.origin])).toEqual([['my-ddcolor', 'imported']]);

    const again = await importModel(file, { ...p.proposal!, id: 'my-ddcolor' }, { modelsDir }).catch(
      (e: unknown) => e,
    );
    expect((again as CatalogError).code).toBe('ALREADY_INSTALLED');
  });

  it('refuses a manifest the file does not fit, installing nothing', async () => {
    const file = await save(
      'rgb',
      conventionModel({ inRange: [0, 1], out: 'rgb', outRange: [0, 1], multiple: 8 }),
    );
    const p = await probeOnnx(file);
    const modelsDir = join(work, `models-${n}`);
    // The user claims chroma output: the model returns 3 channels.
    const claimed = {
      ...p.proposal!,
      task: 'colorize' as const,
      output: { kind: 'ab' as const, range: [-128, 128] as [number, number] },
      renderSize: { default: 256, min: 192, max: 512 },
    };
    const err = await importModel(file, claimed, { modelsDir }).catch((e: unknown) => e);
    expect((err as CatalogError).code).toBe('MODEL_SHAPE');
    expect((err as CatalogError).message).toMatch(/has 3 channels .*"ab" needs 2/);
    // A size rule the model does not follow fails the test run.
    const badSize = { ...p.proposal!, size: { kind: 'dynamic' as const, multiple: 12 } };
    const err2 = await importModel(file, badSize, { modelsDir }).catch((e: unknown) => e);
    expect((err2 as CatalogError).code).toBe('MODEL_SHAPE');
    expect((err2 as CatalogError).message).toMatch(/fails to run on a 132x132 image/);
    await expect(stat(join(modelsDir, p.proposal!.id))).rejects.toThrow();
  });

  it('refuses an invalid manifest with the field named', async () => {
    const file = await save('rgb', conventionModel({ inRange: [0, 1], out: 'rgb', outRange: [0, 1] }));
    const p = await probeOnnx(file);
    const err = await importModel(
      file,
      { ...p.proposal!, id: 'Bad Id!' },
      { modelsDir: join(work, 'unused') },
    ).catch((e: unknown) => e);
    expect((err as CatalogError).code).toBe('BAD_MANIFEST');
    expect((err as CatalogError).message).toMatch(/id/);
  });
});
