/**
 * A routed cold load of an int8 version starts reading the variant's engine artifact beside the
 * manifest (ModelCache.startArtifactRead), before the manifest has arrived, and uses what it read
 * only once the manifest lists it and its size and sha256 match: a damaged artifact read early is
 * refused like one read late (the ONNX file is compiled, same answer). A pinned request reads
 * the manifest first; a request for fp32 reads no artifact; a version without one still serves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import relaxedKernels from '../../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../../shared/engine/kernels-simd.wasm';
import {
  compileEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
  engineArtifactFile,
} from '../../shared/engine/index.ts';
import { INT8_FILE, ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import { sha256Hex } from '../../shared/store/digest.ts';
import { keys } from '../../shared/store/keys.ts';
import { ENGINE_ONLY } from '../../functions/runtime/backends.ts';
import type { ModelSource } from '../../functions/runtime/model-source.ts';
import { ModelCache } from '../../functions/runtime/models.ts';
import { Server } from '../../functions/runtime/serve.ts';
import type { ModelSession } from '../../functions/runtime/session.ts';
import { registrySource } from '../../functions/runtime/services.ts';
import { fixtures, publishFixtures, store } from './fixtures.ts';
import { int8Version } from './int8-version.ts';

const kernels = { relaxed: relaxedKernels, simd: simdKernels };
const ENGINE = engineArtifactFile(INT8_FILE);

/** The registry's source, logging when each read starts and when a manifest arrives. */
function recordingSource(): { source: ModelSource; log: string[] } {
  const inner = registrySource(store());
  const log: string[] = [];
  const source: ModelSource = {
    readManifest: async (name, version) => {
      log.push(`manifest ${version}`);
      const m = await inner.readManifest(name, version);
      log.push(`manifest ${version} arrived`);
      return m;
    },
    readFile: (name, version, file) => {
      log.push(`${file} ${version}`);
      return inner.readFile(name, version, file);
    },
    readRouting: (name) => inner.readRouting(name),
    latestVersion: (name) => inner.latestVersion(name),
  };
  return { source, log };
}

function cache(source: ModelSource): ModelCache {
  return new ModelCache({ source, budgetBytes: 256 * 2 ** 20, routingTtlMs: 60_000, backends: ENGINE_ONLY });
}

function server(source: ModelSource): Server {
  return new Server(cache(source));
}

/** What a session answers for the fixture tensor, and how it was loaded. */
async function answer(session: ModelSession) {
  const data = Float32Array.from(fixtures().tensor.data);
  const side = Math.sqrt(data.length / 3);
  const out = await session.run(data, [1, 3, side, side]);
  return {
    precision: session.precision,
    fromArtifact: session.engineArtifact,
    probabilities: Array.from(out.probabilities),
  };
}

/** Publishes the int8 fixture version with its engine artifact (damaged in the bucket if asked) as `model`'s stable version. */
async function publishInt8(model: string, damage = false): Promise<string> {
  const v = await int8Version(model);
  const int8 = v.files[INT8_FILE]!;
  const artifact = await compileEngineArtifact(int8, await sha256Hex(int8), kernels);
  const manifest = ModelManifestSchema.parse(v.manifest);
  const entry = {
    file: ENGINE,
    sha256: await sha256Hex(artifact),
    size: artifact.byteLength,
    format: ENGINE_ARTIFACT_FORMAT,
  };
  const { version } = await publishVersion(store(), model, {
    manifest: { ...v.manifest, variants: [{ ...manifest.variants![0]!, engine: entry }] },
    files: { ...v.files, [ENGINE]: artifact },
  } as Parameters<typeof publishVersion>[2]);
  if (damage) {
    const bad = artifact.slice();
    bad[bad.length - 1]! ^= 0xff;
    await store().put(keys.versionFile(model, version, ENGINE), bad);
  }
  return version;
}

