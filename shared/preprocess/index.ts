/**
 * Image preprocessing: the ONE implementation shared by training (Node) and the edge (workerd):
 * sniff → header limits → decode (own JPEG decoder with DCT-domain shrink-on-load; own PNG
 * unfiltering over fflate's inflate; libwebp as wasm; omggif) → EXIF orientation → resize →
 * tensor. Pure JS or wasm instantiated from the same module bytes, so both decode bit-identically
 * (tested in both).
 */
export { type CodecModules, installCodecs } from './codecs.ts';
export { installJpegModule } from './jpeg/wasm.ts';
export { installResizeModule } from './resize-wasm.ts';
export { type Orientation, readExifOrientation } from './exif.ts';
export { applyOrientation } from './orient.ts';
export { resizeTriangle } from './resize-triangle.ts';
export { type DecodeTarget, jpegShrinkFactor } from './shrink.ts';
export { type DecodedImage, type DecodeOptions, decodeImage } from './decode.ts';
export { checkImageLimits, type ImageHeader, readImageHeader, sniffImageFormat } from './header.ts';
export {
  decodeTargetFor,
  type PreprocessedImage,
  preprocessBytes,
  preprocessBytesAsync,
} from './preprocess.ts';
export { type PixelData, resizeBilinear, resizeImage } from './resize.ts';
export {
  imagesToTensor,
  imageToTensor,
  rgbToGrey,
  tensorDims,
  tensorSize,
  writeImageTensor,
} from './tensor.ts';
export { DEFAULT_MAX_PIXELS, type ImageFormat, type ImageLimits, MAX_SIDE, type RawImage } from './types.ts';
