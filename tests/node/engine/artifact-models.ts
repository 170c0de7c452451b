/**
 * The graphs the engine-artifact tests compile (artifact.test.ts and its relaxed-SIMD child):
 * the warm-up graphs, every int8 fixture shape class, and a MobileNetV2-224 + head quantized to
 * QDQ the way training/quantize writes it (activation ranges from the engine's fp32 run).
 */
import { createHash } from 'node:crypto';
import {
  compileEngineArtifact,
  createEngineSession,
  decodeEngineArtifact,
  type KernelModules,
} from '../../../shared/engine/index.ts';
import { warmUpGraph } from '../../../shared/engine/warmup.ts';
import { encodeModel } from '../../../shared/onnx/proto.ts';
import { addOutputs } from '../../../shared/onnx/surgery.ts';
import { MOBILENETV2, mobileNetV2WithHead, seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { quantizableOps, toQdq } from '../../../training/quantize/qdq.ts';
import { int8Cases } from '../../fixtures/int8-models.ts';
import { int8Feed } from './int8-run.ts';

export interface ArtifactCase {
  name: string;
  onnx: Uint8Array;
  feeds: Record<string, { data: Float32Array; dims: number[] }>;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** MobileNetV2-224 + head in QDQ form, 7-bit activations, ranges from one fp32 engine run. */
export async function mobileNetQdq(kernels: KernelModules): Promise<ArtifactCase> {
  const model = mobileNetV2WithHead({ seed: 3 });
  const x = seededInput(4, 3 * 224 * 224);
  const feeds = { [MOBILENETV2.input]: { data: x, dims: [1, 3, 224, 224] } };
  const acts = [...new Set(quantizableOps(model).map((o) => o.activation))];
  const probe = await createEngineSession(
    addOutputs(
      model,
      acts.filter((a) => a !== MOBILENETV2.input),
    ),
    kernels,
  );
  const out = probe.runSync(feeds);
  probe.release();
  const range = (v: Float32Array) => {
    let min = 0;
    let max = 0;
    for (const f of v) {
      min = Math.min(min, f);
      max = Math.max(max, f);
    }
    return { min, max };
  };
  const ranges = new Map(acts.map((a) => [a, range(a === MOBILENETV2.input ? x : out[a]!.data)]));
  const qdq = toQdq(model, { ranges, activationBits: 7, keepFp32: new Set() });
  return { name: 'mobilenetv2-224-qdq', onnx: encodeModel(qdq), feeds };
}

function warmUpCase(int8: boolean): ArtifactCase {
  const side = 32;
  return {
    name: int8 ? 'warmup-int8' : 'warmup-fp32',
    onnx: encodeModel(warmUpGraph(int8)),
    feeds: { x: { data: seededInput(1, 3 * side * side), dims: [1, 3, side, side] } },
  };
}

export function smallCases(): ArtifactCase[] {
  const fixtures = int8Cases().map((c, i) => ({
    name: c.name,
    onnx: encodeModel(c.model),
    feeds: { x: int8Feed(c.dims, 1, 100 + i) },
  }));
  return [warmUpCase(false), warmUpCase(true), ...fixtures];
}

/** Outputs as float32 bit patterns (exact comparison, -0 and NaN included). */
export function bits(out: Record<string, { data: Float32Array }>): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(out)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, Array.from(new Uint32Array(v.data.buffer, v.data.byteOffset, v.data.length))]),
  );
}

/**
 * The artifact of a case and the outputs of a session compiled from ONNX vs one from the artifact
 * (with the ONNX graph) and one from the artifact's own graph when it carries one.
 */
export async function roundTrip(c: ArtifactCase, kernels: KernelModules) {
  const sha = sha256(c.onnx);
  const artifact = await compileEngineArtifact(c.onnx, sha, kernels);
  const decoded = decodeEngineArtifact(artifact, sha);
  if (!decoded.ok) throw new Error(decoded.reason);
  const compiled = await createEngineSession(c.onnx, kernels);
  const refused: string[] = [];
  const restored = await createEngineSession(c.onnx, kernels, {
    weights: decoded.artifact.snapshot,
    onWeightsRefused: (why) => refused.push(why),
  });
  const fromOnnx = bits(compiled.runSync(c.feeds));
  const fromArtifact = bits(restored.runSync(c.feeds));
  compiled.release();
  restored.release();
  // The artifact's own graph (int8 graphs: the codes emptied) on its weights alone.
  const { graph, snapshot } = decoded.artifact;
  let fromGraph: Record<string, number[]> | undefined;
  if (graph) {
    const light = await createEngineSession(graph, kernels, { weights: snapshot, weightless: true });
    fromGraph = bits(light.runSync(c.feeds));
    light.release();
  }
  return {
    artifact,
    graphBytes: graph?.byteLength,
    fromOnnx,
    fromArtifact,
    fromGraph,
    refused,
    variant: restored.variant,
  };
}
