import { propagateHints } from './src/engine/ops/hints/propagate';
import { parseHintFile } from './src/shared/hints';
const W = 4000, H = 3000, gw = 320, gh = 240;
const lum = new Float32Array(gw * gh); for (let i = 0; i < lum.length; i++) lum[i] = 0.3 + 0.4 * (((i * 7919) % 251) / 251) * 0.1 + ((i % gw) > 160 ? 0.3 : 0);
const colours = ['#c03020', '#2050c0', '#30a040', '#d0a020', '#8040a0'];
const hints = (parseHintFile(JSON.stringify({ hints: Array.from({ length: 10 }, (_, k) => ({ points: Array.from({ length: 24 }, (_, i) => [W * (0.1 + 0.8 * ((k * 0.37) % 1)) + 300 * Math.cos(i / 5), H * (0.1 + 0.8 * ((k * 0.61) % 1)) + 200 * Math.sin(i / 4)]), radius: 26, color: colours[k % 5] })) })) as any).hints;
for (let k = 0; k < 4; k++) { const c0 = process.cpuUsage(); const t0 = performance.now(); propagateHints(hints, W, H, lum, gw, gh); const c = process.cpuUsage(c0); console.log('prop wall', (performance.now() - t0).toFixed(0), 'cpu', ((c.user + c.system) / 1000).toFixed(0)); }
