/**
 * The edge in workerd serving an int8 variant from its engine artifact (model.int8.engine): the
 * session copies its packed weights from the artifact (`engineArtifact` in /admin/cache) and
 * answers exactly what the same variant published without an artifact answers — from the
 * artifact's own graph, without reading the int8 ONNX file at all; an artifact of another format
 * version, a damaged one (size/sha256 not the manifest's) or one that does not cover the graph
 * (with or without its own graph) is not used — the ONNX file is compiled and the request is
 * answered the same, never with a 4xx/5xx.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import relaxedKernels from '../../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../../shared/engine/kernels-simd.wasm';
import {
  compileEngineArtifact,
  decodeEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
  encodeEngineArtifact,
  engineArtifactFile,
} from '../../shared/engine/index.ts';
import { ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import { sha256Hex } from '../../shared/store/digest.ts';
import { keys } from '../../shared/store/keys.ts';
import { call, fixtureImage, fixtures, store } from './fixtures.ts';
import { int8Version } from './int8-version.ts';

const kernels = { relaxed: relaxedKernels, simd: simdKernels };
const MODEL = 'int8-artifact';
const TOKEN = 'test-admin-token';
const INT8 = 'model.int8.onnx';
const ENGINE = engineArtifactFile(INT8);

type Version = Awaited<ReturnType<typeof int8Version>>;

/** `v` with `engine` stored beside its int8 file and listed in its variant. */
async function withArtifact(
  v: Version,
  engine: Uint8Array,
  format = ENGINE_ARTIFACT_FORMAT,
): Promise<Version> {
  const manifest = ModelManifestSchema.parse(v.manifest);
  const variant = manifest.variants![0]!;
  const entry = { file: ENGINE, sha256: await sha256Hex(engine), size: engine.byteLength, format };
  return {
    manifest: { ...v.manifest, variants: [{ ...variant, engine: entry }] },
    files: { ...v.files, [ENGINE]: engine },
  };
}

async function publish(v: Version): Promise<string> {
  return (await publishVersion(store(), MODEL, v as Parameters<typeof publishVersion>[2])).version;
}

async function classify(version: string) {
  const image = fixtureImage(fixtures().tensor.imageId);
  const res = await call(`/v1/models/${MODEL}/versions/${version}/classify?top_k=10`, {
    method: 'POST',
    headers: { 'content-type': image.contentType },
    body: image.bytes,
  });
  expect(res.status, version).toBe(200);
  expect(res.headers.get('x-model-precision'), version).toBe('int8');
  expect(res.headers.get('x-engine'), version).toBe('edgetune-wasm');
  return ((await res.json()) as { predictions: unknown[] }).predictions;
}

/** Whether the cached int8 session of `version` took its weights from the artifact. */
async function fromArtifact(version: string): Promise<boolean> {
  const res = await call('/admin/cache', { headers: { authorization: `Bearer ${TOKEN}` } });
  const { sessions } = (await res.json()) as {
    sessions: { key: string; precision: string; engineArtifact: boolean }[];
  };
  const s = sessions.filter((x) => x.key === `${MODEL}@${version}` && x.precision === 'int8');
  expect(s, version).toHaveLength(1);
  return s[0]!.engineArtifact;
}

describe('the edge serves an int8 variant from its engine artifact', () => {
  const v: Record<
    'plain' | 'artifact' | 'artifactOnly' | 'otherFormat' | 'damaged' | 'stale' | 'staleGraph',
    string
  > = {
    plain: '',
    artifact: '',
    artifactOnly: '',
    otherFormat: '',
    damaged: '',
    stale: '',
    staleGraph: '',
  };
  beforeAll(async () => {
    const base = await int8Version(MODEL);
    const int8 = base.files[INT8]!;
    const sha = await sha256Hex(int8);
    const artifact = await compileEngineArtifact(int8, sha, kernels);
    // published without an artifact, as every version before artifacts existed
    v.plain = await publish(base);
    v.artifact = await publish(await withArtifact(base, artifact));
    // the artifact carries the graph: the int8 ONNX file is not even read (gone from the bucket)
    v.artifactOnly = await publish(await withArtifact(base, artifact));
    await store().delete(keys.versionFile(MODEL, v.artifactOnly, INT8));
    // a newer engine's artifact (format + 1), listed as such
    const newer = artifact.slice();
    new DataView(newer.buffer).setUint32(16, ENGINE_ARTIFACT_FORMAT + 1, true);
    v.otherFormat = await publish(await withArtifact(base, newer, ENGINE_ARTIFACT_FORMAT + 1));
    // stored intact, then damaged in the bucket (its sha256 no longer the manifest's)
    v.damaged = await publish(await withArtifact(base, artifact));
    const damaged = artifact.slice();
    damaged[damaged.length - 1]! ^= 0xff;
    await store().put(keys.versionFile(MODEL, v.damaged, ENGINE), damaged);
    // right format and checksum, but missing one of the graph's weights
    const decoded = decodeEngineArtifact(artifact, sha);
    if (!decoded.ok) throw new Error(decoded.reason);
    const entries = new Map(decoded.artifact.snapshot.entries);
    entries.delete([...entries.keys()].find((k) => k.endsWith(':qb'))!);
    v.stale = await publish(
      await withArtifact(base, encodeEngineArtifact(sha, { ...decoded.artifact.snapshot, entries })),
    );
    // the same with the graph: its session must not open (it would pack from emptied codes)
    expect(decoded.artifact.graph).toBeDefined();
    v.staleGraph = await publish(
      await withArtifact(
        base,
        encodeEngineArtifact(sha, { ...decoded.artifact.snapshot, entries }, decoded.artifact.graph),
      ),
    );
  }, 120_000);

  it('from the artifact: the same scores as the variant compiled from its ONNX file', async () => {
    const compiled = await classify(v.plain);
    expect(await fromArtifact(v.plain)).toBe(false);
    expect(compiled.length).toBeGreaterThan(1);
    expect(await classify(v.artifact)).toEqual(compiled);
    expect(await fromArtifact(v.artifact)).toBe(true);
    expect(await classify(v.artifactOnly)).toEqual(compiled);
    expect(await fromArtifact(v.artifactOnly)).toBe(true);
    // the registry stored it beside the int8 file, checksum-verified at publish
    const stored = await store().get(keys.versionFile(MODEL, v.artifact, ENGINE));
    expect(stored?.body.byteLength).toBeGreaterThan(0);
  });

  it('another format version, a damaged file, a stale snapshot: compiled from the ONNX file, same answer', async () => {
    const compiled = await classify(v.plain);
    for (const version of [v.otherFormat, v.damaged, v.stale, v.staleGraph]) {
      expect(await classify(version), version).toEqual(compiled);
      expect(await fromArtifact(version), version).toBe(false);
    }
  });
});
