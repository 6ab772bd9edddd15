import type { YuvMatrixName } from '../types';
import type { ColorInfo } from './probe';

/**
 * The YUV<->RGB matrix used both when decoding to RGB and when encoding back, so a pass through
 * Tintype does not shift colours. Untagged files get what players assume: BT.709 from 720 lines up.
 */
export function swsMatrix(space: string | undefined, height: number): YuvMatrixName {
  switch (space) {
    case 'bt709':
      return 'bt709';
    case 'smpte170m':
    case 'bt470bg':
      return 'bt601';
    case 'bt2020nc':
    case 'bt2020c':
      return 'bt2020';
    case 'smpte240m':
      return 'smpte240m';
    case 'fcc':
      return 'fcc';
    default:
      return height >= 720 ? 'bt709' : 'bt601';
  }
}

export function swsRange(range: string | undefined): 'tv' | 'pc' {
  return range === 'pc' || range === 'jpeg' ? 'pc' : 'tv';
}

/** Encoder flags that tag the output with the source's colour description (what the source stated, plus the range). */
export function colorTagArgs(c: ColorInfo, opts: { rgb: boolean }): string[] {
  const args: string[] = [];
  if (c.primaries) args.push('-color_primaries', c.primaries);
  if (c.transfer) args.push('-color_trc', c.transfer);
  if (opts.rgb) args.push('-colorspace', 'rgb');
  else if (c.space && c.space !== 'gbr' && c.space !== 'rgb') args.push('-colorspace', c.space);
  // Always state the range we converted to: rawvideo RGB input is "full range", and without this the
  // encoder would flag limited-range YUV as full (yuvj) and players would show washed-out colours.
  if (!opts.rgb) args.push('-color_range', swsRange(c.range));
  return args;
}
