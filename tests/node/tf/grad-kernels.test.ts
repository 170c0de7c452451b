/**
 * The wasm training kernels (training/tf/kernels) against the `cpu` backend: gradients of regular
 * and depthwise convolutions over stride 1/2, 'valid'/'same', 1×1/3×3, several channel counts and
 * batch > 1; the Tile replacement bit for bit; and memory staying flat across `fit` epochs (the
 * leak FACTS.md warns about).
 */
import type * as TF from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildArch } from '../../../training/backbones/archs.ts';
import { fitClassifier } from '../../../training/backbones/pretrain-fit.ts';
import { initTf } from '../../../training/tf/backend.ts';
import { CLIP_GRAD } from '../../../training/tf/kernels/clip-grad.ts';
import { registerWasmTrainingKernels } from '../../../training/tf/kernels/index.ts';

let tf: typeof TF;

beforeAll(async () => {
  ({ tf } = await initTf({ backend: 'wasm' }));
});

/** max |a − b| / max |b|: one number per tensor, insensitive to near-zero entries. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

interface ConvCase {
  depthwise: boolean;
  x: [number, number, number, number];
  k: number;
  /** Output channels (regular) or channel multiplier (depthwise). */
  out: number;
  stride: number;
  pad: 'valid' | 'same';
}

/**
 * Gradients of Σ conv(x, w)·r w.r.t. x and w. With this linear loss dy = r exactly on both
 * backends, so only the backprop kernels are compared (r is random, so dy is not uniform). The
 * depthwise kernels sum exact float32 products in float64 in the cpu kernel's order, so they
 * usually match it bit for bit; the regular ones run through XNNPACK and differ by rounding.
 */
function convGrads(c: ConvCase, backend: string): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const cin = c.x[3];
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 11);
    const w = tf.randomNormal([c.k, c.k, cin, c.out], 0, 1, 'float32', 12);
    const f = (xx: TF.Tensor, ww: TF.Tensor) => {
      const y = c.depthwise
        ? tf.depthwiseConv2d(xx as TF.Tensor4D, ww as TF.Tensor4D, c.stride, c.pad)
        : tf.conv2d(xx as TF.Tensor4D, ww as TF.Tensor4D, c.stride, c.pad);
      const r = tf.randomUniform(y.shape, -1, 1, 'float32', 13);
      return tf.sum(tf.mul(y, r));
    };
    const [gx, gw] = tf.grads(f)([x, w]);
    return [gx!.dataSync() as Float32Array, gw!.dataSync() as Float32Array];
  });
}

const cases: ConvCase[] = [];
for (const depthwise of [false, true]) {
  for (const stride of [1, 2]) {
    for (const pad of ['valid', 'same'] as const) {
      for (const k of [1, 3]) {
        // Odd and even sizes; 10×9 with stride 2 'valid' leaves unused rows (the slice path).
        cases.push({ depthwise, stride, pad, k, x: [2, 10, 9, 3], out: depthwise ? 1 : 4 });
        cases.push({ depthwise, stride, pad, k, x: [3, 8, 8, 8], out: depthwise ? 2 : 16 });
      }
    }
  }
}