describe('a routed cold int8 load reads its engine artifact beside the manifest', () => {
  let good: string;
  let damaged: string;
  beforeAll(async () => {
    good = await publishInt8('int8-early');
    damaged = await publishInt8('int8-early-damaged', true);
  }, 120_000);

  it('issues the artifact read before the manifest arrives and serves from it', async () => {
    const { source, log } = recordingSource();
    const served = await server(source).serve({ name: 'int8-early' }, answer);
    expect(served.version).toBe(good);
    expect(served.result).toMatchObject({ precision: 'int8', fromArtifact: true });
    const read = log.indexOf(`${ENGINE} ${good}`);
    expect(read).toBeGreaterThanOrEqual(0);
    expect(read).toBeLessThan(log.indexOf(`manifest ${good} arrived`));
    // Read once (the early read is the load's), and the ONNX file not at all (the artifact has the graph).
    expect(log.filter((l) => l === `${ENGINE} ${good}`)).toHaveLength(1);
    expect(log).not.toContain(`${INT8_FILE} ${good}`);
  });

  it('refuses a damaged artifact read early, compiles the ONNX file and answers the same', async () => {
    const expected = (await server(registrySource(store())).serve({ name: 'int8-early' }, answer)).result;
    const { source, log } = recordingSource();
    const served = await server(source).serve({ name: 'int8-early-damaged' }, answer);
    expect(served.version).toBe(damaged);
    expect(log.indexOf(`${ENGINE} ${damaged}`)).toBeLessThan(log.indexOf(`manifest ${damaged} arrived`));
    expect(log).toContain(`${INT8_FILE} ${damaged}`);
    expect(served.result).toEqual({ ...expected, fromArtifact: false });
  });

  it('reads the manifest first for a pinned request, and no artifact for an fp32 one', async () => {
    const pinned = recordingSource();
    await server(pinned.source).serve({ name: 'int8-early', explicit: good }, answer);
    expect(pinned.log.indexOf(`${ENGINE} ${good}`)).toBeGreaterThan(
      pinned.log.indexOf(`manifest ${good} arrived`),
    );
    const fp32 = recordingSource();
    const served = await server(fp32.source).serve({ name: 'int8-early', precision: 'fp32' }, answer);
    expect(served.result.precision).toBe('fp32');
    expect(fp32.log).not.toContain(`${ENGINE} ${good}`);
  });

  it('serves a version published without an int8 variant (the early read finds nothing)', async () => {
    const [version] = await publishFixtures('int8-early-none', 1);
    const { source, log } = recordingSource();
    const served = await server(source).serve({ name: 'int8-early-none' }, answer);
    expect(served.version).toBe(version);
    expect(served.result).toMatchObject({ precision: 'fp32', fromArtifact: false });
    expect(log).toContain(`${ENGINE} ${version}`);
  });
});

describe('an early artifact read that its request never awaits', () => {
  it('fails without an unhandled rejection when another request loads the version first', async () => {
    const version = await publishInt8('int8-early-unawaited');
    const inner = registrySource(store());
    const failure = 'early artifact read failed (int8-early-unawaited)';
    let artifactReads = 0;
    const source: ModelSource = {
      ...inner,
      readFile: (name, v, file) => {
        if (file !== ENGINE) return inner.readFile(name, v, file);
        artifactReads++;
        return Promise.reject(new Error(failure));
      },
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: PromiseRejectionEvent) => unhandled.push(e.reason);
    addEventListener('unhandledrejection', onUnhandled);
    try {
      const models = cache(source);
      // Both requests start their early read before either has loaded anything; B's load then
      // starts first (between A's early read and A's load), so A takes B's session and never
      // awaits its own read, which fails.
      const earlyA = models.startArtifactRead('int8-early-unawaited', version);
      const earlyB = models.startArtifactRead('int8-early-unawaited', version);
      expect(earlyA).toBeDefined();
      expect(earlyB).toBeDefined();
      const loadB = models.load('int8-early-unawaited', version, undefined, earlyB);
      const loadA = models.load('int8-early-unawaited', version, undefined, earlyA);
      const [a, b] = await Promise.all([loadA, loadB]);
      expect(a).toBe(b);
      expect(artifactReads).toBe(2);
      // B awaited its failed read and compiled the ONNX file; A's failure went nowhere. The
      // load's reads and A's waits took many event-loop turns since both reads failed, each one a
      // point where workerd reports a rejection nobody handles.
      expect(a.precision).toBe('int8');
      expect(a.engineArtifact).toBe(false);
      expect(unhandled.filter((r) => r instanceof Error && r.message === failure)).toEqual([]);
    } finally {
      removeEventListener('unhandledrejection', onUnhandled);
    }
  });
});
