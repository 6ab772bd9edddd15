import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ManifestSchema } from '../../src/shared/manifest';
import {
  checkShapes,
  crc32Portable,
  defaultCatalog,
  manifestFor,
  parseCatalog,
  parseCrc32Text,
} from '../../src/engine/catalog';
import { etaSeconds, RateMeter } from '../../src/engine/catalog/meter';
import { entry } from '../helpers/catalog-fixtures';

describe('the shipped catalog', () => {
  const catalog = defaultCatalog();

  it('lists the FaceFusion models-3.0.0 colorizers and upscalers with a mirror each', () => {
    const ids = catalog.entries.map((e) => e.id);
    for (const id of [
      'deoldify',
      'deoldify-artistic',
      'deoldify-stable',
      'ddcolor',
      'ddcolor-artistic',
      'real-esrgan-x2',
      'real-esrgan-x4',
    ]) {
      expect(ids).toContain(id);
    }
    for (const e of catalog.entries) {
      expect(e.sources).toHaveLength(2);
      const [primary, mirror] = e.sources;
      const file = /\/([a-z0-9_]+)\.onnx$/.exec(primary.url)?.[1];
      expect(primary.url).toBe(
        `https://github.com/facefusion/facefusion-assets/releases/download/models-3.0.0/${file}.onnx`,
      );
      expect(primary.crc32Url).toBe(
        `https://github.com/facefusion/facefusion-assets/releases/download/models-3.0.0/${file}.hash`,
      );
      expect(mirror.url).toBe(`https://huggingface.co/facefusion/models-3.0.0/resolve/main/${file}.onnx`);
      expect(mirror.crc32Url).toBe(
        `https://huggingface.co/facefusion/models-3.0.0/resolve/main/${file}.hash`,
      );
      // Hashes are fetched from the publisher at install time unless pinned.
      expect(e.crc32 !== null || e.sources.every((s) => s.crc32Url)).toBe(true);
    }
  });

  it('gives every entry a valid manifest with the conventions FaceFusion uses', () => {
    for (const e of catalog.entries) {
      const m = ManifestSchema.parse(manifestFor(e, 'a'.repeat(64)));
      expect(m.input.layout).toBe('NCHW');
      expect(m.input.channels).toBe(3);
      if (e.id.startsWith('deoldify')) {
        expect(m).toMatchObject({ task: 'colorize', license: 'MIT', scale: 1 });
        expect(m.input).toMatchObject({ name: 'input', range: [0, 255], normalization: null });
        expect(m.output).toMatchObject({ kind: 'rgb', range: [0, 255] });
      } else if (e.id.startsWith('ddcolor')) {
        expect(m).toMatchObject({ task: 'colorize', license: 'Apache-2.0', scale: 1 });
        expect(m.input.range).toEqual([0, 1]);
        expect(m.output).toMatchObject({ kind: 'ab', range: [-128, 128] });
      } else {
        expect(m).toMatchObject({ task: 'upscale', license: 'BSD-3-Clause' });
        expect(m.scale).toBe(e.id.includes('x2') ? 2 : 4);
        expect(m.input.range).toEqual([0, 1]);
        expect(m.output).toMatchObject({ kind: 'rgb', range: [0, 1] });
      }
      if (m.renderSize) {
        expect(m.renderSize.min).toBeGreaterThanOrEqual(192);
        expect(m.renderSize.max).toBeLessThanOrEqual(512);
        if (m.size.kind === 'dynamic') expect(m.renderSize.default % m.size.multiple).toBe(0);
      }
    }
  });
});

describe('catalog validation', () => {
  it('rejects duplicate ids and entries that cannot make a manifest', () => {
    const a = entry('dup', [{ url: 'https://example.org/a.onnx' }]);
    expect(() => parseCatalog({ version: 1, entries: [a, a] }, 'test.json')).toThrow(
      /duplicate catalog id dup/,
    );
    const bad = entry('bad', [{ url: 'https://example.org/a.onnx' }]);
    delete (bad.conventions as { renderSize?: unknown }).renderSize;
    expect(() => parseCatalog({ version: 1, entries: [bad] }, 'test.json')).toThrow(
      /test.json: entry bad .*renderSize/s,
    );
    expect(() => parseCatalog({ version: 1, entries: [{ ...a, sources: [] }] }, 'x.json')).toThrow(
      /x.json: invalid catalog/,
    );
  });
});

