import { TintypeError } from '../errors';
import { OPS, type OpName } from '../types';

/** Ops always run restore → colorize → upscale: repair at the source size, colour, then enlarge. */
export function orderedOps(ops: readonly OpName[]): OpName[] {
  const unknown = ops.filter((o) => !OPS.includes(o));
  if (unknown.length)
    throw new TintypeError(
      `unknown operation(s): ${unknown.join(', ')} (use ${OPS.join(', ')})`,
      'BAD_ARGUMENT',
    );
  if (ops.length === 0) throw new TintypeError('no operation given', 'BAD_ARGUMENT');
  return OPS.filter((o) => ops.includes(o));
}
