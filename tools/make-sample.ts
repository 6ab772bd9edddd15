/**
 * Draws the sample picture the README's quick start upscales: a small greyscale "harbour" scene,
 * made here from shapes (no photo from elsewhere is copied into the repository).
 * Run: npx tsx tools/make-sample.ts
 */
import sharp from 'sharp';
import { join } from 'node:path';

const W = 320;
const H = 200;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const boats = Array.from({ length: 5 }, (_, i) => {
  const x = 20 + i * 60 + rand() * 20;
  const y = 130 + rand() * 30;
  const s = 0.7 + rand() * 0.6;
  return `<g transform="translate(${x.toFixed(1)} ${y.toFixed(1)}) scale(${s.toFixed(2)})">
    <path d="M0 0 L40 0 L34 10 L6 10 Z" fill="#3a3a3a"/>
    <line x1="20" y1="0" x2="20" y2="-38" stroke="#222" stroke-width="1.5"/>
    <path d="M21 -36 L21 -4 L38 -4 Z" fill="#d8d8d8"/></g>`;
}).join('\n');
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#9aa8b8"/><stop offset="1" stop-color="#e9e4da"/></linearGradient>
    <linearGradient id="sea" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6d7b86"/><stop offset="1" stop-color="#2f3a42"/></linearGradient>
  </defs>
  <rect width="${W}" height="120" fill="url(#sky)"/>
  <circle cx="250" cy="45" r="18" fill="#f4f1e8"/>
  <path d="M0 120 L40 88 L70 100 L110 70 L150 98 L200 84 L240 104 L320 92 L320 120 Z" fill="#55606a"/>
  <rect x="150" y="66" width="14" height="40" fill="#cfc8bb"/><path d="M148 66 L157 52 L166 66 Z" fill="#7a6f66"/>
  <rect y="120" width="${W}" height="${H - 120}" fill="url(#sea)"/>
  ${Array.from({ length: 40 }, () => `<line x1="${(rand() * W).toFixed(0)}" y1="${(125 + rand() * 70).toFixed(0)}" x2="${(rand() * W).toFixed(0)}" y2="${(125 + rand() * 70).toFixed(0)}" stroke="#8d99a3" stroke-width="0.6" opacity="0.5"/>`).join('')}
  ${boats}
</svg>`;
await sharp(Buffer.from(svg)).greyscale().blur(0.6).png({ compressionLevel: 9 }).toFile(join(import.meta.dirname, '..', 'resources', 'samples', 'harbour.png'));
console.log('wrote resources/samples/harbour.png');