describe('hashes', () => {
  it('the portable CRC32 matches zlib, also when continued chunk by chunk', () => {
    const data = randomBytes(100_003);
    expect(crc32Portable(data)).toBe(zlibCrc32(data) >>> 0);
    const running = crc32Portable(data.subarray(50_000), crc32Portable(data.subarray(0, 50_000)));
    expect(running).toBe(zlibCrc32(data) >>> 0);
    expect(crc32Portable(new TextEncoder().encode('123456789')).toString(16)).toBe('cbf43926');
  });

  it('reads a publisher .hash file', () => {
    expect(parseCrc32Text('0A1b2C3d\n')).toBe('0a1b2c3d');
    expect(parseCrc32Text('  deadbeef  model.onnx')).toBe('deadbeef');
    expect(parseCrc32Text('<html>Not Found</html>')).toBeNull();
    expect(parseCrc32Text('deadbeef00')).toBeNull();
  });
});

describe('shape checks against the catalog conventions', () => {
  const c = defaultCatalog();
  const conv = (id: string) => c.entries.find((e) => e.id === id)!.conventions;
  const t = (name: string, shape: (number | string)[], type = 'float32') => ({ name, type, shape });

  it('accepts dynamic DeOldify and DDColor exports', () => {
    expect(
      checkShapes(
        { inputs: [t('input', [1, 3, 'h', 'w'])], outputs: [t('output', [1, 3, 'h', 'w'])] },
        conv('deoldify'),
      ),
    ).toEqual([]);
    expect(
      checkShapes(
        { inputs: [t('input', ['n', 3, 'h', 'w'])], outputs: [t('output', ['n', 2, 'h', 'w'])] },
        conv('ddcolor'),
      ),
    ).toEqual([]);
    expect(
      checkShapes(
        { inputs: [t('input', [1, 3, 'h', 'w'])], outputs: [t('o', [1, 3, 'H', 'W'])] },
        conv('real-esrgan-x4'),
      ),
    ).toEqual([]);
  });

  it('names each mismatch', () => {
    const fixed = checkShapes(
      { inputs: [t('input', [1, 3, 256, 256])], outputs: [t('output', [1, 3, 256, 256])] },
      conv('deoldify'),
    );
    expect(fixed.join('\n')).toMatch(/fixed size \[1, 3, 256, 256\] but the manifest says dynamic/);
    const rgbNotAb = checkShapes(
      { inputs: [t('input', [1, 3, 'h', 'w'])], outputs: [t('output', [1, 3, 'h', 'w'])] },
      conv('ddcolor'),
    );
    expect(rgbNotAb).toEqual(['output "output" has 3 channels in NCHW order [1, 3, h, w]; "ab" needs 2']);
    const named = checkShapes(
      { inputs: [t('image', [1, 3, 'h', 'w'])], outputs: [t('output', [1, 3, 'h', 'w'])] },
      conv('deoldify'),
    );
    expect(named).toEqual(['no input named "input" (the graph has "image")']);
    const half = checkShapes(
      {
        inputs: [t('input', [1, 3, 'h', 'w'], 'float16')],
        outputs: [t('output', [1, 3, 'h', 'w'], 'float16')],
      },
      conv('real-esrgan-x2-fp16'),
    );
    expect(half).toEqual([
      'input "input" is float16; Tintype feeds float32',
      'output "output" is float16; Tintype reads float32',
    ]);
  });
});

describe('progress meter', () => {
  it('reports speed over a sliding window and an ETA', () => {
    let now = 0;
    const m = new RateMeter(5000, () => now);
    m.add(0);
    now = 1000;
    expect(m.add(1_000_000)).toBeCloseTo(1_000_000);
    now = 2000;
    expect(m.add(3_000_000)).toBeCloseTo(1_500_000);
    expect(etaSeconds(3_000_000, 6_000_000, 1_500_000)).toBe(2);
    expect(etaSeconds(3_000_000, null, 1_500_000)).toBeNull();
    // A stall shows up once the window has moved past the last burst.
    now = 20_000;
    m.add(3_000_000);
    now = 21_000;
    expect(m.add(3_000_000)).toBe(0);
  });
});
