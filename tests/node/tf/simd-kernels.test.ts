/**
 * The SIMD replacements for BatchMatMul (transposed operands, batches) and Sum/Mean over leading
 * axes (training/tf/kernels/batch-mat-mul.ts, leading-sum.ts) against the shipped tfjs-wasm
 * kernels: every float bit for bit, over shapes around the tile (4×8), vector (4) and k-block (48)
 * boundaries, both transposes and batches > 1; and a dense model's gradients.
 */
import type * as TF from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initTf } from '../../../training/tf/backend.ts';
import { batchMatMulConfig } from '../../../training/tf/kernels/batch-mat-mul.ts';
import { registerWasmTrainingKernels } from '../../../training/tf/kernels/index.ts';
import { leadingMeanConfig, leadingSumConfig } from '../../../training/tf/kernels/leading-sum.ts';

let tf: typeof TF;

beforeAll(async () => {
  ({ tf } = await initTf({ backend: 'wasm' }));
});

afterEach(() => {
  registerWasmTrainingKernels({ fast: true });
});

const bits = (t: TF.Tensor): number[] =>
  Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

/** A kernel name and the replacement we build for it around the shipped kernel. */
type Ours = [string, (shipped: TF.KernelConfig) => TF.KernelConfig];
const MATMUL: Ours = ['BatchMatMul', batchMatMulConfig];
const SUM: Ours = ['Sum', leadingSumConfig];
const MEAN: Ours = ['Mean', leadingMeanConfig];

/**
 * Installs our kernels built around a "shipped" kernel that throws, so that `f` proves it ran
 * on our fast path and not on the fallback.
 */
function withoutFallback<T>(ours: Ours[], f: () => T): T {
  try {
    for (const [name, build] of ours) {
      const refuse = () => {
        throw new Error(`${name}: fell back to the shipped kernel`);
      };
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(build({ kernelName: name, backendName: 'wasm', kernelFunc: refuse }));
    }
    return f();
  } finally {
    registerWasmTrainingKernels({ fast: true });
  }
}

/**
 * Runs `f` on the shipped kernels and on ours (those in `ours` on their fast paths only); returns
 * both results' bits.
 */
function both(ours: Ours[], f: () => TF.Tensor[]): { shipped: number[][]; fast: number[][] } {
  registerWasmTrainingKernels({ fast: false });
  const shipped = tf.tidy(() => f().map(bits));
  registerWasmTrainingKernels({ fast: true });
  const fast = withoutFallback(ours, () => tf.tidy(() => f().map(bits)));
  return { shipped, fast };
}

describe('BatchMatMul replacement', () => {
  const sizes = [1, 3, 4, 5, 8, 9, 10, 17, 33];
  const ks = [1, 7, 47, 48, 49, 96, 101];
  const transposes = [
    [true, false],
    [false, true],
    [true, true],
  ] as const;

  it('equals the shipped slow path bit for bit over shapes, transposes and batches', () => {
    let seed = 1;
    const cases: [number, number, number, number, boolean, boolean][] = [];
    // 3 and 7 are coprime: the 81 shapes cycle through every transpose × k pairing.
    for (const m of sizes)
      for (const n of sizes) {
        const c = cases.length;
        const [ta, tb] = transposes[c % 3]!;
        cases.push([1, m, n, ks[c % ks.length]!, ta, tb]);
      }
    for (const k of ks)
      for (const [ta, tb] of transposes) cases.push([1, 12, 16, k, ta, tb], [3, 5, 13, k, ta, tb]);
    cases.push([2, 9, 17, 50, false, false], [4, 64, 10, 64, true, false], [1, 64, 1280, 10, false, true]);
    cases.push([1, 1280, 10, 64, true, false], [2, 3, 2, 1, true, true]);
    const f = () =>
      cases.map(([batch, m, n, k, ta, tb]) => {
        const a = tf.randomNormal(
          batch > 1 ? [batch, ta ? k : m, ta ? m : k] : [ta ? k : m, ta ? m : k],
          0,
          1,
          'float32',
          seed++,
        );
        const b = tf.randomNormal(
          batch > 1 ? [batch, tb ? n : k, tb ? k : n] : [tb ? n : k, tb ? k : n],
          0,
          1,
          'float32',
          seed++,
        );
        return tf.matMul(a, b, ta, tb);
      });
    const { shipped, fast } = both([MATMUL], () => {
      seed = 1;
      return f();
    });
    expect(fast.length).toBe(cases.length);
    for (let c = 0; c < cases.length; c++) expect(fast[c], `case ${cases[c]!.join(',')}`).toEqual(shipped[c]);
  });

  it('keeps -0 as the shipped kernel does, and NaN/Infinity in their elements', () => {
    const { shipped, fast } = both([MATMUL], () => {
      const a = tf.tensor2d([-0, 0, Number.POSITIVE_INFINITY, 1, -0, -0, 2, 3, 4, 5, 6, 7], [4, 3]);
      const b = tf.tensor2d([-0, 1, -0, 2, Number.NaN, 3, -0, -0, 1], [3, 3]);
      return [tf.matMul(a, b, false, true), tf.matMul(a.transpose(), b, true, true)];
    });
    expect(fast).toEqual(shipped);
  });
});

