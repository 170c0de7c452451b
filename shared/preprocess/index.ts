/**
 * Image preprocessing: the ONE implementation shared by training (Node) and the edge (workerd).
 * Pure JavaScript throughout (fast-png, fflate, jpeg-js), so both decode bit-identically.
 */
export { type DecodedImage, type DecodeOptions, decodeImage } from './decode.ts';
export { checkImageLimits, type ImageHeader, readImageHeader, sniffImageFormat } from './header.ts';
export { type PreprocessedImage, preprocessBytes } from './preprocess.ts';
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
