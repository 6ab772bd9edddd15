import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { generated } from '../../tools/hints-graph/index';

it('the committed colour-hint graphs are what tools/hints-graph writes', () => {
  const committed = readFileSync(
    join(import.meta.dirname, '../../src/engine/ops/hints/graph.generated.ts'),
    'utf8',
  );
  expect(committed === generated(), 'run: npx tsx tools/hints-graph/index.ts').toBe(true);
});
