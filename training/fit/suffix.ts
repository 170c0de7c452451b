/**
 * The trainable part of a transfer model in tfjs: the backbone layers after the freeze boundary
 * (rebuilt as fresh layers carrying copies of the pretrained weights) up to the feature layer,
 * then a new head. Two models share these layers: `featureModel` (boundary → features) and
 * `model` (boundary → probabilities, what is exported). Dropout is not a layer: the training loop
 * applies seeded masks itself (a tfjs Dropout layer cannot be seeded per step), so the exported
 * model is exactly the inference graph.
 *
 * BatchNormalization that follows a conv is folded into that conv's kernel and bias: tfjs updates
 * BN moving statistics inside training even for frozen layers, and fine-tuning with live BN
 * collapsed on small digit sets here (FACTS.md); folded BN trained reliably.
 */
import * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';
import type { TfNode } from '../backbones/convert/graph.ts';
import type { HeadSpec } from './head.ts';
import { skipModelInputGradients } from './input-conv.ts';

export interface TrainableParts {
  model: tf.LayersModel;
  /** boundary → features; undefined when the boundary is the feature layer (frozen backbone). */
  featureModel?: tf.LayersModel;
  /** Hidden Dense (ReLU) of the head, when asked for. */
  hidden?: tf.layers.Layer;
  output: tf.layers.Layer;
  /** Variables of the rebuilt backbone layers (empty for a frozen backbone). */
  suffixVariables: tf.LayerVariable[];
  headVariables: tf.LayerVariable[];
  /** Name of the feature layer in `model` (for the embedding output), undefined = the input. */
  featureLayer?: string;
  /** Input shape (channels-last, without batch). */
  inputShape: number[];
  foldedBatchNorms: number;
}

const CONV_CLASSES = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

export function isConvLayer(layer: tf.layers.Layer): boolean {
  return CONV_CLASSES.has(layer.getClassName());
}

interface LayerCtor {
  new (config: Record<string, unknown>): tf.layers.Layer;
}

/** A fresh layer of the same class and config (weights set after it is built). */
function cloneLayer(layer: tf.layers.Layer, overrides: Record<string, unknown> = {}): tf.layers.Layer {
  const Ctor = layer.constructor as unknown as LayerCtor;
  return new Ctor({ ...layer.getConfig(), trainable: true, ...overrides });
}

function bnFactors(bn: tf.layers.Layer): { scale: Float32Array; shift: Float32Array } {
  const cfg = bn.getConfig() as { epsilon?: number; center?: boolean; scale?: boolean };
  const w = bn.getWeights().map((t) => t.dataSync() as Float32Array);
  let i = 0;
  const gamma = cfg.scale !== false ? w[i++] : undefined;
  const beta = cfg.center !== false ? w[i++] : undefined;
  const mean = w[i++]!;
  const variance = w[i++]!;
  const eps = cfg.epsilon ?? 1e-3;
  const scale = new Float32Array(mean.length);
  const shift = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    const s = (gamma?.[c] ?? 1) / Math.sqrt(variance[c]! + eps);
    scale[c] = s;
    shift[c] = (beta?.[c] ?? 0) - mean[c]! * s;
  }
  return { scale, shift };
}

/** Conv (+ folded BN): kernel output channel is the flat index modulo C in tfjs' HWIO / HWCM layouts. */
function foldedConvWeights(conv: tf.layers.Layer, bn: tf.layers.Layer): tf.Tensor[] {
  const [kernel, bias] = conv.getWeights();
  const { scale, shift } = bnFactors(bn);
  const k = Float32Array.from(kernel!.dataSync() as Float32Array);
  const c = scale.length;
  for (let i = 0; i < k.length; i++) k[i]! *= scale[i % c]!;
  const b = new Float32Array(c);
  const oldBias = bias?.dataSync() as Float32Array | undefined;
  for (let o = 0; o < c; o++) b[o] = (oldBias?.[o] ?? 0) * scale[o]! + shift[o]!;
  return [tf.tensor(k, kernel!.shape), tf.tensor1d(b)];
}

export interface BuildTrainableOptions {
  /** Backbone nodes after the boundary up to and including the feature layer, in order. */
  nodes: readonly TfNode[];
  /** The boundary's Keras tensor (what the first suffix nodes read). */
  boundary: tf.SymbolicTensor | null;
  /** Shape of the trainable part's input (channels-last, without batch). */
  inputShape: number[];
  classes: number;
  head: HeadSpec;
  seed: number;
}

