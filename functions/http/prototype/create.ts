/**
 * Creates a prototype version at the edge: embeds the examples with the parent version's served
 * session, fits the head (shared/prototype), checks the new graph on the engine that served the
 * parent, publishes it create-only through the shared registry and updates routing by
 * compare-and-swap. Every check runs before the first write, so a refused request writes nothing.
 */
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import { ENGINE_IDS, ENGINES } from '../../../shared/inference/engines.ts';
import { preprocessBytesAsync } from '../../../shared/preprocess/preprocess.ts';
import { encodeModel } from '../../../shared/onnx/proto.ts';
import { prototypeHeadGraph } from '../../../shared/prototype/graph.ts';
import { type PrototypeHead, prototypeProbabilities } from '../../../shared/prototype/head.ts';
import { parseParentRef, readPrototypeParent, type StoredExample } from '../../../shared/prototype/parent.ts';
import { buildPrototypeVersion } from '../../../shared/prototype/version.ts';
import { publishVersion } from '../../../shared/registry/publish.ts';
import { promote, readRouting, rollout } from '../../../shared/routing/operations.ts';
import { sha256Hex } from '../../../shared/store/digest.ts';
import type { EngineName } from '../../../shared/inference/engines.ts';
import { type Backends, createBackend } from '../../runtime/backends.ts';
import { ensureCodecs } from '../../runtime/codecs.ts';
import { runItems } from '../../runtime/inference.ts';
import type { Services } from '../../runtime/services.ts';
import { type Activation, PROTOTYPE_LIMITS, type PrototypeRequest } from './request.ts';

export interface PrototypeCreated {
  model: string;
  version: string;
  from: string;
  classes: string[];
  examples: number;
  leave_one_out_accuracy: number;
  temperature: number;
  engine: EngineName;
  routing: { stable: string | null; candidates: { version: string; weight: number }[] };
}

/** Largest difference between the engine's probabilities and the reference head's. */
const PARITY_TOLERANCE = 1e-4;

function checkCounts(examples: readonly { label: string }[]): void {
  const perClass = new Map<string, number>();
  for (const e of examples) perClass.set(e.label, (perClass.get(e.label) ?? 0) + 1);
  // The head's own checks, made here too so that bad input fails before any image is decoded.
  if (perClass.size < 2) {
    throw new EdgetuneError(
      'bad_request',
      `a classifier needs at least 2 classes; got only ${[...perClass.keys()].join(', ')}`,
    );
  }
  for (const [label, n] of perClass) {
    if (n < 2) {
      throw new EdgetuneError(
        'bad_request',
        `class ${JSON.stringify(label)} has 1 example; each class needs at least 2`,
      );
    }
  }
  if (perClass.size > PROTOTYPE_LIMITS.classes) {
    throw new EdgetuneError('bad_request', `${perClass.size} classes; at most ${PROTOTYPE_LIMITS.classes}`);
  }
  for (const [label, n] of perClass) {
    if (n > PROTOTYPE_LIMITS.examplesPerClass) {
      throw new EdgetuneError(
        'bad_request',
        `class ${JSON.stringify(label)} would have ${n} examples; at most ${PROTOTYPE_LIMITS.examplesPerClass} per class`,
      );
    }
  }
}

/** Refuses an activation that cannot apply before anything is written (routing may still race). */
async function checkActivation(services: Services, name: string, activate: Activation): Promise<void> {
  if (typeof activate !== 'object') return;
  const doc = (await readRouting(services.store, name))?.doc;
  const others = (doc?.candidates ?? []).reduce((s, c) => s + c.weight, 0);
  if (others + activate.candidate > 100 + 1e-9) {
    throw new EdgetuneError(
      'bad_request',
      `activate: candidate weight ${activate.candidate} + the other candidates' ${others} would exceed 100`,
    );
  }
}

/** Async like /predict, so PNG examples are inflated by the runtime's native zlib (png-inflate.ts). */
async function preprocessAll(
  services: Services,
  spec: Parameters<typeof preprocessBytesAsync>[1],
  images: Uint8Array[],
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const [i, bytes] of images.entries()) {
    try {
      out.push((await preprocessBytesAsync(bytes, spec, services.imageLimits)).data);
    } catch (e) {
      if (e instanceof EdgetuneError) throw e;
      throw new EdgetuneError('invalid_image', `example ${i}: cannot decode: ${errorMessage(e)}`);
    }
  }
  return out;
}

