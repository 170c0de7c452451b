/**
 * Engine artifacts (shared/engine/artifact.ts): a session whose weights are copied from the
 * artifact computes bit for bit what a session compiled from the ONNX file computes — on the
 * warm-up graphs, every int8 fixture shape class and a QDQ MobileNetV2-224 — on the SIMD128
 * module here and the relaxed-SIMD module in a child, and both modules store the same bytes (so
 * one artifact, written in Node with SIMD128, serves both). An artifact of another format
 * version, of another ONNX file, truncated or lacking a weight is not used: the session is
 * compiled from the ONNX file and says why. An int8 graph's artifact carries the graph with its
 * weight codes emptied: a session of that graph on the artifact's weights alone computes the same,
 * and one whose snapshot lacks a weight refuses to open rather than pack from emptied codes. A released session's kernel instance is reused
 * (spare-kernels.ts) without changing what the next session computes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import {
  compileEngineArtifact,
  createEngineSession,
  decodeEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
  encodeEngineArtifact,
} from '../../../shared/engine/index.ts';
import { giveBackKernels, takeKernels } from '../../../shared/engine/spare-kernels.ts';
import { type ArtifactCase, bits, mobileNetQdq, roundTrip, sha256, smallCases } from './artifact-models.ts';
import { relaxedChild } from './helpers.ts';

const simd = loadKernelModules({ relaxed: false });

/**
 * sha256 of the warm-up int8 graph's artifact at ENGINE_ARTIFACT_FORMAT 3 (2: int8 depthwise weights
 * packed in tap quads; 3: the artifact carries the graph without its weight codes). If a change to the
 * packing code moves it, edge Workers would read artifacts written by the old code as if they
 * were laid out the new way: bump ENGINE_ARTIFACT_FORMAT (shared/engine/artifact.ts) and pin the
 * new digest here, with the version it belongs to. (A change of the warm-up graph itself moves
 * it too; then only the digest is re-pinned.)
 */
const PINNED = {
  format: 3,
  warmupInt8: 'cc44d283177051b1fff6d106536c8e9890cf9e9831f12c1a081e31f34dacf7fb',
};

let cases: ArtifactCase[];
let child: { variant: string; cases: Record<string, { artifact: string; exact: boolean }> };

beforeAll(async () => {
  const relaxedRun = relaxedChild<typeof child>(new URL('./artifact-child.ts', import.meta.url));
  cases = [...smallCases(), await mobileNetQdq(simd)];
  child = await relaxedRun;
}, 600_000);

describe('engine artifact round trip', () => {
  it('every case: the artifact session equals the ONNX session bit for bit (SIMD128)', async () => {
    expect(cases.map((c) => c.name)).toContain('mobilenetv2-224-qdq');
    for (const c of cases) {
      const r = await roundTrip(c, simd);
      expect(r.variant).toBe('simd');
      expect(r.refused, c.name).toEqual([]);
      expect(r.fromArtifact, c.name).toEqual(r.fromOnnx);
      // every int8 graph's artifact carries the graph without its codes, and it computes the same
      if (c.name === 'warmup-fp32') expect(r.fromGraph, c.name).toBeUndefined();
      else {
        expect(r.fromGraph, c.name).toEqual(r.fromOnnx);
        expect(r.graphBytes, c.name).toBeLessThan(c.onnx.byteLength);
      }
      // the same bytes as the relaxed-SIMD module's session stored
      expect(sha256(r.artifact), c.name).toBe(child.cases[c.name]!.artifact);
    }
  }, 300_000);

  it('relaxed-SIMD module (child process): bit for bit as well, same artifact bytes', () => {
    expect(child.variant).toBe('relaxed');
    expect(Object.keys(child.cases).sort()).toEqual(cases.map((c) => c.name).sort());
    for (const [name, r] of Object.entries(child.cases)) expect(r.exact, name).toBe(true);
  });

  it('the packing is pinned to the format version', async () => {
    const warm = cases.find((c) => c.name === 'warmup-int8')!;
    const digest = sha256(await compileEngineArtifact(warm.onnx, sha256(warm.onnx), simd));
    expect(ENGINE_ARTIFACT_FORMAT, 'bump PINNED with the format').toBe(PINNED.format);
    expect(digest, 'the packing changed: bump ENGINE_ARTIFACT_FORMAT and PINNED').toBe(PINNED.warmupInt8);
  });
});

