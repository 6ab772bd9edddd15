import { describe, expect, it } from 'vitest';
import { ManifestSchema, type ManifestInput } from '../../src/shared/manifest';

/** The repair contract in the schema (docs/repair.md): a detector answers a mask, a filler takes one. */
const base = {
  id: 'x',
  name: 'X',
  file: 'x.onnx',
  license: 'MIT',
  source: 'test',
  sha256: 'a'.repeat(64),
  size: { kind: 'dynamic' as const, multiple: 32 },
};
const rgbIn = { layout: 'NCHW' as const, channels: 3 as const, range: [0, 1] as [number, number] };
const detector: ManifestInput = {
  ...base,
  task: 'repair',
  input: { ...rgbIn, normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
  output: { kind: 'mask', range: [0, 1], threshold: 0.4, grow: 3 },
  tile: { size: 512, overlap: 64 },
};
const filler: ManifestInput = {
  ...base,
  task: 'inpaint',
  input: { ...rgbIn, name: 'image' },
  maskInput: { name: 'mask', range: [0, 1] },
  output: { kind: 'rgb', range: [0, 1] },
};

const problems = (m: unknown): string =>
  ManifestSchema.safeParse(m)
    .error?.issues.map((i) => i.message)
    .join('; ') ?? '';

describe('repair manifests', () => {
  it('accepts the detector and the filler the contract describes', () => {
    expect(ManifestSchema.parse(detector).output).toMatchObject({ kind: 'mask', threshold: 0.4, grow: 3 });
    expect(ManifestSchema.parse(filler).maskInput).toEqual({ name: 'mask', range: [0, 1] });
  });

  it('keeps the mask kind to repair models and repair models to masks', () => {
    expect(problems({ ...detector, output: { kind: 'grey', range: [0, 1] } })).toMatch(/mask/);
    expect(problems({ ...detector, task: 'restore' })).toMatch(/mask/);
    expect(problems({ ...detector, input: { ...rgbIn, channels: 1 } })).toMatch(/RGB/);
    expect(problems({ ...detector, scale: 2 })).toMatch(/scale 1/);
    expect(problems({ ...detector, output: { kind: 'mask', range: [0, 1], threshold: 1 } })).not.toBe('');
    expect(problems({ ...detector, output: { kind: 'mask', range: [0, 1], grow: 40 } })).not.toBe('');
    expect(problems({ ...filler, output: { kind: 'rgb', range: [0, 1], threshold: 0.5 } })).toMatch(
      /mask output only/,
    );
  });

  it('needs a filler to name both inputs and answer an image', () => {
    expect(problems({ ...filler, maskInput: undefined })).toMatch(/maskInput/);
    expect(problems({ ...filler, input: rgbIn })).toMatch(/input names/);
    expect(problems({ ...filler, output: { kind: 'ab', range: [-1, 1] } })).not.toBe('');
    expect(problems({ ...detector, maskInput: { name: 'm', range: [0, 1] } })).toMatch(/inpaint models only/);
  });
});
