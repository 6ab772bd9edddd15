/**
 * Renders build/icon.svg into the PNG sizes electron-builder uses (it derives .ico and .icns from
 * build/icon.png). Run: npx tsx build/make-icons.ts
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const here = import.meta.dirname;
const svg = join(here, 'icon.svg');
await sharp(svg, { density: 300 }).resize(1024, 1024).png().toFile(join(here, 'icon.png'));
mkdirSync(join(here, 'icons'), { recursive: true });
for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  await sharp(svg, { density: 300 })
    .resize(size, size)
    .png()
    .toFile(join(here, 'icons', `${size}x${size}.png`));
}
console.log('icons written to', here);
