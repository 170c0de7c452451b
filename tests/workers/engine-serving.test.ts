/**
 * Which engine serves a version: the edgetune engine for versions whose manifest lists it,
 * onnxruntime-web for graphs it cannot run (also when a manifest wrongly claims it), and for every
 * version when the ENGINE var says `onnxruntime`. Each path is checked against onnxruntime-node.
 * onnxruntime-web exists only in the full build (functions/full.ts); the default engine-only build
 * answers those versions 422 `needs_full_build` and keeps serving the ones the engine runs.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { publishVersion } from '../../shared/registry/publish.ts';
import { rollout } from '../../shared/routing/operations.ts';
import {
  type Build,
  call,
  callWithVars,
  createExecutionContext,
  fixtureImage,
  fixtures,
  fromBase64,
  publishFixtures,
  store,
} from './fixtures.ts';

const ENGINE_MODEL = 'served-engine';
const ORT_ONLY = 'served-ort-only';
const CLAIMED = 'served-claimed';
const MIXED = 'served-mixed';
const ADMIN = { authorization: 'Bearer test-admin-token' };

interface ClassifyAnswer {
  predictions: { label: string; score: number }[];
}

interface CacheStats {
  engine: string;
  build: string;
  sessions: { key: string; engine: string; variant: string; cost: number; file: string }[];
  engineFallbacks: Record<string, string>;
}

/** Classifies every fixture image; returns the engine header seen and the worst |Δp| vs Node. */
async function classifyAll(
  model: string,
  refs: Record<string, { probabilities: number[] }>,
  vars: Partial<Cloudflare.Env> = {},
  build: Build = 'engine',
): Promise<{ engines: Set<string | null>; maxDiff: number }> {
  const labels = fixtures().exports[0]!.manifest.labels;
  const engines = new Set<string | null>();
  let maxDiff = 0;
  for (const image of fixtures().images) {
    const init = {
      method: 'POST',
      headers: { 'content-type': image.contentType },
      body: fixtureImage(image.id).bytes,
    };
    const path = `/v1/models/${model}/classify?top_k=${labels.length}`;
    const res = await callWithVars(vars, path, init, createExecutionContext(), build);
    expect(res.status, image.id).toBe(200);
    engines.add(res.headers.get('x-engine'));
    const json = (await res.json()) as ClassifyAnswer;
    const byLabel = new Map(json.predictions.map((p) => [p.label, p.score]));
    labels.forEach((l, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(byLabel.get(l)! - refs[image.id]!.probabilities[i]!));
    });
  }
  return { engines, maxDiff };
}

async function cacheStats(vars: Partial<Cloudflare.Env> = {}, build: Build = 'engine'): Promise<CacheStats> {
  const res = await callWithVars(vars, '/admin/cache', { headers: ADMIN }, createExecutionContext(), build);
  expect(res.status).toBe(200);
  return (await res.json()) as CacheStats;
}

function callFullClassify(model: string, init: RequestInit): Promise<Response> {
  return callWithVars({}, `/v1/models/${model}/classify`, init, createExecutionContext(), 'full');
}

/** A classify request on the engine-only build for a version it cannot serve: the documented 422. */
async function expectNeedsFull(model: string, vars: Partial<Cloudflare.Env> = {}): Promise<string> {
  const image = fixtures().images[0]!;
  const res = await callWithVars(vars, `/v1/models/${model}/classify`, {
    method: 'POST',
    headers: { 'content-type': image.contentType },
    body: fixtureImage(image.id).bytes,
  });
  expect(res.status).toBe(422);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('needs_full_build');
  expect(body.error.message).toContain('wrangler deploy --env full');
  return body.error.message;
}

