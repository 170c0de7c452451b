/** Keras class name → converter. Anything not listed fails with a message naming layer and class. */
import type { LayerConverter } from './layer.ts';
import * as act from './layers/activations.ts';
import { conv2d, depthwiseConv2d, separableConv2d } from './layers/conv.ts';
import { identity, rescaling } from './layers/core.ts';
import { dense } from './layers/dense.ts';
import * as merge from './layers/merge.ts';
import { batchNormalization } from './layers/normalization.ts';
import * as pool from './layers/pooling.ts';
import * as shape from './layers/shape.ts';

export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  BatchNormalization: batchNormalization,
  Dense: dense,
  Activation: act.activation,
  ReLU: act.relu,
  LeakyReLU: act.leakyRelu,
  ELU: act.elu,
  ThresholdedReLU: act.thresholdedRelu,
  PReLU: act.prelu,
  Softmax: act.softmax,
  ZeroPadding2D: shape.zeroPadding2d,
  Cropping2D: shape.cropping2d,
  UpSampling2D: shape.upSampling2d,
  Flatten: shape.flatten,
  Reshape: shape.reshape,
  MaxPooling2D: pool.maxPooling2d,
  AveragePooling2D: pool.averagePooling2d,
  GlobalAveragePooling2D: pool.globalAveragePooling2d,
  GlobalMaxPooling2D: pool.globalMaxPooling2d,
  Add: merge.add,
  Subtract: merge.subtract,
  Multiply: merge.multiply,
  Average: merge.average,
  Maximum: merge.maximum,
  Minimum: merge.minimum,
  Concatenate: merge.concatenate,
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Rescaling: rescaling,
};

export function supportedLayerClasses(): string[] {
  return Object.keys(LAYER_CONVERTERS).sort();
}