describe('wasm gradient kernels match cpu', () => {
  const worst = { regular: 0, depthwise: 0 };

  it.each(cases)('%o', (c) => {
    const [wx, ww] = convGrads(c, 'wasm');
    const [cx, cw] = convGrads(c, 'cpu');
    const ex = relErr(wx!, cx!);
    const ew = relErr(ww!, cw!);
    const kind = c.depthwise ? 'depthwise' : 'regular';
    worst[kind] = Math.max(worst[kind], ex, ew);
    expect(ex).toBeLessThanOrEqual(1e-4);
    expect(ew).toBeLessThanOrEqual(1e-4);
    // A wrong kernel would be off by O(1), not rounding: make sure something was compared.
    expect(Math.max(...cw!.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it('reports the worst relative error', () => {
    console.log(
      `worst rel. err vs cpu: regular ${worst.regular.toExponential(2)}, depthwise ${worst.depthwise.toExponential(2)}`,
    );
    expect(worst.regular).toBeGreaterThan(0);
  });

  it('the shipped wasm kernels are what is replaced, and still agree when restored', () => {
    const c: ConvCase = { depthwise: false, stride: 2, pad: 'same', k: 3, x: [2, 9, 9, 4], out: 6 };
    registerWasmTrainingKernels({ fast: false });
    try {
      const [sx] = convGrads(c, 'wasm');
      registerWasmTrainingKernels({ fast: true });
      const [fx] = convGrads(c, 'wasm');
      expect(relErr(fx!, sx!)).toBeLessThanOrEqual(1e-5);
    } finally {
      registerWasmTrainingKernels({ fast: true });
    }
  });

  it('Tile replacement equals cpu exactly', () => {
    const shapes: [number[], number[]][] = [
      [
        [1, 1, 1, 5],
        [3, 4, 2, 1],
      ],
      [
        [2, 3, 1],
        [1, 2, 4],
      ],
      [
        [2, 3],
        [3, 1],
      ],
      [[4], [5]],
      [
        [2, 1, 3],
        [2, 3, 2],
      ],
    ];
    for (const [shape, reps] of shapes) {
      const run = (b: string) => {
        tf.setBackend(b);
        return tf.tidy(() => tf.tile(tf.randomNormal(shape, 0, 1, 'float32', 3), reps).dataSync());
      };
      expect(Array.from(run('wasm'))).toEqual(Array.from(run('cpu')));
    }
    tf.setBackend('wasm');
  });
  it("ClipByValue's gradient (a ReLU layer with maxValue, ReLU6) equals the shipped gradient exactly", async () => {
    // Values on both bounds and beyond them, zeros and a non-float32 bound.
    const x = tf.tensor4d(
      Float32Array.from(
        { length: 2 * 5 * 5 * 8 },
        (_, i) => [0, 6, -0.5, 3.25, 7, 0.1, -0][i % 7]! * (1 + (i % 3)),
      ),
      [2, 5, 5, 8],
    );
    const grads = () =>
      tf.tidy(() => {
        const w = tf.randomUniform(x.shape, -1, 1, 'float32', 23);
        const relu6 = tf.layers.reLU({ maxValue: 6 });
        const g = tf.grad((xx: TF.Tensor) => tf.sum(tf.mul(relu6.apply(xx) as TF.Tensor, w)))(x);
        const c = tf.grad((xx: TF.Tensor) => tf.sum(tf.mul(tf.clipByValue(xx, 0.1, 6.5), w)))(x);
        return [Array.from(g.dataSync()), Array.from(c.dataSync())];
      });
    try {
      const fast = grads();
      // The replacement ran (one pass per clip), and the shipped gradient does not.
      expect((await tf.profile(grads)).kernelNames).toContain(CLIP_GRAD);
      registerWasmTrainingKernels({ fast: false });
      const shipped = grads();
      expect((await tf.profile(grads)).kernelNames).not.toContain(CLIP_GRAD);
      registerWasmTrainingKernels({ fast: true });
      expect(fast).toEqual(shipped);
      expect(fast[0]!.some((v) => v !== 0)).toBe(true);
      expect(fast[0]!.some((v) => v === 0)).toBe(true);
      // Signed zeros too: +0 where the mask is off, as tfjs' zerosLike gives.
      expect(fast.flat().map((v) => Object.is(v, -0))).toEqual(shipped.flat().map((v) => Object.is(v, -0)));
    } finally {
      registerWasmTrainingKernels({ fast: true });
      x.dispose();
    }
  });
  it("Mean's gradient (BatchNorm's moments, global average pool) equals the shipped gradient exactly", async () => {
    const x = tf.randomNormal([3, 6, 5, 4], 0, 2, 'float32', 31);
    // BatchNorm's moments (all but channels), a global pool, the last axis (negative), everything.
    const cases: { axes: number | number[]; keepDims: boolean }[] = [
      { axes: [0, 1, 2], keepDims: true },
      { axes: [1, 2], keepDims: false },
      { axes: -1, keepDims: false },
      { axes: [0, 1, 2, 3], keepDims: false },
    ];
    const grads = () =>
      tf.tidy(() =>
        cases.map(({ axes, keepDims }) => {
          const m = tf.mean(x, axes, keepDims);
          const w = tf.randomUniform(m.shape, -1, 1, 'float32', 5);
          const g = tf.grad((xx: TF.Tensor) => tf.sum(tf.mul(tf.mean(xx, axes, keepDims), w)))(x);
          return Array.from(g.dataSync());
        }),
      );
    try {
      const fast = grads();
      // The replacement ran (dy / n tiled to x's shape), and the shipped gradient does not.
      expect((await tf.profile(grads)).kernelNames).toContain('Tile');
      registerWasmTrainingKernels({ fast: false });
      const shipped = grads();
      expect((await tf.profile(grads)).kernelNames).not.toContain('Tile');
      registerWasmTrainingKernels({ fast: true });
      expect(fast).toEqual(shipped);
      expect(fast.every((g) => g.length === x.size && g.some((v) => v !== 0))).toBe(true);
    } finally {
      registerWasmTrainingKernels({ fast: true });
      x.dispose();
    }
  });
  it('Identity replacement shares the buffer: a clone outlives its original, and a training step is unchanged', () => {
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor([1.5, -2, 3.25, 0], [2, 2]);
    const c = tf.clone(x);
    expect(backend.refCount(x.dataId)).toBe(2);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2, 3.25, 0]);
    c.dispose();
    // One Adam step on a dense layer with dropout-like masking: the tape clones what each
    // gradient needs, and the weights after the step are the same bits with either kernel.
    const step = () =>
      tf.tidy(() => {
        const w = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 41));
        const xs = tf.randomNormal([5, 6], 0, 1, 'float32', 42);
        const mask = tf.randomUniform([5, 6], 0, 2, 'float32', 43).floor();
        const opt = tf.train.adam(0.1);
        for (let i = 0; i < 3; i++)
          opt.minimize(() => tf.sum(tf.square(tf.sigmoid(tf.matMul(tf.mul(xs, mask), w)))) as TF.Scalar);
        opt.dispose();
        const out = Array.from(w.dataSync());
        w.dispose();
        return out;
      });
    const before = tf.memory().numTensors;
    try {
      const fast = step();
      registerWasmTrainingKernels({ fast: false });
      const shipped = step();
      registerWasmTrainingKernels({ fast: true });
      expect(fast).toEqual(shipped);
      // The step moved the weights (the comparison is not of untouched initial values).
      const initial = tf.tidy(() => Array.from(tf.randomNormal([6, 4], 0, 1, 'float32', 41).dataSync()));
      expect(fast.some((v, i) => Math.abs(v - initial[i]!) > 0.05)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      registerWasmTrainingKernels({ fast: true });
    }
  });
  it('MaxPoolGrad replacement equals the shipped kernel bit for bit, ties and empty windows included', () => {
    // Non-overlapping 2×2 (the scratch CNN's pools) over even and odd sizes, 3×3 windows, 'same'
    // on a divisible size (no padding: fast path), and overlapping windows (the fallback).
    const pools: { x: [number, number, number, number]; f: number; s: number; pad: 'valid' | 'same' }[] = [
      { x: [3, 8, 8, 5], f: 2, s: 2, pad: 'valid' },
      { x: [2, 9, 7, 4], f: 2, s: 2, pad: 'valid' },
      { x: [2, 9, 9, 3], f: 3, s: 3, pad: 'valid' },
      { x: [2, 8, 8, 3], f: 2, s: 2, pad: 'same' },
      { x: [2, 9, 9, 3], f: 3, s: 2, pad: 'valid' },
    ];
    const bits = (t: TF.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    const run = (p: (typeof pools)[number]) =>
      tf.tidy(() => {
        // A ReLU's output rounded to few values: exact zeros (whole windows of them, the first
        // window included), ties between positives, and negatives before the ReLU.
        const pre = tf.round(tf.randomNormal(p.x, 0, 1.5, 'float32', 51));
        const x = tf.relu(pre);
        const first = tf.scatterND(
          [
            [0, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 1, 0, 0],
            [0, 1, 1, 0],
          ],
          [1, 1, 1, 1],
          p.x,
        );
        const xs = tf.mul(x, tf.sub(1, first));
        const y = tf.maxPool(xs as TF.Tensor4D, p.f, p.s, p.pad);
        // Signed zeros in dy too (0 + dy·mask turns −0 into +0 in the shipped kernel).
        const dy = tf.mul(tf.round(tf.randomNormal(y.shape, 0, 1, 'float32', 52)), -1);
        const grad = tf.engine().runKernel(
          'MaxPoolGrad',
          { dy, input: xs, output: y },
          {
            filterSize: p.f,
            strides: p.s,
            pad: p.pad,
          },
        ) as TF.Tensor;
        // And through tf.grad, as training reaches it.
        const g = tf.grad((v: TF.Tensor) =>
          tf.sum(tf.mul(tf.maxPool(v as TF.Tensor4D, p.f, p.s, p.pad), dy)),
        )(xs);
        return [...bits(grad), ...bits(g)];
      });
    try {
      for (const p of pools) {
        const fast = run(p);
        registerWasmTrainingKernels({ fast: false });
        const shipped = run(p);
        registerWasmTrainingKernels({ fast: true });
        expect(fast).toEqual(shipped);
        expect(fast.some((b) => b !== 0)).toBe(true);
      }
    } finally {
      registerWasmTrainingKernels({ fast: true });
    }
  });
  it('AvgPoolGrad replacement equals the shipped kernel exactly (and cpu to rounding)', () => {
    // Global 7×7 (MobileNetV2's pool), 2×2 windows over an odd size (uncovered edge), and two
    // shapes outside the fast path (overlapping windows, 'same' padding).
    const pools: { x: [number, number, number, number]; f: number; s: number; pad: 'valid' | 'same' }[] = [
      { x: [3, 7, 7, 20], f: 7, s: 7, pad: 'valid' },
      { x: [2, 9, 8, 5], f: 2, s: 2, pad: 'valid' },
      { x: [2, 9, 9, 3], f: 3, s: 2, pad: 'valid' },
      { x: [2, 8, 8, 3], f: 2, s: 2, pad: 'same' },
    ];
    const grad = (b: string, p: (typeof pools)[number]) => {
      tf.setBackend(b);
      return tf.tidy(() => {
        const x = tf.randomNormal(p.x, 0, 1, 'float32', 21);
        const f = (xx: TF.Tensor) => {
          const y = tf.avgPool(xx as TF.Tensor4D, p.f, p.s, p.pad);
          return tf.sum(tf.mul(y, tf.randomUniform(y.shape, -1, 1, 'float32', 22)));
        };
        return Array.from(tf.grad(f)(x).dataSync());
      });
    };
    try {
      for (const p of pools) {
        const fast = grad('wasm', p);
        registerWasmTrainingKernels({ fast: false });
        const shipped = grad('wasm', p);
        registerWasmTrainingKernels({ fast: true });
        expect(fast).toEqual(shipped);
        // cpu rounds dy · (1/area) from float64 (1/area): the same values to an ulp.
        expect(relErr(Float32Array.from(fast), Float32Array.from(grad('cpu', p)))).toBeLessThanOrEqual(1e-6);
        expect(Math.max(...fast.map(Math.abs))).toBeGreaterThan(0.01);
      }
    } finally {
      registerWasmTrainingKernels({ fast: true });
      tf.setBackend('wasm');
    }
  });
});

describe('memory across fit epochs on wasm', () => {
  it('numTensors, numBytes and the wasm heap stay flat; fit releases everything', async () => {
    tf.setBackend('wasm');
    // The separable arch exercises all three added kernels and the replacements.
    const model = buildArch('small-sepcnn', { inputShape: [16, 16, 1], classes: 3, seed: 5 });
    const n = 96;
    const x = new Float32Array(n * 16 * 16);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3;
      // Class-dependent bright band, so the task is learnable and gradients are not degenerate.
      for (let p = 0; p < 256; p++)
        x[i * 256 + p] = ((p >> 4) % 3 === y[i] ? 0.8 : 0.1) + ((i * 7 + p) % 5) * 0.02;
    }
    const before = tf.memory();
    const heap = () =>
      ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
    const perEpoch: { tensors: number; bytes: number; heap: number }[] = [];
    await fitClassifier(model, {
      x,
      y,
      valX: x.slice(0, 48 * 256),
      valY: y.slice(0, 48),
      epochs: 6,
      batchSize: 16,
      lr: 1e-3,
      seed: 1,
      patience: 100,
      onEpoch: () => {
        const m = tf.memory();
        perEpoch.push({ tensors: m.numTensors, bytes: m.numBytes, heap: heap() });
      },
    });
    console.log('memory per epoch', JSON.stringify(perEpoch));
    // From epoch 2 on, the optimizer's slots and the best-weights snapshot exist: nothing may grow.
    for (const e of perEpoch.slice(2)) {
      expect(e.tensors).toBe(perEpoch[1]!.tensors);
      expect(e.bytes).toBe(perEpoch[1]!.bytes);
      expect(e.heap).toBe(perEpoch[1]!.heap);
    }
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    model.dispose();
  });
});
