/**
 * CNN architectures for `edgetune pretrain`: small nets trained from scratch on an abundant task,
 * then exported to ONNX and reused as backbones.
 *
 * Every layer is of a class the tfjs→ONNX converter handles (Conv2D, DepthwiseConv2D,
 * BatchNormalization, ReLU, MaxPooling2D, GlobalAveragePooling2D, Dropout, Dense), and the
 * embedding layer is always named `features` (the global-average-pool output), which is what
 * `train` and the embedding endpoint read.
 *
 * BatchNormalization uses momentum 0.9, not Keras' 0.99: with 0.99 a small CNN trained from
 * scratch collapsed to a single class here (FACTS.md); 0.9 trains reliably.
 */
import * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';

export interface ArchOptions {
  /** [height, width, channels], channels-last; 1 for grey, 3 for colour. */
  inputShape: [number, number, number];
  classes: number;
  /** Seeds every initialiser (each layer gets seed + its index), so weights are reproducible. */
  seed: number;
  /**
   * For inputs larger than the architecture is sized for: a 2×2 average pool of the input, then
   * the first conv at stride 2, so every block works at a quarter of the input's side (each
   * block's cost is proportional to its area: a sixteenth). Off by default.
   */
  reduceInput?: boolean;
}

/** One conv block: 3×3 conv (no bias) → BN → ReLU, then optionally 2×2 max-pool. */
interface Block {
  filters: number;
  /** 'depthwise' = DepthwiseConv2D 3×3 followed by a 1×1 Conv2D (a separable block). */
  kind: 'conv' | 'depthwise';
  pool: boolean;
}

interface ArchSpec {
  description: string;
  blocks: Block[];
  dropout: number;
}

const c = (filters: number, pool: boolean): Block => ({ filters, kind: 'conv', pool });
const d = (filters: number, pool: boolean): Block => ({ filters, kind: 'depthwise', pool });

const specs: Record<string, ArchSpec> = {
  'small-cnn': {
    description:
      '4 blocks of Conv2D 3×3 (32-48-64-96 filters) + BN + ReLU, 2×2 max-pool after the first three, ' +
      'global average pool `features` (96-d) → dropout 0.25 → dense softmax. ~98k parameters at ' +
      '28×28×1 with 10 classes; ~4.8M multiply-adds per 28×28 image. For small grey or colour images (28–64 px).',
    blocks: [c(32, true), c(48, true), c(64, true), c(96, false)],
    dropout: 0.25,
  },
  'tiny-cnn': {
    description:
      '3 blocks of Conv2D 3×3 (16-32-48 filters) + BN + ReLU with 2×2 max-pools, global average pool ' +
      '`features` (48-d) → dropout 0.1 → dense softmax. ~19k parameters: quick experiments and tests.',
    blocks: [c(16, true), c(32, true), c(48, false)],
    dropout: 0.1,
  },
  'small-sepcnn': {
    description:
      'Conv2D 3×3 (32) stem + BN + ReLU + max-pool, then 3 separable blocks (DepthwiseConv2D 3×3 + BN + ' +
      'ReLU, Conv2D 1×1 + BN + ReLU; 64-96-128 filters, max-pool after the first two), global average ' +
      'pool `features` (128-d) → dropout 0.25 → dense softmax. ~26k parameters, MobileNet-style.',
    blocks: [c(32, true), d(64, true), d(96, true), d(128, false)],
    dropout: 0.25,
  },
};

/** Names accepted by buildArch, e.g. for `--arch` help. */
export function archNames(): string[] {
  return Object.keys(specs);
}

/** A one-paragraph description of an architecture (for `--help` and docs). */
export function describeArch(name: string): string {
  return spec(name).description;
}

/** Builds an untrained classifier; its global-average-pool output layer is named `features`. */
export function buildArch(name: string, opts: ArchOptions): tf.LayersModel {
  const arch = spec(name);
  const [h, w, ch] = opts.inputShape;
  for (const v of [h, w, ch]) {
    if (!Number.isInteger(v) || v < 1) {
      throw new EdgetuneError(
        'bad_request',
        `input shape must be 3 positive integers, got [${opts.inputShape}]`,
      );
    }
  }
  if (!Number.isInteger(opts.classes) || opts.classes < 2) {
    throw new EdgetuneError('bad_request', `classes must be an integer ≥ 2, got ${opts.classes}`);
  }
  const least = 2 ** arch.blocks.filter((b) => b.pool).length * (opts.reduceInput ? 4 : 1);
  if (Math.min(h, w) < least) {
    throw new EdgetuneError('bad_request', `${name} needs inputs of at least ${least}×${least} px`);
  }
  if (opts.reduceInput && arch.blocks[0]?.kind !== 'conv') {
    throw new EdgetuneError('bad_request', `${name} cannot reduce its input: its first block is not a conv`);
  }

  let layerIndex = 0;
  const init = () => tf.initializers.heNormal({ seed: opts.seed + layerIndex++ });
  const input = tf.input({ shape: [h, w, ch], name: 'input' });
  let x = input as tf.SymbolicTensor;
  if (opts.reduceInput) {
    x = tf.layers
      .averagePooling2d({ poolSize: 2, strides: 2, name: 'input_pool' })
      .apply(x) as tf.SymbolicTensor;
  }
  const bnRelu = (t: tf.SymbolicTensor, prefix: string): tf.SymbolicTensor => {
    const bn = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, name: `${prefix}_bn` });
    return tf.layers.reLU({ name: `${prefix}_relu` }).apply(bn.apply(t)) as tf.SymbolicTensor;
  };
  arch.blocks.forEach((block, i) => {
    const p = `block${i + 1}`;
    if (block.kind === 'conv') {
      const conv = tf.layers.conv2d({
        filters: block.filters,
        kernelSize: 3,
        strides: i === 0 && opts.reduceInput ? 2 : 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
        name: `${p}_conv`,
      });
      x = bnRelu(conv.apply(x) as tf.SymbolicTensor, p);
    } else {
      const dw = tf.layers.depthwiseConv2d({
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: init(),
        name: `${p}_dwconv`,
      });
      x = bnRelu(dw.apply(x) as tf.SymbolicTensor, `${p}_dw`);
      const pw = tf.layers.conv2d({
        filters: block.filters,
        kernelSize: 1,
        useBias: false,
        kernelInitializer: init(),
        name: `${p}_pwconv`,
      });
      x = bnRelu(pw.apply(x) as tf.SymbolicTensor, `${p}_pw`);
    }
    if (block.pool) {
      x = tf.layers
        .maxPooling2d({ poolSize: 2, strides: 2, name: `${p}_pool` })
        .apply(x) as tf.SymbolicTensor;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'features' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    // No seed on purpose: a seeded tfjs Dropout draws the same mask on every step; training
    // loops seed it per step instead (training/tf/seeded-random.ts).
    .dropout({ rate: arch.dropout, name: 'dropout' })
    .apply(x) as tf.SymbolicTensor;
  const probs = tf.layers
    .dense({
      units: opts.classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: opts.seed + layerIndex++ }),
      name: 'probs',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probs, name });
}

function spec(name: string): ArchSpec {
  const s = specs[name];
  if (s === undefined) {
    throw new EdgetuneError(
      'bad_request',
      `unknown architecture '${name}' (known: ${archNames().join(', ')})`,
    );
  }
  return s;
}
