/**
 * int8 inside workerd: the engine's int8 kernels on every fixture shape class (both kernel
 * modules, imported as precompiled modules) against onnxruntime-node's run of the same QDQ graphs
 * (computed in Node by the global setup), and the edge serving a version's published int8
 * variant — `x-model-precision: int8`, `PRECISION=fp32` to force the fp32 export — with shadow
 * counters working for an int8 version mirrored against an fp32 one.
 */
import { createExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import relaxedKernels from '../../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../../shared/engine/kernels-simd.wasm';
import { createEngineSession } from '../../shared/engine/index.ts';
import { ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import { int8Cases, int8Input } from '../fixtures/int8-models.ts';
import { call, callWithVars, fixtureImage, fixtures, fromBase64, settle, store } from './fixtures.ts';
import { INT8_WORKERD_BATCH } from './int8-reference.ts';
import { int8Version } from './int8-version.ts';

const kernels = { relaxed: relaxedKernels, simd: simdKernels };

function stepsOff(got: Float32Array, ref: readonly number[]): number {
  expect(got.length).toBe(ref.length);
  const step = (Math.max(...ref) - Math.min(...ref)) / 127;
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(got[i]! - ref[i]!));
  return d / step;
}

describe('engine int8 kernels in workerd', () => {
  it('every shape class on both modules: within one quantization step of onnxruntime-node, modules bit-equal', async () => {
    const reference = inject('int8Reference');
    for (const [i, c] of int8Cases().entries()) {
      const dims = [INT8_WORKERD_BATCH, ...c.dims.slice(1)];
      const x = {
        data: int8Input(
          100 + i,
          dims.reduce((a, b) => a * b, 1),
        ),
        dims,
      };
      const relaxed = await createEngineSession(c.model, kernels);
      const simd = await createEngineSession(c.model, { simd: simdKernels });
      expect(relaxed.variant).toBe('relaxed');
      expect(simd.variant).toBe('simd');
      const steps = new Map<string, number>();
      const r = await relaxed.run({ x }, { timings: steps });
      const s = await simd.run({ x });
      for (const step of c.int8Steps) expect([...steps.keys()], c.name).toContain(step);
      for (const [name, want] of Object.entries(reference[c.name]!)) {
        expect(stepsOff(r[name]!.data, want), `${c.name} ${name} relaxed`).toBeLessThanOrEqual(1);
        expect(stepsOff(s[name]!.data, want), `${c.name} ${name} simd`).toBeLessThanOrEqual(1);
        const bits = (t: Float32Array) => new Uint32Array(t.buffer, t.byteOffset, t.length);
        expect(bits(r[name]!.data), `${c.name} ${name}`).toEqual(bits(s[name]!.data));
      }
    }
  });
});

const MODEL = 'int8-edge';
const IMAGE = fixtures().tensor.imageId;
const TOKEN = 'test-admin-token';

function classify(path: string, ctx = createExecutionContext(), vars?: Partial<Cloudflare.Env>) {
  const image = fixtureImage(IMAGE);
  const init = { method: 'POST', headers: { 'content-type': image.contentType }, body: image.bytes };
  return vars ? callWithVars(vars, path, init, ctx) : call(path, init, ctx);
}

function admin(method: string, path: string, body?: unknown) {
  return call(`/admin/models/${MODEL}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('the edge serves a published int8 variant', () => {
  let int8Bytes: Uint8Array;
  beforeAll(async () => {
    const exp = fixtures().exports[0]!;
    const v1 = await publishVersion(store(), MODEL, {
      manifest: { ...exp.manifest, name: MODEL },
      files: Object.fromEntries(Object.entries(exp.files).map(([k, v]) => [k, fromBase64(v)])),
    });
    expect(v1.version).toBe('v1');
    const v = await int8Version(MODEL);
    int8Bytes = v.files['model.int8.onnx']!;
    const v2 = await publishVersion(store(), MODEL, v as Parameters<typeof publishVersion>[2]);
    expect(v2.version).toBe('v2');
  });

  it('v2 answers from model.int8.onnx on the engine; v1 (no variant) and PRECISION=fp32 from the fp32 export', async () => {
    const res = await classify(`/v1/models/${MODEL}/versions/v2/classify?top_k=10`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-engine')).toBe('edgetune-wasm');
    expect(res.headers.get('x-model-precision')).toBe('int8');
    // the same int8 graph on the engine directly, on the Node-preprocessed tensor of that image
    const exp = fixtures().exports[0]!;
    const manifest = ModelManifestSchema.parse(exp.manifest);
    const direct = await createEngineSession(int8Bytes, kernels);
    const data = Float32Array.from(fixtures().tensor.data);
    const side = Math.sqrt(data.length / 3);
    const out = await direct.run({ [manifest.input.name]: { data, dims: [1, 3, side, side] } });
    const probs = out[manifest.outputs.probabilities]!.data;
    const body = (await res.json()) as { predictions: { label: string; score: number }[] };
    for (const p of body.predictions) {
      expect(p.score).toBeCloseTo(probs[manifest.labels.indexOf(p.label)]!, 5);
    }
    const v1 = await classify(`/v1/models/${MODEL}/versions/v1/classify`);
    expect(v1.headers.get('x-model-precision')).toBe('fp32');
    const forced = await classify(`/v1/models/${MODEL}/versions/v2/classify`, undefined, {
      PRECISION: 'fp32',
    });
    expect(forced.status).toBe(200);
    expect(forced.headers.get('x-model-precision')).toBe('fp32');
    expect(forced.headers.get('x-engine')).toBe('edgetune-wasm');
  });

  it('x-model-precision: fp32 serves one request from the fp32 export, beside the int8 session; a bad value is a 400', async () => {
    const path = `/v1/models/${MODEL}/versions/v2/classify?top_k=10`;
    const image = fixtureImage(IMAGE);
    const post = (precision?: string) =>
      call(path, {
        method: 'POST',
        headers: {
          'content-type': image.contentType,
          ...(precision === undefined ? {} : { 'x-model-precision': precision }),
        },
        body: image.bytes,
      });
    const scores = async (res: Response) =>
      ((await res.json()) as { predictions: { label: string; score: number }[] }).predictions;
    const forced = await post('fp32');
    expect(forced.status).toBe(200);
    expect(forced.headers.get('x-model-precision')).toBe('fp32');
    expect(forced.headers.get('x-engine')).toBe('edgetune-wasm');
    // The same scores as v1, which serves the very same fp32 export (it has no int8 variant).
    const v1 = await classify(`/v1/models/${MODEL}/versions/v1/classify?top_k=10`);
    const fp32Scores = await scores(v1);
    for (const [i, p] of (await scores(forced)).entries()) {
      expect(p.label).toBe(fp32Scores[i]!.label);
      expect(p.score).toBeCloseTo(fp32Scores[i]!.score, 6);
    }
    // Both sessions of v2 stay cached: the next plain request is int8 again, then fp32 again.
    const plain = await post();
    expect(plain.headers.get('x-model-precision')).toBe('int8');
    const int8Scores = await scores(plain);
    expect(int8Scores.some((p, i) => Math.abs(p.score - fp32Scores[i]!.score) > 1e-6)).toBe(true);
    const cache = await call('/admin/cache', { headers: { authorization: `Bearer ${TOKEN}` } });
    const { sessions } = (await cache.json()) as {
      sessions: { key: string; precision: string; file: string }[];
    };
    const v2 = sessions.filter((x) => x.key === `${MODEL}@v2`).map((x) => `${x.precision} ${x.file}`);
    expect(v2.sort()).toEqual(['fp32 model.onnx', 'int8 model.int8.onnx']);
    expect((await post('auto')).headers.get('x-model-precision')).toBe('int8');
    expect((await post(' FP32 ')).headers.get('x-model-precision')).toBe('fp32');
    const bad = await post('int4');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(/x-model-precision must be auto or fp32/);
    // PRECISION=fp32 (the operator's switch) cannot be turned back to int8 by a request.
    const off = await callWithVars({ PRECISION: 'fp32' }, path, {
      method: 'POST',
      headers: { 'content-type': image.contentType, 'x-model-precision': 'auto' },
      body: image.bytes,
    });
    expect(off.headers.get('x-model-precision')).toBe('fp32');
  });

  it('an int8 version shadowed against fp32 stable: answers from v1, agreement counters recorded', async () => {
    expect(
      (await admin('PUT', '/routing', { stable: 'v1', candidates: [], shadow: { version: 'v2', sample: 1 } }))
        .status,
    ).toBe(200);
    const ctx = createExecutionContext();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => classify(`/v1/models/${MODEL}/classify`, ctx)),
    );
    await settle(ctx);
    for (const a of answers) {
      expect(a.headers.get('x-model-version')).toBe('v1');
      expect(a.headers.get('x-model-precision')).toBe('fp32');
    }
    const res = await admin('GET', '/shadow/v2');
    expect(res.status).toBe(200);
    const { stats } = (await res.json()) as {
      stats: {
        against: Record<string, { compared: number; top1Agree: number; maxAbsDiff: number; errors: number }>;
      };
    };
    const v1 = stats.against.v1!;
    console.log(`int8 v2 shadowing fp32 v1: ${JSON.stringify(v1)}`);
    expect(v1.compared).toBe(6);
    expect(v1.errors).toBe(0);
    expect(v1.maxAbsDiff).toBeGreaterThan(0);
    await admin('DELETE', '/shadow');
  });
});
