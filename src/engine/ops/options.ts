import { OpOptionsSchema, type OpOptions, type OptionKey } from '../../shared/ops';
import { TintypeError } from '../errors';
import { operation } from './registry';

/**
 * Checks the options the chain's ops read against the one schema (src/shared/ops.ts) the API also
 * validates with, so the CLI, the app, the server and scripts all meet the same limits, worded the
 * same way. Options no op in the chain reads are ignored, as they always were (a scale of 1 passed
 * along with a colorize changes nothing).
 */
export function checkOptions(ops: readonly string[], options: OpOptions): void {
  const read = new Set<OptionKey>(ops.flatMap((op) => operation(op).options));
  const relevant: Record<string, unknown> = { models: options.models };
  for (const key of read) relevant[key] = options[key];
  const r = OpOptionsSchema.safeParse(relevant);
  if (r.success) return;
  const problems = r.error.issues.map((i) =>
    i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
  throw new TintypeError(`invalid options: ${problems.join('; ')}`, 'BAD_ARGUMENT');
}
