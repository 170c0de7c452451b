/**
 * Node side of tests/workers/int8.test.ts, called from the workers global setup: onnxruntime-node
 * outputs of the int8 fixture cases (tests/fixtures/int8-models.ts), which the test rebuilds
 * inside workerd from the same seeds, so only the reference numbers cross over.
 */
import type { TestProject } from 'vitest/node';
import { int8Cases } from '../fixtures/int8-models.ts';
import { ortRun } from '../node/engine/helpers.ts';
import { int8Feed } from '../node/engine/int8-run.ts';
import { INT8_WORKERD_BATCH, type Int8Reference } from './int8-reference.ts';

export async function provideInt8Reference(project: TestProject): Promise<void> {
  const reference: Int8Reference = {};
  for (const [i, c] of int8Cases().entries()) {
    const out = await ortRun(c.model, { x: int8Feed(c.dims, INT8_WORKERD_BATCH, 100 + i) });
    reference[c.name] = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data)]));
  }
  project.provide('int8Reference', reference);
}
