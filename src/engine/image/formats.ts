// Kept free of sharp so light callers (the CLI's file scan, the app's main process) load no native code.
/** What sharp reports for the inputs Tintype decodes. 'heif' covers AVIF and AV1-coded HEIC. */
export const READABLE_FORMATS = ['jpeg', 'png', 'tiff', 'webp', 'gif', 'heif'] as const;
export const IMAGE_EXTENSIONS = [
  '.jpg',
  '.jpeg',
  '.png',
  '.tif',
  '.tiff',
  '.webp',
  '.gif',
  '.avif',
  '.heic',
  '.heif',
];
/** Inputs whose own format Tintype also writes; the others (GIF, AVIF, HEIC) become PNG by default. */
export const WRITABLE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'];
