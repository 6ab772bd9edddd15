import { Engine } from '../src/engine';

/**
 * Helper of bench/upscayl-peer.ts: upscales one file ×4 with the engine, as the CLI does, and stops
 * after a time limit, printing how far it got and its peak RSS (JSON, last line).
 *   node --import tsx bench/_upscale-for.ts IN OUT MODEL SECONDS THREADS
 */
const [input, output, model, seconds, threads] = process.argv.slice(2);
const engine = new Engine({ ep: 'cpu', threads: Number(threads) });
const t0 = performance.now();
let fraction = 0;
const report = () =>
  console.log(
    JSON.stringify({
      fraction,
      seconds: (performance.now() - t0) / 1000,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    }),
  );
const stop = setTimeout(
  () => {
    report();
    process.exit(0);
  },
  Number(seconds) * 1000,
);
await engine.processFile(
  { input, output, ops: ['upscale'], options: { scale: 4, models: { upscale: model } }, overwrite: true },
  (e) => {
    if (e.stage === 'upscale') fraction = e.fraction;
  },
);
clearTimeout(stop);
fraction = 1;
report();
