import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { parseHintFile, type Hint } from '../shared/hints';
import {
  operations,
  RENDER_SIZE_LIMITS,
  SCALE_LIMITS,
  SATURATION_LIMITS,
  type OpName,
} from '../engine/index';

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
  const known = opNames();
  if (ops.length === 0 || ops.some((o) => !known.includes(o))) {
    throw new InvalidArgumentError(`operations are ${known.join(', ')} (comma-separated)`);
  }
  return ops;
};

/** Every registered operation's name, in pipeline order. */
export const opNames = (): OpName[] => operations().map((o) => o.name as OpName);

/** `--ops` help: "comma-separated: restore,colorize,upscale". */
export const opsHelp = (): string => `comma-separated: ${opNames().join(',')}`;

// The engine's limits (src/shared/ops.ts), so the CLI refuses what the engine would, in the CLI's words.
export const renderSizeOption = () =>
  intOption('render size', RENDER_SIZE_LIMITS.min, RENDER_SIZE_LIMITS.max);
export const scaleOption = () => intOption('scale', SCALE_LIMITS.min, SCALE_LIMITS.max);
export const saturationOption = () =>
  numberOption('saturation', SATURATION_LIMITS.min, SATURATION_LIMITS.max);

/**
 * `--hints hints.json`: colour hints for colorize, in the picture's pixels (src/shared/hints.ts).
 * A file that cannot be read or is not a valid hint file is refused before any work, by name.
 */
export const hintsOption = (file: string): Hint[] => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`${file}: cannot read the hint file (${(err as Error).message})`);
  }
  const r = parseHintFile(text);
  if (!r.ok) throw new InvalidArgumentError(`${file}: not a valid hint file: ${r.error}`);
  return r.hints;
};

/** The options of the operations (models, render size, scale, saturation): the same for photos and films. */
export function addOpOptions(cmd: Command): Command {
  return cmd
    .option('--model <id>', 'model to use (repeatable: one per operation)', collect)
    .option(
      '--render-size <px>',
      'colorize render size, 224–360 for DeOldify-style models (render_factor = size/16)',
      renderSizeOption(),
    )
    .option('--scale <n>', 'upscale factor', scaleOption())
    .option('--saturation <x>', 'colorize chroma strength, 1 = as predicted', saturationOption())
    .option(
      '--force-colour',
      'colorize inputs that already have colour too (they are skipped by default: colorize would replace their colours)',
    );
}

/** The line the CLI prints for an input left out because it already has colour. */
export const colourSkipLine = (input: string, reason: string): string =>
  `skipped: ${input}: ${reason} (--force-colour colorizes it anyway)`;

/** Repeatable option: each use adds one value. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
