import { EdgetuneError } from '../errors.ts';
import type { InferenceRunner } from './runner.ts';

export interface BatchedOptions {
  /** Items per run (default 64). */
  batchSize?: number;
  /** A graph whose first input dim is fixed gets batches of exactly this many rows (padded). */
  fixedBatch?: number;
  /** Outputs handed to `take` (default: all). */
  outputs?: readonly string[];
  /** Called after each batch with its number of items (progress bars). */
  onBatch?: (n: number) => void;
}

/**
 * Runs `count` items through a runner in batches: `fill(i, out, offset)` writes item i's input
 * (itemDims values) and `take(start, n, outputs)` receives each batch's outputs, cut to the `n`
 * real rows. The same loop for every runtime, so an evaluation or a parity check means the same
 * thing on each.
 */
export async function runBatched(
  runner: InferenceRunner,
  count: number,
  itemDims: readonly number[],
  fill: (index: number, out: Float32Array, offset: number) => void,
  take: (start: number, n: number, outputs: Record<string, Float32Array>) => void,
  options: BatchedOptions = {},
): Promise<void> {
  const itemSize = itemDims.reduce((a, b) => a * b, 1);
  const batch = options.fixedBatch ?? options.batchSize ?? 64;
  const input = runner.inputNames[0];
  if (input === undefined) throw new EdgetuneError('bad_request', 'the model has no input');
  const names = options.outputs ?? runner.outputNames;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const rows = options.fixedBatch ?? n;
    const data = new Float32Array(rows * itemSize);
    for (let i = 0; i < n; i++) fill(start + i, data, i * itemSize);
    const result = await runner.run(input, data, [rows, ...itemDims]);
    const out: Record<string, Float32Array> = {};
    for (const name of names) {
      const t = result[name];
      if (t === undefined) throw new EdgetuneError('internal', `output ${name} is missing`);
      out[name] = t.data.subarray(0, (t.data.length / rows) * n);
    }
    take(start, n, out);
    options.onBatch?.(n);
  }
}
