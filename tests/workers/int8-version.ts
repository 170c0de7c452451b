/**
 * A published int8 version for the workers tests (int8.test.ts, int8-artifact.test.ts): the first
 * fixture export quantized here to QDQ, activation ranges from the engine's own fp32 run of the
 * fixture image, listed as a variant that passed its gate.
 */
import { expect } from 'vitest';
import relaxedKernels from '../../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../../shared/engine/kernels-simd.wasm';
import { createEngineSession } from '../../shared/engine/index.ts';
import { listsEngine, ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { passedInt8Variant } from '../fixtures/int8-variant.ts';
import { decodeModel, encodeModel } from '../../shared/onnx/proto.ts';
import { addOutputs } from '../../shared/onnx/surgery.ts';
import { sha256Hex } from '../../shared/store/digest.ts';
import { quantizableOps, toQdq } from '../../training/quantize/qdq.ts';
import { fixtures, fromBase64 } from './fixtures.ts';

const kernels = { relaxed: relaxedKernels, simd: simdKernels };

/** The first fixture export quantized here: ranges from the engine's own fp32 run of one image. */
export async function int8Version(name: string): Promise<{
  manifest: Record<string, unknown>;
  files: Record<string, Uint8Array>;
}> {
  const exp = fixtures().exports[0]!;
  const manifest = ModelManifestSchema.parse(exp.manifest);
  expect(listsEngine(manifest)).toBe(true);
  const fp32 = fromBase64(exp.files[manifest.model.file]!);
  const model = decodeModel(fp32);
  const acts = [...new Set(quantizableOps(model).map((o) => o.activation))];
  const probe = await createEngineSession(
    addOutputs(
      model,
      acts.filter((a) => a !== manifest.input.name),
    ),
    kernels,
  );
  const data = Float32Array.from(fixtures().tensor.data);
  const side = Math.sqrt(data.length / 3);
  const out = await probe.run({ [manifest.input.name]: { data, dims: [1, 3, side, side] } });
  const ranges = new Map(
    acts.map((a) => {
      const v = a === manifest.input.name ? data : out[a]!.data;
      return [a, { min: Math.min(...v), max: Math.max(...v) }];
    }),
  );
  const int8 = encodeModel(toQdq(model, { ranges, activationBits: 7, keepFp32: new Set() }));
  const variant = passedInt8Variant({
    sha256: await sha256Hex(int8),
    size: int8.byteLength,
    engines: ['edgetune-wasm'],
  });
  const files = Object.fromEntries(Object.entries(exp.files).map(([k, v]) => [k, fromBase64(v)]));
  return {
    manifest: { ...exp.manifest, name, variants: [variant] },
    files: { ...files, 'model.int8.onnx': int8 },
  };
}
