/**
 * Start-up warm-up of image preprocessing. In a fresh isolate the first request's decode + resize
 * runs on cold code: every JS function of the path is compiled on its first call and the codecs'
 * wasm starts in the baseline compiler; the cold-start bench (bench/int8-cold.ts) measured a
 * first 187×187 PNG → 224×224 preprocess about three times the second. Decoding a tiny picture of
 * each format through the real path (preprocessBytes) at the Worker's global scope moves that to
 * start-up. PNG (decoded in bands into the resize) and JPEG (decoded whole, then resized) run to a
 * model's usual input size, so the two resize paths' per-sample loops run as often as a real
 * request's; WebP shares JPEG's resize, so its picture only goes to a small size (less start-up).
 *
 * Nothing here changes what a later request computes: decoders and the resize keep no state
 * between calls except instances and memories they reuse anyway (checked bit for bit in
 * tests/workers/preprocess-warmup.test.ts).
 */
import type { PreprocessSpec } from '../manifest/preprocess.ts';
import { preprocessBytes } from './preprocess.ts';
import { WARMUP_JPEG_BASE64, WARMUP_PNG_BASE64, WARMUP_WEBP_BASE64 } from './warmup-images.ts';

/** What new exports record (CURRENT_RESIZE), at the reference backbones' input size. */
export const WARMUP_SPEC: PreprocessSpec = {
  width: 224,
  height: 224,
  channels: 3,
  layout: 'NCHW',
  resize: 'triangle-fast',
  scale: 1,
  mean: [0],
  std: [1],
  invert: false,
};

export type WarmUpFormat = 'png' | 'jpeg' | 'webp';

const IMAGES: Record<WarmUpFormat, { base64: string; spec: PreprocessSpec }> = {
  png: { base64: WARMUP_PNG_BASE64, spec: WARMUP_SPEC },
  jpeg: { base64: WARMUP_JPEG_BASE64, spec: WARMUP_SPEC },
  webp: { base64: WARMUP_WEBP_BASE64, spec: { ...WARMUP_SPEC, width: 32, height: 32 } },
};

function bytesOf(base64: string): Uint8Array {
  const binary = atob(base64);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * Decodes and resizes the embedded picture of each format given (the codecs must be installed:
 * installCodecs; WebP only once its promise has resolved). Throws what the path throws.
 */
export function warmUpPreprocessing(formats: readonly WarmUpFormat[]): void {
  for (const f of formats) preprocessBytes(bytesOf(IMAGES[f].base64), IMAGES[f].spec);
}
