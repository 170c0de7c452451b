/**
 * `POST /cold?key=K&image=I&spec=S[&engine=E&sha=H]` on the bench Worker: a cold request's start-up in a fresh
 * isolate, phase by phase, with the production pieces the edge uses (the R2 read, the manifest
 * checksum, the ONNX decode, the engine's own phases, the codecs, preprocessing, the runs).
 * Every phase is timed once, in the order a cold classify request meets it; the second and third
 * runs show what the first run pays for unoptimised code (V8 tiers wasm and JS up while it runs).
 */
import { codecModules } from '../../functions/runtime/codecs.ts';
import { kernelModules } from '../../functions/runtime/backends.ts';
import { itemShape } from '../../functions/runtime/inference.ts';
import { createEngineSession, decodeEngineArtifact } from '../../shared/engine/index.ts';
import { instantiateKernelsSync } from '../../shared/engine/kernels.ts';
import { warmUpEngine } from '../../shared/engine/warmup.ts';
import { warmUpCodecs } from '../../functions/runtime/warmup.ts';
import { PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import { decodeModel } from '../../shared/onnx/proto.ts';
import { installCodecs } from '../../shared/preprocess/codecs.ts';
import { preprocessBytesAsync } from '../../shared/preprocess/preprocess.ts';
import { sha256Hex } from '../../shared/store/digest.ts';

interface Env {
  MODELS: R2Bucket;
}

async function object(env: Env, key: string): Promise<Uint8Array> {
  const obj = await env.MODELS.get(key);
  if (!obj) throw new Error(`no ${key} in R2`);
  return new Uint8Array(await obj.arrayBuffer());
}

export async function coldPhases(url: URL, env: Env): Promise<Response> {
  const phases = new Map<string, number>();
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases.set(name, now - mark);
    mark = now;
  };
  const image = await object(env, url.searchParams.get('image') ?? '');
  const spec = PreprocessSpecSchema.parse(
    JSON.parse(new TextDecoder().decode(await object(env, url.searchParams.get('spec') ?? ''))),
  );
  mark = performance.now();
  // warmup=1: the production Worker's global-scope warm-up first (functions/runtime/warmup.ts).
  const warmup = url.searchParams.get('warmup') === '1';
  if (warmup) warmUpEngine(kernelModules());
  phase('warmup');
  // And the codecs' (PNG, JPEG, then WebP once its decoder's factory resolves).
  if (warmup) await warmUpCodecs();
  phase('codec_warmup');
  await installCodecs(codecModules());
  phase('codecs_instantiate');
  // engine=K&sha=S: the model's engine artifact (packed weights, and the graph when it carries
  // one), read first as the edge does (functions/runtime/models.ts): the ONNX file `key`
  // (sha256 S, the manifest's) is read only when the artifact has no graph.
  const engineKey = url.searchParams.get('engine');
  const artifact = engineKey ? await object(env, engineKey) : undefined;
  if (artifact) await sha256Hex(artifact);
  const decoded = artifact ? decodeEngineArtifact(artifact, url.searchParams.get('sha') ?? '') : undefined;
  if (decoded && !decoded.ok) throw new Error(decoded.reason);
  const graph = decoded?.artifact.graph;
  phase('artifact_read');
  const bytes = graph ?? (await object(env, url.searchParams.get('key') ?? ''));
  phase('r2_read');
  if (!graph) await sha256Hex(bytes);
  phase('sha256');
  const model = decodeModel(bytes);
  phase('onnx_decode');
  const engine = new Map<string, number>();
  const session = await createEngineSession(model, kernelModules(), {
    phases: engine,
    weights: decoded?.artifact.snapshot,
    weightless: graph !== undefined,
    onWeightsRefused: (why) => {
      throw new Error(why);
    },
  });
  phase('engine_create');
  const input = await preprocessBytesAsync(image, spec);
  phase('preprocess_first');
  const dims = [1, ...itemShape(spec)];
  const feeds = { [session.inputNames[0]!]: { data: input.data, dims } };
  session.runSync(feeds);
  phase('run_first');
  await preprocessBytesAsync(image, spec);
  phase('preprocess_second');
  session.runSync(feeds);
  phase('run_second');
  session.runSync(feeds);
  phase('run_third');
  session.release();
  // What mapping fresh wasm pages in costs in this isolate (spare-kernels.ts): 8 MiB of a new
  // kernel memory written once, then again.
  const fresh = instantiateKernelsSync(kernelModules()).exports.memory;
  fresh.grow(128);
  mark = performance.now();
  new Uint8Array(fresh.buffer).fill(1);
  phase('memory_first_touch_8mb');
  new Uint8Array(fresh.buffer).fill(2);
  phase('memory_refill_8mb');
  return Response.json({
    variant: session.variant,
    bytes: bytes.byteLength,
    phases: Object.fromEntries(phases),
    engine: Object.fromEntries(engine),
  });
}
