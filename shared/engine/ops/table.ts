/**
 * The engine's op-lowering table: every op the engine runs is listed by exactly one lowering
 * module, and both the compiler and `supports()` read it from here.
 */
import type { OpLowering } from '../lowering.ts';
import { activationLowering, batchNormLowering, hardSigmoidLowering, sigmoidLowering } from './affine.ts';
import { binaryLowering } from './binary.ts';
import { convLowering } from './conv.ts';
import { gemmLowering } from './gemm.ts';
import {
  concatLowering,
  constantLowering,
  flattenLowering,
  identityLowering,
  transposeLowering,
} from './layout-ops.ts';
import { lpNormalizationLowering } from './lp-normalization.ts';
import { globalAveragePoolLowering, windowPoolLowering } from './pool.ts';
import { qdqLowering } from './qdq.ts';
import { softmaxLowering } from './softmax.ts';
import { sqrtLowering } from './sqrt.ts';

export const OP_LOWERINGS: readonly OpLowering[] = [
  convLowering,
  gemmLowering,
  batchNormLowering,
  activationLowering,
  hardSigmoidLowering,
  sigmoidLowering,
  binaryLowering,
  globalAveragePoolLowering,
  windowPoolLowering,
  flattenLowering,
  transposeLowering,
  softmaxLowering,
  lpNormalizationLowering,
  sqrtLowering,
  concatLowering,
  identityLowering,
  constantLowering,
  qdqLowering,
];

const BY_OP = new Map<string, OpLowering>();
for (const lowering of OP_LOWERINGS) {
  for (const op of lowering.ops) {
    if (BY_OP.has(op)) throw new Error(`engine: op ${op} has two lowerings`);
    BY_OP.set(op, lowering);
  }
}

/** The lowering for an op type of the default ONNX domain, if the engine has one. */
export function loweringFor(opType: string): OpLowering | undefined {
  return BY_OP.get(opType);
}

/** Every op type the engine lowers. */
export const ENGINE_OPS: ReadonlySet<string> = new Set(BY_OP.keys());
