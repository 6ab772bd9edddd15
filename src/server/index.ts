import { errorMessage } from '../shared/errors';
import { main } from './cli';

// Entry of out/main/serve.js.
main(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`tintype serve: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
