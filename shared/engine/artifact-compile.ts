/**
 * Writing an engine artifact (artifact.ts): compile the ONNX file once, the way the edge would,
 * and keep what the compiler stored — and, when it can stand in for the ONNX file, the graph
 * without those weights. Runs where the model is exported (the training job), so the edge's cold
 * start skips the packing, and with the graph also the ONNX file's read, hash and decode.
 */
import { decodeModel, encodeModel, type ModelProto, TensorDataType, toNumber } from '../onnx/proto.ts';
import { encodeEngineArtifact, type WeightSnapshot } from './artifact.ts';
import type { KernelModules } from './kernels.ts';
import { createEngineSession, type EngineSession, type EngineTensor } from './session.ts';
import { prepareForEngine } from './supports.ts';

/** The artifact of `onnx` (whose sha256 is `onnxSha256`); throws when the engine cannot run it. */
export async function compileEngineArtifact(
  onnx: Uint8Array,
  onnxSha256: string,
  kernels: KernelModules,
): Promise<Uint8Array> {
  let snapshot: WeightSnapshot | undefined;
  const session = await createEngineSession(decodeModel(onnx), kernels, {
    onWeights: (s) => {
      snapshot = s;
    },
  });
  try {
    if (!snapshot) throw new Error('engine: the compiler stored no weights');
    const graph = weightlessGraph(onnx);
    const usable = graph && (await sameOutputs(session, graph, snapshot, kernels));
    return encodeEngineArtifact(onnxSha256, snapshot, usable ? graph : undefined);
  } finally {
    session.release();
  }
}

/**
 * `onnx` as the engine prepares it (constants folded, pads folded into convs: done here once
 * instead of on every cold start, where it finds nothing left to fold), with the int8 codes of
 * every constant DequantizeLinear emptied (dims, scales and zero points kept): those codes are
 * the bulk of an int8 file, and the lowerings only read them to pack what the snapshot already
 * holds. Undefined when there are none.
 */
function weightlessGraph(onnx: Uint8Array): Uint8Array | undefined {
  const model = prepareForEngine(decodeModel(onnx));
  const inits = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  let emptied = 0;
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'DequantizeLinear' || node.domain) continue;
    const t = inits.get(node.input?.[0] ?? '');
    if (t?.dataType === TensorDataType.INT8 && (t.rawData?.length ?? 0) > 0) {
      t.rawData = new Uint8Array(0);
      emptied++;
    }
  }
  return emptied > 0 ? encodeModel(model) : undefined;
}

/**
 * Whether a session of `graph` on `snapshot` alone computes bit for bit what `compiled` (from the
 * ONNX file) computes, at batch 1 and 2 on a fixed input. A lowering that reads weight codes
 * outside its packing, or a batch plan that packs a weight of its own, fails here rather than
 * at the edge (where the weightless session would refuse to run).
 */
async function sameOutputs(
  compiled: EngineSession,
  graph: Uint8Array,
  snapshot: WeightSnapshot,
  kernels: KernelModules,
): Promise<boolean> {
  const model = decodeModel(graph);
  let light: EngineSession | undefined;
  try {
    light = await createEngineSession(model, kernels, { weights: snapshot, weightless: true });
    for (const batch of [1, 2]) {
      const feeds = fixedFeeds(model, compiled.inputNames, batch);
      const want = compiled.runSync(feeds);
      const got = light.runSync(feeds);
      for (const name of compiled.outputNames) if (!sameBits(want[name]!, got[name])) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    light?.release();
  }
}

function fixedFeeds(
  model: ModelProto,
  names: readonly string[],
  batch: number,
): Record<string, EngineTensor> {
  const feeds: Record<string, EngineTensor> = {};
  for (const name of names) {
    const shape = model.graph?.input?.find((i) => i.name === name)?.type?.tensorType?.shape?.dim ?? [];
    const dims = shape.map((d, i) => (i === 0 ? batch : toNumber(d.dimValue)));
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 1.5;
    feeds[name] = { data, dims };
  }
  return feeds;
}

function sameBits(a: EngineTensor, b: EngineTensor | undefined): boolean {
  if (!b || a.data.length !== b.data.length || a.dims.join() !== b.dims.join()) return false;
  const x = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
  const y = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
  return x.every((v, i) => v === y[i]);
}