export function buildTrainable(opts: BuildTrainableOptions): TrainableParts {
  const input = tf.input({ shape: opts.inputShape, name: 'boundary' });
  const mapped = new Map<number, tf.SymbolicTensor>();
  if (opts.boundary) mapped.set(opts.boundary.id, input);
  const inRange = new Set(opts.nodes);
  const consumers = new Map<number, TfNode[]>();
  for (const n of opts.nodes) {
    for (const t of n.inputTensors) consumers.set(t.id, [...(consumers.get(t.id) ?? []), n]);
  }
  const skip = new Set<TfNode>();
  const suffixLayers: tf.layers.Layer[] = [];
  const pendingWeights: [tf.layers.Layer, tf.Tensor[], boolean][] = [];
  let folded = 0;
  let last: tf.SymbolicTensor = input;
  let featureLayer: string | undefined;

  for (const node of opts.nodes) {
    if (skip.has(node)) continue;
    const layer = node.outboundLayer;
    const cls = layer.getClassName();
    const ins = node.inputTensors.map((t) => {
      const m = mapped.get(t.id);
      if (!m) {
        throw new EdgetuneError(
          'bad_request',
          `layer '${layer.name}' reads '${t.name}', which is not computed after the freeze boundary`,
        );
      }
      return m;
    });
    const out = node.outputTensors[0]!;
    const next = consumers.get(out.id) ?? [];
    const act = (layer.getConfig() as { activation?: string }).activation ?? 'linear';
    let fresh: tf.layers.Layer;
    let result: tf.SymbolicTensor;
    if (
      (cls === 'Conv2D' || cls === 'DepthwiseConv2D') &&
      act === 'linear' &&
      next.length === 1 &&
      inRange.has(next[0]!) &&
      next[0]!.outboundLayer.getClassName() === 'BatchNormalization'
    ) {
      const bnNode = next[0]!;
      fresh = cloneLayer(layer, { useBias: true, name: bnNode.outboundLayer.name });
      result = fresh.apply(ins.length === 1 ? ins[0]! : ins) as tf.SymbolicTensor;
      pendingWeights.push([fresh, foldedConvWeights(layer, bnNode.outboundLayer), true]);
      skip.add(bnNode);
      mapped.set(bnNode.outputTensors[0]!.id, result);
      folded++;
      if (bnNode === opts.nodes[opts.nodes.length - 1]) featureLayer = fresh.name;
    } else {
      if (cls === 'BatchNormalization') {
        throw new EdgetuneError(
          'unsupported',
          `BatchNormalization '${layer.name}' after the freeze boundary does not follow a conv, so it cannot be ` +
            'folded; tfjs would update its statistics during training. Move the boundary (--trainable) past it.',
        );
      }
      if (cls === 'Dropout' || cls === 'SpatialDropout2D') {
        mapped.set(out.id, ins[0]!);
        continue;
      }
      fresh = cloneLayer(layer);
      result = fresh.apply(ins.length === 1 ? ins[0]! : ins) as tf.SymbolicTensor;
      const weights = layer.getWeights();
      pendingWeights.push([fresh, weights, false]);
      mapped.set(out.id, result);
      if (node === opts.nodes[opts.nodes.length - 1]) featureLayer = fresh.name;
    }
    suffixLayers.push(fresh);
    last = result;
  }
  for (const [layer, weights, owned] of pendingWeights) {
    if (weights.length > 0) layer.setWeights(weights);
    if (owned) tf.dispose(weights);
  }

  const features = last;
  if (features.shape.length !== 2) {
    throw new EdgetuneError(
      'bad_request',
      `the feature layer must give a vector per image; it has shape [${features.shape.join(', ')}] ` +
        '(pick a pooled layer with --feature-layer)',
    );
  }
  let seed = opts.seed;
  let x = features;
  let hidden: tf.layers.Layer | undefined;
  if (opts.head.hidden > 0) {
    hidden = tf.layers.dense({
      units: opts.head.hidden,
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
      name: 'head_hidden',
    });
    x = hidden.apply(x) as tf.SymbolicTensor;
  }
  const output = tf.layers.dense({
    units: opts.classes,
    activation: 'softmax',
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
    name: 'head_probs',
  });
  const probs = output.apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: probs, name: 'trainable' });
  skipModelInputGradients(model);
  const featureModel =
    features === input
      ? undefined
      : tf.model({ inputs: input, outputs: features, name: 'trainable_features' });
  const headVariables = [hidden, output].flatMap((l) => (l ? l.trainableWeights : []));
  const suffixVariables = suffixLayers.flatMap((l) => l.trainableWeights);
  return {
    model,
    featureModel,
    hidden,
    output,
    suffixVariables,
    headVariables,
    featureLayer,
    inputShape: opts.inputShape,
    foldedBatchNorms: folded,
  };
}
