/**
 * Boundary activations read back from the feature cache one item at a time, channels-last, for
 * fine-tuning (`--trainable N`) on streamed data: the training loop asks for each batch's rows,
 * so spatial activations (e.g. 61 KiB per image for MobileNetV2 at --trainable 1) stay on disk.
 */
import { chwToHwc } from './layout.ts';
import type { RowSource } from '../fit/loop.ts';
import type { FeatureCache } from './cache.ts';

export function cachedRows(
  cache: FeatureCache,
  ids: readonly string[],
  itemDims: readonly number[],
): RowSource {
  const item = new Float32Array(cache.itemSize);
  return {
    rows: ids.length,
    read(row, out, offset) {
      const id = ids[row];
      if (id === undefined || !cache.read(id, item, 0)) {
        throw new Error(`internal: activations of row ${row} are not in the feature cache ${cache.dir}`);
      }
      out.set(chwToHwc(item, itemDims), offset);
    },
  };
}
