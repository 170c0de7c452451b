/**
 * A foreign ONNX CNN (torchvision, timm, Keras via tf2onnx, PaddleOCR...) made ready to be a
 * backbone, with no hand editing: the input read from the graph (or `--input-size` for a dynamic
 * one), an old opset upgraded (or refused) before any work, an NHWC input turned NCHW, a batch
 * of 1 freed, exporter constant plumbing folded, the default feature tensor chosen, and the
 * preprocessing built from the user's preset/flags and validated against the graph.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import { type PreprocessSpec, PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import { defaultFeatureTensor, freeBatch, toNchwInput } from '../../shared/onnx/backbone-graph.ts';
import { foldConstants } from '../../shared/onnx/fold-constants.ts';
import { imageInput, inputDims, withInputShape } from '../../shared/onnx/input-shape.ts';
import { upgradeOpset } from '../../shared/onnx/opset-upgrade.ts';
import type { ModelProto } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { presetValues } from '../../shared/preprocess/presets.ts';
import { type FeatureInfo, type InputInfo, METADATA_KEYS } from './convert/metadata.ts';
import type { InputOptions } from './input-options.ts';

export interface PreparedOnnx {
  model: ModelProto;
  preprocess: PreprocessSpec;
  input: InputInfo;
  features: FeatureInfo[];
  warnings: string[];
}

/** Layout of a rank-4 image input: the flag, or the dim that holds 1 or 3 channels. */
function layoutOf(
  dims: readonly (number | string)[],
  given: InputOptions['layout'],
  name: string,
): 'nchw' | 'nhwc' {
  if (given) return given;
  const chan = (d: number | string | undefined) => d === 1 || d === 3;
  if (chan(dims[1]) && !chan(dims[3])) return 'nchw';
  if (chan(dims[3]) && !chan(dims[1])) return 'nhwc';
  if (chan(dims[1])) return 'nchw';
  throw new EdgetuneError(
    'bad_request',
    `cannot tell the layout of input ${name} [${dims.join(', ')}]: pass --layout nchw or --layout nhwc`,
  );
}

/** Preprocessing values from the preset and explicit flags, checked against the channel count. */
export function preprocessValues(
  opts: InputOptions,
  channels: 1 | 3,
  warnings: string[],
): Pick<PreprocessSpec, 'scale' | 'mean' | 'std' | 'channelOrder'> {
  const base = opts.preset ? presetValues(opts.preset) : presetValues('unit');
  if (!opts.preset && !opts.mean && !opts.std) {
    warnings.push(
      'no --preprocess given: assuming input values 0..1 (torchvision/timm models want --preprocess imagenet)',
    );
  }
  const mean = opts.mean ?? base.mean;
  const std = opts.std ?? base.std;
  for (const [flag, v] of [
    ['--mean', mean],
    ['--std', std],
  ] as const) {
    if (v.length !== 1 && v.length !== channels) {
      throw new EdgetuneError(
        'bad_request',
        `${flag} has ${v.length} values; the input has ${channels} channel(s)`,
      );
    }
  }
  const channelOrder = opts.channels ?? base.channelOrder;
  if (channelOrder === 'bgr' && channels !== 3) {
    throw new EdgetuneError('bad_request', '--channels bgr needs a 3-channel input');
  }
  return { scale: base.scale, mean: [...mean], std: [...std], channelOrder };
}

export function prepareOnnxBackbone(source: ModelProto, opts: InputOptions): PreparedOnnx {
  const warnings: string[] = [];
  let model = upgradeOpset(source);
  const name = imageInput(model).name!;
  const dims = inputDims(model);
  if (dims.length !== 4) {
    throw new EdgetuneError(
      'bad_request',
      `input ${name} [${dims.join(', ')}] is not an image batch (rank 4)`,
    );
  }
  const layout = layoutOf(dims, opts.layout, name);
  const [c, h, w] = layout === 'nchw' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  if (c !== 1 && c !== 3) {
    throw new EdgetuneError(
      'bad_request',
      `input ${name} [${dims.join(', ')}] has ${c} channels; 1 or 3 are supported`,
    );
  }
  const size = opts.inputSize;
  const height = typeof h === 'number' ? h : size?.height;
  const width = typeof w === 'number' ? w : size?.width;
  if (height === undefined || width === undefined) {
    throw new EdgetuneError(
      'bad_request',
      `input ${name} [${dims.join(', ')}] has a dynamic height/width: pass --input-size HxW, e.g. 224x224`,
    );
  }
  if (size && (size.height !== height || size.width !== width)) {
    throw new EdgetuneError(
      'bad_request',
      `--input-size ${size.height}x${size.width} does not match input ${name} [${dims.join(', ')}], fixed at ${height}x${width}`,
    );
  }
  model = withInputShape(model, layout === 'nchw' ? [c, height, width] : [height, width, c]);
  if (layout === 'nhwc') model = toNchwInput(model);
  model = foldConstants(freeBatch(model));
  const values = preprocessValues(opts, c, warnings);
  const preprocess = PreprocessSpecSchema.parse({ width, height, channels: c, layout: 'NCHW', ...values });
  const feature = defaultFeatureTensor(model);
  const featureShape = inferShapes(model).get(feature)?.shape ?? [];
  return {
    model,
    preprocess,
    input: { name, shape: ['N', c, height, width], layout: 'NCHW', dtype: 'float32' },
    features: [
      {
        name: feature,
        layer: feature,
        shape: featureShape,
        kind: featureShape.length === 2 ? 'pooled' : 'spatial',
      },
    ],
    warnings,
  };
}

/**
 * The prepared graph with what it expects recorded as edgetune metadata (input, preprocessing,
 * features, source): training on the written file needs no flags. Other metadata is kept.
 */
export function withPreparedMetadata(prepared: PreparedOnnx, source: string): ModelProto {
  const props: Record<string, string> = {
    [METADATA_KEYS.source]: source,
    [METADATA_KEYS.input]: JSON.stringify(prepared.input),
    [METADATA_KEYS.preprocess]: JSON.stringify(prepared.preprocess),
    [METADATA_KEYS.features]: JSON.stringify(prepared.features),
  };
  const kept = (prepared.model.metadataProps ?? []).filter((p) => !((p.key ?? '') in props));
  return {
    ...prepared.model,
    metadataProps: [...kept, ...Object.entries(props).map(([key, value]) => ({ key, value }))],
  };
}
