import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The UpscalerJS ESRGAN exports Tintype knows how to convert, and which of them ship.
 * Why these ship (and not the rest) is measured in docs/sr-models.md.
 */

export const VARIANTS = ['slim', 'medium', 'thick'] as const;
export type Variant = (typeof VARIANTS)[number];
export const SCALES = [2, 3, 4, 8] as const;
export type Scale = (typeof SCALES)[number];

/**
 * Committed to resources/models. thick is the only one clearly better than bicubic (Set14 ×4
 * +1.1 dB, ×2 +0.25 dB); slim is the fast choice (19-30× faster, ~bicubic quality, 0.9 MB).
 * medium sits between them at 2.8 MB and was left out. Measurements: docs/sr-models.md.
 */
export const SHIPPED: readonly string[] = [
  'esrgan-thick-x2',
  'esrgan-thick-x4',
  'esrgan-slim-x2',
  'esrgan-slim-x4',
];

export interface ModelSpec {
  id: string;
  variant: Variant;
  scale: Scale;
  packageName: string;
  /** model.json inside the package, relative to the package root. */
  modelPath: string;
  /** RDN (slim, medium) works on 0..255; the RRDN (thick) on 0..1, as UpscalerJS's definitions state. */
  range: [number, number];
  /**
   * Input tile edge for the engine's tiler. 192 keeps one RDN ×4 inference near 0.5 GB peak RSS (256
   * needs ~0.9 GB, 384 ~1.8 GB) for 10-20% more time per megapixel; thick's features are leaner, so
   * it takes 256 tiles (~0.6 GB) and wastes less on the overlap (docs/sr-models.md).
   */
  tileSize: number;
  /**
   * Where the theoretical receptive field is far wider than what matters (medium 18 px, thick
   * 154 px), the context radius beyond which cutting the image changes no output value by more than
   * 0.05 on the 0..255 scale, measured on photos (docs/sr-models.md, tests/models/esrgan-tiling.test.ts).
   */
  effectiveRadius?: number;
  /** thick's kernels are stored as float16: 14.5 MB instead of 29 MB, outputs within ~0.1/255 of float32. */
  kernels: 'float32' | 'float16';
}

export function modelId(variant: Variant, scale: Scale): string {
  return `esrgan-${variant}-x${scale}`;
}

export function spec(variant: Variant, scale: Scale): ModelSpec {
  return {
    id: modelId(variant, scale),
    variant,
    scale,
    packageName: `@upscalerjs/esrgan-${variant}`,
    modelPath: `models/x${scale}/model.json`,
    range: variant === 'thick' ? [0, 1] : [0, 255],
    tileSize: variant === 'thick' ? 256 : 192,
    effectiveRadius: variant === 'slim' ? undefined : 12,
    kernels: variant === 'thick' ? 'float16' : 'float32',
  };
}

export const ALL_SPECS: ModelSpec[] = VARIANTS.flatMap((v) => SCALES.map((s) => spec(v, s)));

export function specById(id: string): ModelSpec {
  const found = ALL_SPECS.find((s) => s.id === id);
  if (!found) throw new Error(`unknown model id ${id}; known: ${ALL_SPECS.map((s) => s.id).join(', ')}`);
  return found;
}

const require = createRequire(import.meta.url);

/**
 * The installed package's root folder and version, found along Node's module search paths (the
 * packages' "exports" map hides package.json from require.resolve).
 */
export function locatePackage(packageName: string): { root: string; version: string } {
  for (const dir of require.resolve.paths(packageName) ?? []) {
    const pkgJson = join(dir, packageName, 'package.json');
    if (existsSync(pkgJson)) {
      const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
      return { root: dirname(pkgJson), version };
    }
  }
  throw new Error(
    `${packageName} is not installed (it is a devDependency of Tintype: install the dev dependencies)`,
  );
}

export function modelJsonPath(s: ModelSpec): string {
  return join(locatePackage(s.packageName).root, s.modelPath);
}
