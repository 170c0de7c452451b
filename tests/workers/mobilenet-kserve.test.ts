/**
 * On both engines: the MobileNetV2-1.0-224-shaped model (built with the
 * graph builder from a seed, + softmax head) goes into R2, a KServe V2 `infer` request carries an
 * FP32 tensor, and the Worker answers what onnxruntime-node computed in Node on the same input
 * (tests/workers/engine-setup.ts) — through the edgetune engine by default, and through
 * onnxruntime-web when the ENGINE var forces it (full build; the engine-only build answers 422).
 */
import { inject } from 'vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { supports } from '../../shared/engine/index.ts';
import type { ModelManifestInput } from '../../shared/manifest/manifest.ts';
import { encodeModel } from '../../shared/onnx/proto.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import { sha256Hex } from '../../shared/store/digest.ts';
import { mobileNetV2WithHead, seededInput } from '../../shared/onnx/zoo/mobilenetv2.ts';
import './engine-reference.ts';
import { call, callWithVars, createExecutionContext, store } from './fixtures.ts';

const MODEL = 'mobilenetv2';
const LABELS = ['a', 'b', 'c', 'd', 'e'];

interface InferAnswer {
  model_version: string;
  outputs: { name: string; shape: number[]; data: number[] }[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('MobileNetV2-224 in R2, KServe V2 FP32 infer, vs onnxruntime-node', () => {
  beforeAll(async () => {
    const ref = inject('engineReference');
    const model = mobileNetV2WithHead({ seed: ref.seed });
    const bytes = encodeModel(model);
    const manifest: ModelManifestInput = {
      schema: 1,
      name: MODEL,
      createdAt: '2026-05-01T12:00:00.000Z',
      model: { file: 'model.onnx', sha256: await sha256Hex(bytes), size: bytes.byteLength },
      input: { name: 'input', shape: [1, 3, 224, 224] },
      outputs: { probabilities: 'probabilities', embedding: 'features', embeddingDim: 1280 },
      labels: LABELS,
      preprocess: { width: 224, height: 224, channels: 3, layout: 'NCHW' },
      backbone: { source: `test:mobilenetv2-seed-${ref.seed}` },
      engines: supports(model).ok ? ['onnxruntime', 'edgetune-wasm'] : ['onnxruntime'],
    };
    await publishVersion(store(), MODEL, { manifest, files: { 'model.onnx': bytes } });
  });

  for (const [engine, vars] of [
    ['edgetune-wasm', undefined],
    ['onnxruntime-web', { ENGINE: 'onnxruntime' }],
  ] as const) {
    it(`answers like onnxruntime-node (max |Δp| ≤ 1e-4) on ${engine}`, async () => {
      const ref = inject('engineReference');
      const body = JSON.stringify({
        inputs: [
          {
            name: 'input',
            shape: [1, 3, 224, 224],
            datatype: 'FP32',
            data: Array.from(seededInput(ref.inputSeed, 3 * 224 * 224)),
          },
        ],
      });
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
      const path = `/v2/models/${MODEL}/infer`;
      const res = vars
        ? await callWithVars(vars, path, init, createExecutionContext(), 'full')
        : await call(path, init);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-engine')).toBe(engine);
      const json = (await res.json()) as InferAnswer;
      expect(json.model_version).toBe('v1');
      const probs = json.outputs.find((o) => o.name === 'probabilities')!;
      const emb = json.outputs.find((o) => o.name === 'embedding')!;
      expect(probs.shape).toEqual([1, 5]);
      expect(emb.shape).toEqual([1, 1280]);
      const dp = maxAbsDiff(probs.data, ref.probabilities);
      const de = maxAbsDiff(emb.data, ref.features);
      const scale = Math.max(...ref.features.map(Math.abs));
      console.log(
        `${engine}: max |Δp| ${dp.toExponential(2)}, embedding max |Δ| ${de.toExponential(2)} (max |e| ${scale.toFixed(2)})`,
      );
      expect(dp).toBeLessThanOrEqual(1e-4);
      expect(de / scale).toBeLessThanOrEqual(1e-4);
    });
  }
});
