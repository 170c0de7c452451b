/**
 * Which engine serves a version: the edgetune engine for versions whose manifest lists it,
 * onnxruntime-web for graphs it cannot run (also when a manifest wrongly claims it), and for every
 * version when the ENGINE var says `onnxruntime`. Each path is checked against onnxruntime-node.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { publishVersion } from '../../shared/registry/publish.ts';
import {
  call,
  callWithVars,
  fixtureImage,
  fixtures,
  fromBase64,
  publishFixtures,
  store,
} from './fixtures.ts';

const ENGINE_MODEL = 'served-engine';
const ORT_ONLY = 'served-ort-only';
const CLAIMED = 'served-claimed';
const ADMIN = { authorization: 'Bearer test-admin-token' };

interface ClassifyAnswer {
  predictions: { label: string; score: number }[];
}

interface CacheStats {
  engine: string;
  sessions: { key: string; engine: string; variant: string; cost: number; file: string }[];
  engineFallbacks: Record<string, string>;
}

/** Classifies every fixture image; returns the engine header seen and the worst |Δp| vs Node. */
async function classifyAll(
  model: string,
  refs: Record<string, { probabilities: number[] }>,
  vars?: Partial<Cloudflare.Env>,
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
    const res = vars ? await callWithVars(vars, path, init) : await call(path, init);
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

async function cacheStats(vars?: Partial<Cloudflare.Env>): Promise<CacheStats> {
  const res = vars
    ? await callWithVars(vars, '/admin/cache', { headers: ADMIN })
    : await call('/admin/cache', { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json()) as CacheStats;
}

describe('engine choice per version', () => {
  beforeAll(async () => {
    await publishFixtures(ENGINE_MODEL, 1);
    const ortOnly = fixtures().ortOnly;
    const files = Object.fromEntries(Object.entries(ortOnly.files).map(([k, v]) => [k, fromBase64(v)]));
    await publishVersion(store(), ORT_ONLY, { manifest: { ...ortOnly.manifest, name: ORT_ONLY }, files });
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

  it('serves a graph with an op the engine lacks (Tanh) through onnxruntime-web', async () => {
    const { ortOnly } = fixtures();
    expect(ortOnly.manifest.engines).toEqual(['onnxruntime']);
    const { engines, maxDiff } = await classifyAll(ORT_ONLY, ortOnly.references);
    expect([...engines]).toEqual(['onnxruntime-web']);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    const s = (await cacheStats()).sessions.find((x) => x.key === `${ORT_ONLY}@v1`)!;
    expect(s).toMatchObject({ engine: 'onnxruntime-web', variant: 'wasm' });
  });

  it('falls back to onnxruntime-web when the engine refuses a version its manifest lists, logging once', async () => {
    const warn = vi.spyOn(console, 'warn');
    try {
      const { engines, maxDiff } = await classifyAll(CLAIMED, fixtures().ortOnly.references);
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
    const stats = await cacheStats();
    expect(stats.engineFallbacks[`${CLAIMED}@v1`]).toMatch(/Tanh/);
    expect(stats.sessions.find((x) => x.key === `${CLAIMED}@v1`)!.engine).toBe('onnxruntime-web');
  });

  it('ENGINE=onnxruntime serves every version with onnxruntime-web', async () => {
    const vars = { ENGINE: 'onnxruntime' };
    const { engines, maxDiff } = await classifyAll(ENGINE_MODEL, fixtures().references[0]!, vars);
    expect([...engines]).toEqual(['onnxruntime-web']);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    const stats = await cacheStats(vars);
    expect(stats.engine).toBe('onnxruntime');
    expect(stats.sessions.find((x) => x.key === `${ENGINE_MODEL}@v1`)!.engine).toBe('onnxruntime-web');
  });
});
