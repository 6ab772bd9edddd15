import sharp from 'sharp';

/** A greyscale "scan" with real texture, so JPEG size and decode cost are a photo's. */
export async function greyScan(path: string, width: number, height: number): Promise<void> {
  const noise = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .blur(1.2)
    .greyscale()
    .jpeg({ quality: 90 })
    .toBuffer();
  await sharp(noise).toFile(path);
}