describe('an artifact that does not fit is not used', () => {
  let c: ArtifactCase;
  let sha: string;
  let good: Uint8Array;
  beforeAll(async () => {
    c = cases.find((x) => x.name === 'warmup-int8')!;
    sha = sha256(c.onnx);
    good = await compileEngineArtifact(c.onnx, sha, simd);
  });

  it('another format version, another model, truncated, foreign bytes: refused with the reason', () => {
    const otherFormat = good.slice();
    new DataView(otherFormat.buffer).setUint32(16, ENGINE_ARTIFACT_FORMAT + 1, true);
    expect(decodeEngineArtifact(otherFormat, sha)).toEqual({
      ok: false,
      reason: `engine artifact format ${ENGINE_ARTIFACT_FORMAT + 1}, this engine reads ${ENGINE_ARTIFACT_FORMAT}`,
    });
    const other = sha256(Uint8Array.of(1, 2, 3));
    expect(decodeEngineArtifact(good, other)).toMatchObject({ ok: false, reason: /another model/ });
    expect(decodeEngineArtifact(good.subarray(0, good.length - 1), sha)).toMatchObject({
      ok: false,
      reason: /truncated/,
    });
    expect(decodeEngineArtifact(good.subarray(0, 70), sha)).toMatchObject({ ok: false, reason: /truncated/ });
    expect(decodeEngineArtifact(c.onnx, sha)).toMatchObject({ ok: false, reason: /not an edgetune engine/ });
    expect(decodeEngineArtifact(good, sha).ok).toBe(true);
  });

  it("the artifact's graph with a snapshot lacking a weight: refused, never packed from emptied codes", async () => {
    const decoded = decodeEngineArtifact(good, sha);
    if (!decoded.ok) throw new Error(decoded.reason);
    const { snapshot, graph } = decoded.artifact;
    expect(graph).toBeDefined();
    const entries = new Map(snapshot.entries);
    entries.delete([...entries.keys()].find((k) => k.endsWith(':qb'))!);
    const refused: string[] = [];
    await expect(
      createEngineSession(graph!, simd, {
        weights: { ...snapshot, entries },
        weightless: true,
        onWeightsRefused: (why) => refused.push(why),
      }),
    ).rejects.toThrow(/not in the artifact/);
    expect(refused).toEqual([]);
    // and without weights at all
    await expect(createEngineSession(graph!, simd, { weightless: true })).rejects.toThrow(
      /needs its artifact/,
    );
  });

  it('a snapshot lacking a weight: the session is compiled from the ONNX file, same outputs', async () => {
    const decoded = decodeEngineArtifact(good, sha);
    if (!decoded.ok) throw new Error(decoded.reason);
    const { snapshot } = decoded.artifact;
    const entries = new Map(snapshot.entries);
    const dropped = [...entries.keys()].find((k) => k.endsWith(':qb'))!;
    entries.delete(dropped);
    // re-encoded, so it decodes fine: only the compile notices
    const stale = decodeEngineArtifact(encodeEngineArtifact(sha, { ...snapshot, entries }), sha);
    if (!stale.ok) throw new Error(stale.reason);
    const refused: string[] = [];
    const session = await createEngineSession(c.onnx, simd, {
      weights: stale.artifact.snapshot,
      onWeightsRefused: (why) => refused.push(why),
    });
    expect(refused).toEqual([expect.stringMatching(/lacks 1 of the graph's weights/)]);
    const reference = await createEngineSession(c.onnx, simd);
    expect(bits(session.runSync(c.feeds))).toEqual(bits(reference.runSync(c.feeds)));
    session.release();
    reference.release();
  });
});

describe('spare kernel instances', () => {
  it('a released session hands its zeroed instance to the next; that session computes the same; the released one refuses to run', async () => {
    const c = cases.find((x) => x.name === 'mobilenetv2-224-qdq')!;
    const other = cases.find((x) => x.name === 'warmup-fp32')!;
    while (takeKernels(simd).exports.memory.buffer.byteLength > 65536); // no spare left from earlier tests
    const a = await createEngineSession(c.onnx, simd);
    const outA = bits(a.runSync(c.feeds));
    const dirtied = await createEngineSession(other.onnx, simd);
    const outOther = bits(dirtied.runSync(other.feeds));
    dirtied.release();
    dirtied.release(); // twice: still one spare, never handed to two sessions
    expect(() => dirtied.runSync(other.feeds)).toThrow(/released/);
    // The spare is zeroed, like a fresh memory.
    const spare = takeKernels(simd);
    expect(spare.exports.memory.buffer.byteLength).toBeGreaterThan(65536);
    expect(new Uint8Array(spare.exports.memory.buffer).some((v) => v !== 0)).toBe(false);
    expect(takeKernels(simd).exports.memory).not.toBe(spare.exports.memory);
    giveBackKernels(simd, spare);
    // The next session runs on that very memory (it is the only spare) and computes the same.
    const b = await createEngineSession(c.onnx, simd);
    expect(b.heapBytes).toBeGreaterThanOrEqual(spare.exports.memory.buffer.byteLength);
    expect(takeKernels(simd).exports.memory.buffer.byteLength).toBe(65536); // the spare was taken
    expect(bits(b.runSync(c.feeds))).toEqual(outA);
    a.release();
    const again = await createEngineSession(other.onnx, simd); // on a's instance now
    expect(bits(again.runSync(other.feeds))).toEqual(outOther);
    b.release();
    again.release();
  }, 120_000);
});
