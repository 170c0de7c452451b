/**
 * Node side of tests/workers/engine.test.ts, called from the workers global setup: the
 * onnxruntime-node reference for MobileNetV2 + head (the test rebuilds the same seeded model and
 * input inside workerd, so only the reference numbers cross over).
 */
import type { TestProject } from 'vitest/node';
import { mobileNetV2WithHead, seededInput } from '../../shared/onnx/zoo/mobilenetv2.ts';
import { ortRun } from '../node/engine/helpers.ts';
import type { EngineReference } from './engine-reference.ts';

export async function provideEngineReference(project: TestProject): Promise<void> {
  const seed = 21;
  const inputSeed = 22;
  const out = await ortRun(mobileNetV2WithHead({ seed }), {
    input: { data: seededInput(inputSeed, 3 * 224 * 224), dims: [1, 3, 224, 224] },
  });
  const reference: EngineReference = {
    seed,
    inputSeed,
    probabilities: Array.from(out.probabilities!.data),
    features: Array.from(out.features!.data),
  };
  project.provide('engineReference', reference);
}
