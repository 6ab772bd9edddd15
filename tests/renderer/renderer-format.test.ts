import { describe, expect, it } from 'vitest';
import { formatFilmLength, modelNameParts } from '../../src/renderer/src/format';

describe('what the UI prints', () => {
  it('a film\'s length as players show it (a capitalised "4s" read as 45)', () => {
    expect([4, 59.6, 75, 3723, null].map(formatFilmLength)).toEqual(['0:04', '1:00', '1:15', '1:02:03', '–']);
  });

  it("a model's name split into what a select field shows and what its list adds", () => {
    expect(modelNameParts('Tintype Colorize (pretrained MobileNetV2 encoder, CPU-trained)')).toEqual({
      short: 'Tintype Colorize',
      detail: 'pretrained MobileNetV2 encoder, CPU-trained',
    });
    expect(modelNameParts('Real-ESRGAN ×4plus')).toEqual({ short: 'Real-ESRGAN ×4plus', detail: null });
    expect(modelNameParts('Tintype Colorize, video (steadier, paler colour)').short).toBe(
      'Tintype Colorize, video',
    );
  });
});