describe('Sum/Mean over leading axes', () => {
  it('equal the shipped kernels bit for bit', () => {
    const shapes: number[][] = [
      [7, 13],
      [64, 10],
      [1, 5],
      [5, 1],
      [3, 4, 5, 6],
      [2, 9, 9, 32],
      [130, 3],
      [4, 1281],
    ];
    const f = () =>
      shapes.flatMap((shape, s) => {
        const x = tf.randomNormal(shape, 0, 3, 'float32', 100 + s);
        const lead = shape.length === 4 ? [0, 1, 2] : [0];
        return [
          tf.sum(x, lead),
          tf.mean(x, lead),
          tf.sum(x, lead, true),
          tf.mean(x, lead, true),
          tf.sum(x, shape.length === 4 ? [0, 1] : [0]),
        ];
      });
    const { shipped, fast } = both([SUM, MEAN], f);
    expect(fast).toEqual(shipped);
  });

  it('leave other axes, orders and dtypes to the shipped kernels', () => {
    registerWasmTrainingKernels({ fast: false });
    const shipped = tf.tidy(() => {
      const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 7);
      return [tf.sum(x, [1, 0]), tf.mean(x, [0, 2]), tf.sum(x), tf.sum(x.toInt(), 0)].map((t) =>
        Array.from(t.dataSync()),
      );
    });
    registerWasmTrainingKernels({ fast: true });
    const fast = tf.tidy(() => {
      const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 7);
      return [tf.sum(x, [1, 0]), tf.mean(x, [0, 2]), tf.sum(x), tf.sum(x.toInt(), 0)].map((t) =>
        Array.from(t.dataSync()),
      );
    });
    expect(fast).toEqual(shipped);
    expect(() =>
      withoutFallback([SUM], () => tf.tidy(() => tf.sum(tf.ones([3, 4, 5]), [1, 0]).dataSync())),
    ).toThrow('fell back');
  });
});

describe('a dense model on the replacements', () => {
  it('has the shipped kernels’ gradients bit for bit', () => {
    const grads = () => {
      const x = tf.randomNormal([70, 50], 0, 1, 'float32', 21);
      const w1 = tf.randomNormal([50, 33], 0, 0.2, 'float32', 22);
      const b1 = tf.randomNormal([33], 0, 0.2, 'float32', 23);
      const w2 = tf.randomNormal([33, 10], 0, 0.2, 'float32', 24);
      const labels = tf.oneHot(
        tf.tensor1d(
          [...Array(70).keys()].map((i) => i % 10),
          'int32',
        ),
        10,
      );
      const loss = (p: TF.Tensor[]) =>
        tf.losses.softmaxCrossEntropy(
          labels,
          tf.matMul(tf.relu(tf.add(tf.matMul(x, p[0]!), p[1]!)), p[2]!),
        ) as TF.Scalar;
      const g = tf.grads((p0: TF.Tensor, p1: TF.Tensor, p2: TF.Tensor) => loss([p0, p1, p2]));
      return g([w1, b1, w2]);
    };
    // Its gradients also reduce inner axes (softmax, the loss's mean), so fallbacks are allowed.
    const { shipped, fast } = both([], grads);
    expect(fast).toEqual(shipped);
    expect(fast.every((g) => g.some((v) => v !== 0))).toBe(true);
  });
});
