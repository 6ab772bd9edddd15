import { main } from './cli';

// Entry of out/main/serve.js.
main(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`tintype serve: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
