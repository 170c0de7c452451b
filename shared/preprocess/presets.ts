/**
 * Named input conventions of common model families, as PreprocessSpec value fields
 * (value = (pixel / 255 · scale − mean[c]) / std[c], channels in `channelOrder`).
 */
import type { PreprocessSpec } from '../manifest/preprocess.ts';

export type PreprocessValues = Pick<PreprocessSpec, 'scale' | 'mean' | 'std' | 'channelOrder'>;

export const PREPROCESS_PRESETS = {
  /** torchvision / timm: 0..1, then ImageNet mean and std per RGB channel. */
  imagenet: { scale: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'rgb' },
  /** Keras Inception/MobileNet `preprocess_input` and TF Hub: −1..1. */
  inception: { scale: 2, mean: [1], std: [1], channelOrder: 'rgb' },
  /** 0..1. */
  unit: { scale: 1, mean: [0], std: [1], channelOrder: 'rgb' },
  /** Caffe / Keras ResNet50 and VGG: BGR, 0..255 minus the ImageNet mean pixel (BGR order). */
  caffe: { scale: 255, mean: [103.939, 116.779, 123.68], std: [1], channelOrder: 'bgr' },
} as const satisfies Record<string, PreprocessValues>;

export type PreprocessPreset = keyof typeof PREPROCESS_PRESETS;

export const PRESET_NAMES = Object.keys(PREPROCESS_PRESETS) as PreprocessPreset[];

export function presetValues(name: PreprocessPreset): PreprocessValues {
  const p = PREPROCESS_PRESETS[name];
  return { scale: p.scale, mean: [...p.mean], std: [...p.std], channelOrder: p.channelOrder };
}
