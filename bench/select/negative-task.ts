/**
 * The negative-transfer task of bench/select/tasks.ts, for the scripts that refit its pick alone
 * (export-fit.ts, export-check.ts): mnist 5–9, 10 labels per class, on a backbone pretrained on
 * digits 0–4 only.
 */
import { cachedPretrainedBackbone } from '../../training/train/cached-backbone.ts';

export const NEGATIVE_DATA = 'mnist:classes=5-9:per-class=10';
export const NEGATIVE_TEST_DATA = 'mnist:classes=5-9:skip-per-class=10:per-class=200';

/** The backbone's file (built once per cache directory). */
export async function negativeBackbone(): Promise<string> {
  const b = await cachedPretrainedBackbone({
    data: 'mnist:classes=0-4',
    arch: 'small-cnn',
    epochs: 3,
    seed: 1,
    backend: 'wasm',
  });
  return b.path;
}
