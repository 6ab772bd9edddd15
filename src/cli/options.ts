import { InvalidArgumentError } from 'commander';
import { OPS, type OpName } from '../engine/index';

/** Option parsers shared by the CLI's commands, so every command words its errors alike. */

export const numberOption =
  (name: string, min: number, max: number, integer = false) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${name} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}`,
      );
    }
    return n;
  };

export const intOption = (name: string, min: number, max: number) => numberOption(name, min, max, true);

export const parseOps = (v: string): OpName[] => {
  const ops = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as OpName[];
  if (ops.length === 0 || ops.some((o) => !OPS.includes(o))) {
    throw new InvalidArgumentError(`operations are ${OPS.join(', ')} (comma-separated)`);
  }
  return ops;
};

/** Repeatable option: each use adds one value. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
