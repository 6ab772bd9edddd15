// Kept free of sharp so light callers (the CLI's file scan, the app's main process) load no native code.
export const READABLE_FORMATS = ['jpeg', 'png', 'tiff', 'webp'] as const;
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'];
