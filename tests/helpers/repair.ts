import type { Raster } from '../../src/engine/types';
import { GraphBuilder } from '../../tools/onnx/builder';
import { installModel, RGB_01 } from './models';

/**
 * Test fixtures for the repair operation: pictures with known synthetic damage (so the true mask is
 * known) and a stand-in detector. The detector is a TEST FIXTURE, not a damage model: it marks
 * pixels that are nearly white in every channel, which is exactly the damage drawn here.
 */

/** A smooth colour (or grey) picture with texture at several scales, no pure white anywhere. */
export function cleanPicture(
  width: number,
  height: number,
  opts: { grey?: boolean; depth?: 8 | 16 } = {},
): Raster {
  const depth = opts.depth ?? 8;
  const channels = opts.grey ? 1 : 3;
  const max = depth === 16 ? 65535 : 255;
  const data =
    depth === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = 0.45 + 0.2 * Math.sin(x / 37 + y / 53) + 0.1 * Math.cos(Math.hypot(x - width / 2, y) / 9);
      const v = [base, base * 0.9 + 0.05 * Math.sin(y / 11), base * 0.7 + 0.1 * (x / width)];
      for (let c = 0; c < channels; c++) {
        data[(y * width + x) * channels + c] = Math.round(Math.min(0.85, Math.max(0.05, v[c])) * max);
      }
    }
  }
  return { width, height, channels, depth, data };
}

/** The true mask (255 = damaged) of curved scratches, dust specks and a torn corner, from a seed. */
export function damageMask(
  width: number,
  height: number,
  seed = 1,
  opts: { corner?: boolean } = {},
): Uint8Array {
  const mask = new Uint8Array(width * height);
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const dot = (cx: number, cy: number, r: number) => {
    for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++) {
      for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) {
        const x = Math.round(cx + dx);
        const y = Math.round(cy + dy);
        if (x >= 0 && y >= 0 && x < width && y < height && dx * dx + dy * dy <= r * r)
          mask[y * width + x] = 255;
      }
    }
  };
  for (let n = 0; n < 6; n++) {
    let x = rnd() * width;
    let y = rnd() * height;
    const angle = rnd() * Math.PI * 2;
    const r = 0.6 + rnd() * 2;
    for (let t = 0; t < Math.max(width, height) / 2; t++) {
      x += Math.cos(angle + Math.sin(t / 25));
      y += Math.sin(angle + Math.sin(t / 25));
      dot(x, y, r);
    }
  }
  for (let n = 0; n < 30; n++) dot(rnd() * width, rnd() * height, 0.5 + rnd() * 2.5);
  if (opts.corner) {
    const size = Math.min(width, height) * 0.25;
    for (let y = 0; y < size; y++)
      for (let x = width - Math.ceil(size - y); x < width; x++) mask[y * width + x] = 255;
  }
  return mask;
}

/** The picture with white drawn wherever the mask is set (a scratch on a print scans white). */
export function damage(clean: Raster, mask: Uint8Array): Raster {
  const max = clean.depth === 16 ? 65535 : 255;
  const data = clean.data.slice();
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) for (let c = 0; c < clean.channels; c++) data[i * clean.channels + c] = max;
  }
  return { ...clean, data };
}

/** PSNR (dB) between two pictures over the pixels where `mask` is set. */
export function psnrInside(a: Raster, b: Raster, mask: Uint8Array): number {
  const max = a.depth === 16 ? 65535 : 255;
  let se = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let c = 0; c < a.channels; c++) {
      const d = (a.data[i * a.channels + c] - b.data[i * b.channels + c]) / max;
      se += d * d;
      n += 1;
    }
  }
  return -10 * Math.log10(se / n);
}

/** The largest difference (in levels) between two pictures outside the mask (and a margin around it). */
export function maxDiffOutside(a: Raster, b: Raster, mask: Uint8Array, margin = 0): number {
  const { width, height, channels } = a;
  let worst = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let near = false;
      for (let dy = -margin; dy <= margin && !near; dy++) {
        for (let dx = -margin; dx <= margin && !near; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && xx >= 0 && yy < height && xx < width && mask[yy * width + xx]) near = true;
        }
      }
      if (near) continue;
      for (let c = 0; c < channels; c++) {
        const i = (y * width + x) * channels + c;
        worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
      }
    }
  }
  return worst;
}

/**
 * TEST FIXTURE detector (task repair): probability = sigmoid(60 · (min(R, G, B) − 0.93)), i.e. "nearly
 * white in every channel is damage". It stands in for a trained model so the op's detect path (tiling,
 * threshold, grow, --save-mask) is tested; it knows nothing about real damage.
 */
export function installWhiteDetector(dir: string, id = 'test-white-detector'): string {
  const g = new GraphBuilder('white-detector');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const lowest = g.node('ReduceMin', [x], { axes: [1], keepdims: 1 });
  const shifted = g.node('Sub', [lowest, g.constant([0.93], [])]);
  g.node('Sigmoid', [g.node('Mul', [shifted, g.constant([60], [])])], {}, ['output']);
  g.output('output', [1, 1, 'height', 'width']);
  return installModel(
    dir,
    {
      ...RGB_01,
      id,
      task: 'repair',
      output: { kind: 'mask', range: [0, 1], threshold: 0.5, grow: 1 },
      tile: { size: 96, overlap: 16 },
    },
    g.encode(),
  );
}
