import { readRawPng } from './png-raw.ts';
import { pngToImage } from './png.ts';
import type { ImageHeader } from './header.ts';
import type { PixelData } from './resize.ts';
import { TriangleResizer } from './resize-triangle.ts';
import { rgbToGrey } from './tensor.ts';

/**
 * A non-interlaced PNG decoded band by band (png-raw.ts) straight into the antialiased resize, so
 * the picture never exists whole: memory is a band of rows plus the resize's horizontally reduced
 * rows (outWidth × height), whatever the upload's width. Every band goes through the same
 * conversions as a whole-picture decode (png.ts: palette, 16-bit, alpha on white; grey → RGB
 * unless the model wants grey, then colour → grey as writeImageTensor does), and the resize's sums
 * are the same, so the samples are bit-identical to decodeImage + resizeTriangle.
 */
export function decodePngResized(
  bytes: Uint8Array,
  header: ImageHeader,
  outWidth: number,
  outHeight: number,
  grey: boolean,
  inflated?: Uint8Array,
): PixelData & { data: Float32Array } {
  let resizer: TriangleResizer | undefined;
  readRawPng(
    bytes,
    header,
    (band) => {
      const image = pngToImage(band, grey);
      const rows = grey ? rgbToGrey(image) : image;
      resizer ??= new TriangleResizer(header.width, header.height, rows.channels, outWidth, outHeight);
      resizer.addRows(rows.data, band.height);
    },
    inflated,
  );
  if (!resizer) throw new RangeError('a PNG without rows');
  return { width: outWidth, height: outHeight, channels: resizer.channels, data: resizer.finish() };
}

/** Streaming applies to non-interlaced PNGs that the triangle resize changes in size. */
export function streamsPng(header: ImageHeader, width: number, height: number): boolean {
  return (
    header.format === 'png' && !header.progressive && (header.width !== width || header.height !== height)
  );
}
