/**
 * Cut points to try as the representation: the backbone's feature tensor and the outputs of the
 * last few earlier stages. A candidate must carry everything later layers read (no skip
 * connection crosses it — the same rule the freeze plan uses for `--trainable`), be a spatial map
 * (it is globally average-pooled into a vector, the same as `--feature-layer` does), and start a
 * narrower channel width walking back from the feature, so each candidate is the last tensor of
 * one stage (MobileNetV2: the 320-, 160- and 96-channel block outputs; small-cnn: the 64- and
 * 48-channel pooled blocks). Earlier stages are more general and often transfer better to a
 * distant task.
 */
import type { ModelProto } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';

/**
 * Earlier candidate tensors (ONNX names), latest first, at most `max`; `feature` itself is not
 * included. Empty when the feature is not produced by the graph's nodes.
 */
export function earlierCutPoints(model: ModelProto, feature: string, max = 2): string[] {
  const nodes = model.graph?.node ?? [];
  const produced = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) produced.set(o, i);
  });
  const f = produced.get(feature);
  if (f === undefined) return [];
  // lastUse[i]: the latest node reading an output of node i (graph inputs count as node -1).
  const lastUse = new Array<number>(nodes.length).fill(-1);
  let inputLastUse = -1;
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  nodes.forEach((n, j) => {
    for (const t of n.input ?? []) {
      if (!t || initializers.has(t)) continue;
      const i = produced.get(t);
      if (i === undefined) inputLastUse = Math.max(inputLastUse, j);
      else lastUse[i] = Math.max(lastUse[i]!, j);
    }
  });
  // cut[i]: nothing produced before node i (nor the graph input) is read after node i.
  const cut = new Array<boolean>(nodes.length).fill(false);
  let reach = inputLastUse;
  for (let i = 0; i < nodes.length; i++) {
    cut[i] = reach <= i && (nodes[i]!.output ?? []).length === 1;
    reach = Math.max(reach, lastUse[i]!);
  }
  const shapes = inferShapes(model);
  const featureShape = shapes.get(feature)?.shape ?? [];
  let width = typeof featureShape[1] === 'number' ? featureShape[1] : Number.POSITIVE_INFINITY;
  const out: string[] = [];
  for (let i = f - 1; i >= 0 && out.length < max; i--) {
    if (!cut[i]) continue;
    const tensor = nodes[i]!.output![0]!;
    const shape = shapes.get(tensor)?.shape;
    if (shape?.length !== 4 || !shape.slice(1).every((d) => typeof d === 'number' && d > 0)) continue;
    // Only narrower maps: the wide expansions inside an inverted-residual block are cut points
    // too, but not stage outputs.
    const channels = shape[1] as number;
    if (!(channels < width)) continue;
    width = channels;
    out.push(tensor);
  }
  return out;
}
