/**
 * The file name a finished render leaves the app under (a browser download, a drag out of the
 * window): the item's name without its extension, "-tintype", and the render's own extension.
 */
export function renderFileName(itemName: string, outputPath: string): string {
  const stem = itemName.replace(/\.[^.]+$/, '');
  const ext = /\.[^./\\]+$/.exec(outputPath)?.[0] ?? '';
  return `${stem}-tintype${ext}`;
}
