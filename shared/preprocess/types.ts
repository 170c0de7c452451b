/**
 * A decoded image in memory: 8-bit samples, rows top to bottom, pixels interleaved
 * (grey: 1 byte per pixel; colour: R, G, B). Alpha never survives decoding (see decode.ts).
 */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Formats sniffed from magic bytes; AVIF and HEIC are recognised only to be refused precisely. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'avif' | 'heic';

/** Bounds applied before any decompression (the edge sets them from its config). */
export interface ImageLimits {
  /** Largest accepted encoded size in bytes. */
  maxBytes?: number;
  /** Largest accepted width × height, read from the header before decoding. */
  maxPixels?: number;
  maxWidth?: number;
  maxHeight?: number;
}

/** 40 megapixels: a 48 MP phone photo is refused, anything a camera app sends by default is not. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** Side limit of PNG/JPEG headers we accept (JPEG cannot exceed 65535 anyway). */
export const MAX_SIDE = 65_535;
