/** Training-time forward pass of a transfer model: the suffix in inference mode (BN folded), seeded dropout in the head. */
import type * as TF from '@tensorflow/tfjs';
import type { HeadSpec } from './head.ts';
import type { Forward } from './loop.ts';
import { seededDropout } from './loop.ts';
import type { TrainableParts } from './suffix.ts';

export function transferForward(parts: TrainableParts, head: HeadSpec): Forward {
  return (xs, training, rng) => {
    let f = parts.featureModel ? (parts.featureModel.apply(xs, { training: false }) as TF.Tensor) : xs;
    if (training) f = seededDropout(f, head.dropout, rng);
    if (parts.hidden) {
      f = parts.hidden.apply(f) as TF.Tensor;
      if (training) f = seededDropout(f, head.dropout, rng);
    }
    return parts.output.apply(f) as TF.Tensor2D;
  };
}