export async function createPrototypeVersion(
  services: Services,
  backends: Backends,
  name: string,
  req: PrototypeRequest,
): Promise<PrototypeCreated> {
  const ref = parseParentRef(req.from ?? name);
  const parent = await readPrototypeParent(services.store, ref);
  checkCounts([...parent.examples, ...req.examples]);
  await checkActivation(services, name, req.activate);
  await ensureCodecs();
  const items = await preprocessAll(
    services,
    parent.manifest.preprocess,
    req.examples.map((e) => e.bytes),
  );

  const { outputs, engine } = await services.cache.use(parent.model, parent.version, async (session) => ({
    outputs: await runItems(session, items),
    engine: session.engine,
  }));
  const added: StoredExample[] = await Promise.all(
    req.examples.map(async (e, i) => ({
      label: e.label,
      sha256: await sha256Hex(e.bytes),
      embedding: outputs[i]!.embedding,
    })),
  );
  const engines = [engine === ENGINES.wasm ? ENGINE_IDS.wasm : ENGINE_IDS.onnxruntime];
  const built = await buildPrototypeVersion(name, parent, added, engines);

  // Gate: the head's graph on the engine that serves the parent, fed the parent's embeddings,
  // against the reference head; the new file is the parent's graph plus exactly this head.
  await gate(
    backends,
    engine,
    built.head,
    outputs.map((o) => o.embedding),
  );

  const published = await publishVersion(services.store, name, {
    manifest: built.manifest,
    files: built.files,
  });
  const version = published.version;
  const reason = `admin api: prototype version from ${parent.model}@${parent.version}`;
  if (!published.madeStable) {
    if (req.activate === 'stable') await promote(services.store, name, version, { reason });
    else if (typeof req.activate === 'object')
      await rollout(services.store, name, version, req.activate.candidate, { reason });
  }
  services.cache.invalidateRouting(name);
  const doc = (await readRouting(services.store, name))?.doc;
  return {
    model: name,
    version,
    from: `${parent.model}@${parent.version}`,
    classes: built.head.labels,
    examples: built.examples.length,
    leave_one_out_accuracy: built.head.leaveOneOutAccuracy,
    temperature: built.head.temperature,
    engine,
    routing: { stable: doc?.stable ?? null, candidates: doc?.candidates ?? [] },
  };
}

async function gate(
  backends: Backends,
  served: EngineName,
  head: PrototypeHead,
  embeddings: Float32Array[],
): Promise<void> {
  // A Worker's sessions are the engine or onnxruntime-web; onnxruntime-node never serves here.
  const engine = served === ENGINES.wasm ? ENGINES.wasm : ENGINES.ortWeb;
  const graph = prototypeHeadGraph(head);
  const probabilities = graph.graph?.output?.find((o) => o.name !== 'embedding')?.name ?? '';
  const backend = await createBackend(backends, engine, encodeModel(graph), false);
  try {
    const n = embeddings.length;
    const data = new Float32Array(n * head.dim);
    embeddings.forEach((e, i) => {
      data.set(e, i * head.dim);
    });
    const got = (await backend.run('embedding', data, [n, head.dim]))[probabilities]?.data;
    const classes = head.labels.length;
    if (!got || got.length !== n * classes) {
      throw new EdgetuneError('parity_failed', `the prototype head gave no ${probabilities} on ${engine}`);
    }
    let d = 0;
    embeddings.forEach((e, i) => {
      const want = prototypeProbabilities(head, e);
      for (let k = 0; k < classes; k++) d = Math.max(d, Math.abs(got[i * classes + k]! - want[k]!));
    });
    if (d > PARITY_TOLERANCE) {
      throw new EdgetuneError(
        'parity_failed',
        `the prototype head on ${engine} differs from the reference by ${d.toExponential(2)} (> ${PARITY_TOLERANCE})`,
      );
    }
  } finally {
    await backend.release();
  }
}
