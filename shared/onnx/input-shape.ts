/**
 * Fixing a graph input's non-batch dims (a backbone exported with a dynamic height and width is
 * run at one size: `--input-size HxW`). The batch dim is left as the file declares it.
 */
import { EdgetuneError } from '../errors.ts';
import type { Dim } from './builder.ts';
import type { ModelProto, onnx } from './proto.ts';
import { shapeFromValueInfo } from './shapes.ts';

/** The first graph input that is not an initializer (the image input of a CNN). */
export function imageInput(model: ModelProto): onnx.IValueInfoProto {
  const g = model.graph;
  const inits = new Set((g?.initializer ?? []).map((t) => t.name));
  const input = (g?.input ?? []).find((i) => !inits.has(i.name));
  if (!input?.name) throw new EdgetuneError('bad_request', 'the model has no graph input');
  return input;
}

export function inputDims(model: ModelProto): Dim[] {
  const shape = shapeFromValueInfo(imageInput(model))?.shape;
  if (!shape) throw new EdgetuneError('bad_request', `input ${imageInput(model).name} has no declared shape`);
  return shape;
}

/**
 * Returns the model with the image input's dims after the batch set to `dims` (a dim the file
 * fixed must agree). Value infos computed from the old shape are dropped so nothing stale remains.
 */
export function withInputShape(model: ModelProto, dims: readonly number[]): ModelProto {
  const input = imageInput(model);
  const current = inputDims(model);
  if (current.length !== dims.length + 1) {
    throw new EdgetuneError(
      'bad_request',
      `input ${input.name} has rank ${current.length}; cannot give it the per-image shape [${dims.join(', ')}]`,
    );
  }
  current.slice(1).forEach((d, i) => {
    if (typeof d === 'number' && d !== dims[i]) {
      throw new EdgetuneError(
        'bad_request',
        `input ${input.name} is fixed at [${current.join(', ')}]; it cannot take [${dims.join(', ')}]`,
      );
    }
  });
  const dim: onnx.TensorShapeProto.IDimension[] = [
    input.type!.tensorType!.shape!.dim![0]!,
    ...dims.map((d) => ({ dimValue: d })),
  ];
  const fixed: onnx.IValueInfoProto = {
    ...input,
    type: { ...input.type, tensorType: { ...input.type!.tensorType, shape: { dim } } },
  };
  const g = model.graph!;
  return {
    ...model,
    graph: {
      ...g,
      input: (g.input ?? []).map((i) => (i === input ? fixed : i)),
      valueInfo: [],
    },
  };
}
