import { encodeModel } from '../../shared/onnx/proto.ts';
import { cutAt } from '../../shared/onnx/surgery.ts';
import type { TrainBackbone } from '../train/backbone.ts';
import type { FreezePlan } from '../train/plan.ts';
import type { Prefix } from './extract.ts';

/** The frozen prefix of a backbone under a freeze plan: what `train` and `features` both run and cache. */
export function frozenPrefix(backbone: TrainBackbone, plan: FreezePlan): Prefix {
  return {
    bytes: () => encodeModel(cutAt(backbone.model, plan.boundary)),
    backboneSha256: backbone.sha256,
    boundary: plan.boundary,
    itemDims: plan.boundaryDims,
    preprocess: backbone.preprocess,
  };
}