describe('engine choice per version', () => {
  beforeAll(async () => {
    await publishFixtures(ENGINE_MODEL, 1);
    const ortOnly = fixtures().ortOnly;
    const files = Object.fromEntries(Object.entries(ortOnly.files).map(([k, v]) => [k, fromBase64(v)]));
    await publishVersion(store(), ORT_ONLY, { manifest: { ...ortOnly.manifest, name: ORT_ONLY }, files });
    // v1 on the engine (stable), v2 the Tanh graph rolled out to every routed request.
    await publishFixtures(MIXED, 1);
    await publishVersion(store(), MIXED, { manifest: { ...ortOnly.manifest, name: MIXED }, files });
    await rollout(store(), MIXED, 'v2', 100);
    // The same Tanh graph with a manifest that (wrongly) claims the engine validated it.
    await publishVersion(store(), CLAIMED, {
      manifest: { ...ortOnly.manifest, name: CLAIMED, engines: ['onnxruntime', 'edgetune-wasm'] },
      files,
    });
  });

  it('serves versions validated on the engine with it (relaxed SIMD), matching onnxruntime-node', async () => {
    expect(fixtures().exports[0]!.manifest.engines).toContain('edgetune-wasm');
    const { engines, maxDiff } = await classifyAll(ENGINE_MODEL, fixtures().references[0]!);
    console.log(
      `engine vs onnxruntime-node: ${fixtures().images.length} images, max |Δp| ${maxDiff.toExponential(2)}`,
    );
    expect([...engines]).toEqual(['edgetune-wasm']);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    const stats = await cacheStats();
    expect(stats.engine).toBe('auto');
    const s = stats.sessions.find((x) => x.key === `${ENGINE_MODEL}@v1`)!;
    expect(s).toMatchObject({ engine: 'edgetune-wasm', variant: 'relaxed', file: 'model.onnx' });
  });

  it('the engine-only build answers a version without the engine in its manifest 422 needs_full_build', async () => {
    expect(await expectNeedsFull(ORT_ONLY)).toContain('its manifest does not list the edgetune engine');
    // The pinned path and KServe V2 say the same; the engine's versions keep serving beside it.
    const pinned = await call(`/v2/models/${ORT_ONLY}/versions/v1/ready`);
    expect(pinned.status).toBe(422);
    expect(((await pinned.json()) as { error: { code: string } }).error.code).toBe('needs_full_build');
    const stats = await cacheStats();
    expect(stats.build).toBe('engine');
    expect(stats.sessions.find((x) => x.key === `${ORT_ONLY}@v1`)).toBeUndefined();
  });

  it('the engine-only build serves a routed candidate it cannot run from stable; pinned, it answers 422', async () => {
    const image = fixtures().images[0]!;
    const init = {
      method: 'POST',
      headers: { 'content-type': image.contentType },
      body: fixtureImage(image.id).bytes,
    };
    const routed = await call(`/v1/models/${MIXED}/classify`, init);
    expect(routed.status).toBe(200);
    expect([routed.headers.get('x-model-version'), routed.headers.get('x-model-route')]).toEqual([
      'v1',
      'fallback',
    ]);
    expect(routed.headers.get('x-engine')).toBe('edgetune-wasm');
    const pinned = await call(`/v1/models/${MIXED}/versions/v2/classify`, init);
    expect(pinned.status).toBe(422);
    const full = await callFullClassify(MIXED, init);
    expect([full.status, full.headers.get('x-model-version'), full.headers.get('x-engine')]).toEqual([
      200,
      'v2',
      'onnxruntime-web',
    ]);
  });

  it('the full build serves a graph with an op the engine lacks (Tanh) through onnxruntime-web', async () => {
    const { ortOnly } = fixtures();
    expect(ortOnly.manifest.engines).toEqual(['onnxruntime']);
    const { engines, maxDiff } = await classifyAll(ORT_ONLY, ortOnly.references, {}, 'full');
    expect([...engines]).toEqual(['onnxruntime-web']);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    const stats = await cacheStats({}, 'full');
    expect(stats.build).toBe('full');
    const s = stats.sessions.find((x) => x.key === `${ORT_ONLY}@v1`)!;
    expect(s).toMatchObject({ engine: 'onnxruntime-web', variant: 'wasm' });
  });

  it('the engine-only build answers 422 when the engine refuses a version its manifest lists', async () => {
    expect(await expectNeedsFull(CLAIMED)).toMatch(/the engine refused it: .*Tanh/);
    // Remembered: the second request is refused without another attempt.
    expect(await expectNeedsFull(CLAIMED)).toMatch(/Tanh/);
    expect((await cacheStats()).engineFallbacks[`${CLAIMED}@v1`]).toMatch(/Tanh/);
  });

  it('the full build falls back to onnxruntime-web when the engine refuses a version its manifest lists, logging once', async () => {
    const warn = vi.spyOn(console, 'warn');
    try {
      const { engines, maxDiff } = await classifyAll(CLAIMED, fixtures().ortOnly.references, {}, 'full');
      expect([...engines]).toEqual(['onnxruntime-web']);
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      const logged = warn.mock.calls.filter((c) =>
        String(c[0]).includes(`${CLAIMED}@v1: engine unavailable`),
      );
      expect(logged).toHaveLength(1);
      expect(String(logged[0]![0])).toContain('Tanh');
    } finally {
      warn.mockRestore();
    }
    const stats = await cacheStats({}, 'full');
    expect(stats.engineFallbacks[`${CLAIMED}@v1`]).toMatch(/Tanh/);
    expect(stats.sessions.find((x) => x.key === `${CLAIMED}@v1`)!.engine).toBe('onnxruntime-web');
  });

  it('ENGINE=onnxruntime: the full build serves every version with onnxruntime-web, the engine-only one 422', async () => {
    const vars = { ENGINE: 'onnxruntime' };
    expect(await expectNeedsFull(ENGINE_MODEL, vars)).toContain('ENGINE is onnxruntime');
    const { engines, maxDiff } = await classifyAll(ENGINE_MODEL, fixtures().references[0]!, vars, 'full');
    expect([...engines]).toEqual(['onnxruntime-web']);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    const stats = await cacheStats(vars, 'full');
    expect(stats.engine).toBe('onnxruntime');
    expect(stats.sessions.find((x) => x.key === `${ENGINE_MODEL}@v1`)!.engine).toBe('onnxruntime-web');
  });
});
