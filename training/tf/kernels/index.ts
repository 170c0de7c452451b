/**
 * Kernels for training on tfjs-backend-wasm 4.22.0:
 * - missing gradient kernels (without them `fit` on a conv net fails with "Kernel
 *   'Conv2DBackpropFilter' not registered for backend 'wasm'");
 * - faster replacements for shipped kernels that dominated a training step (conv input gradient:
 *   ~6× faster; Tile: ~20× faster; AvgPoolGrad over non-overlapping windows, as in MobileNetV2's
 *   global pool, ~2× faster; Identity, which the tape calls to keep every tensor a gradient needs,
 *   sharing the buffer instead of copying it; MaxPoolGrad over non-overlapping windows, the scratch
 *   CNN's 2×2 pools, ~3× faster; BatchMatMul with a transposed operand, and Sum/Mean over leading
 *   axes, in wasm SIMD and bit-identical to the shipped ones); each falls back to the shipped
 *   kernel outside its fast path;
 * - gradients that skip work: ReLU6's in one pass, Mean's without a ones tensor filled in JS.
 * All are verified against the `cpu` backend in tests/node/tf/grad-kernels.test.ts.
 */
import {
  type GradConfig,
  getGradient,
  getKernel,
  type KernelConfig,
  registerGradient,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs';
import { clipByValueGradConfig, clipGradKernelConfig } from './clip-grad.ts';
import { avgPoolGradConfig } from './avg-pool-grad.ts';
import { batchMatMulConfig } from './batch-mat-mul.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { identityConfig } from './identity.ts';
import { leadingMeanConfig, leadingSumConfig } from './leading-sum.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.ts';
import { meanGradConfig } from './mean-grad.ts';
import { tileConfig } from './tile.ts';

/** Kernels tfjs-backend-wasm does not ship. */
export const missingWasmKernels: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  clipGradKernelConfig,
];

/** Replacements, built around the shipped kernel they fall back to. */
const replacements: Record<string, (shipped: KernelConfig) => KernelConfig> = {
  Conv2DBackpropInput: conv2DBackpropInputConfig,
  Tile: tileConfig,
  AvgPoolGrad: avgPoolGradConfig,
  Identity: identityConfig,
  MaxPoolGrad: maxPoolGradConfig,
  BatchMatMul: batchMatMulConfig,
  Sum: leadingSumConfig,
  Mean: leadingMeanConfig,
};

const shippedKernels = new Map<string, KernelConfig>();

/** Gradients replaced (on the wasm backend; they defer to the shipped one elsewhere). */
const gradientReplacements: Record<string, (shipped: GradConfig) => GradConfig> = {
  ClipByValue: clipByValueGradConfig,
  Mean: meanGradConfig,
};
const shippedGradients = new Map<string, GradConfig>();

export interface RegisterOptions {
  /** Also install the faster replacements (default true); false restores the shipped kernels. */
  fast?: boolean;
}

/**
 * Registers the missing kernels for `wasm` (once; any a future tfjs ships itself are left alone)
 * and installs or removes the replacements. Safe to call repeatedly. Returns the kernel names
 * that are ours after the call.
 */
export function registerWasmTrainingKernels(options: RegisterOptions = {}): string[] {
  const ours: string[] = [];
  for (const config of missingWasmKernels) {
    const current = getKernel(config.kernelName, 'wasm');
    if (current === undefined) registerKernel(config);
    if (current === undefined || current === config) ours.push(config.kernelName);
  }
  const fast = options.fast ?? true;
  for (const [name, build] of Object.entries(replacements)) {
    let shipped = shippedKernels.get(name);
    if (shipped === undefined) {
      shipped = getKernel(name, 'wasm');
      if (shipped === undefined) continue;
      shippedKernels.set(name, shipped);
    }
    const current = getKernel(name, 'wasm');
    const want = fast ? build(shipped) : shipped;
    if (current !== undefined) unregisterKernel(name, 'wasm');
    registerKernel(want);
    if (fast) ours.push(name);
  }
  for (const [name, build] of Object.entries(gradientReplacements)) {
    let shipped = shippedGradients.get(name);
    if (shipped === undefined) {
      shipped = getGradient(name);
      if (shipped === undefined) continue;
      shippedGradients.set(name, shipped);
    }
    registerGradient(fast ? build(shipped) : shipped);
    if (fast) ours.push(`${name} gradient`);
  }
  return ours;
}
