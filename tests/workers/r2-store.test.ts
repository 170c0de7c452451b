/**
 * The ObjectStore contract (the same suite the file and S3 stores run in Node) against R2 through
 * the Workers binding in workerd (miniflare), including the conditional-write cases s3rver cannot
 * honour; then the registry's concurrency guarantees on R2.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { R2Store } from '../../shared/store/r2.ts';
import type { ModelManifestInput } from '../../shared/manifest/manifest.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import { readRouting, rollout, setShadow } from '../../shared/routing/operations.ts';
import { listVersionIds } from '../../shared/registry/versions.ts';
import { sha256Hex } from '../../shared/store/digest.ts';
import { describeObjectStoreContract } from '../node/store/contract.ts';

let n = 0;
const freshStore = () => new R2Store(env.MODELS, { prefix: `r2-store-test-${Date.now()}-${++n}` });

describeObjectStoreContract('r2 (miniflare)', freshStore, { conditionalWrites: true });

async function makeExport(
  seed: number,
): Promise<{ manifest: ModelManifestInput; files: Record<string, Uint8Array> }> {
  const model = new Uint8Array(2048);
  let x = seed;
  for (let i = 0; i < model.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    model[i] = x >>> 24;
  }
  return {
    manifest: {
      schema: 1,
      name: 'r2-model',
      createdAt: '2026-05-01T00:00:00.000Z',
      model: { file: 'model.onnx', sha256: await sha256Hex(model), size: model.length },
      input: { name: 'input', shape: [1, 3, 8, 8] },
      outputs: { embeddingDim: 4 },
      labels: ['a', 'b'],
      preprocess: { width: 8, height: 8, channels: 3, layout: 'NCHW' },
      backbone: { source: 'test:random' },
    },
    files: { 'model.onnx': model },
  };
}

describe('R2Store specifics and the registry on R2', () => {
  it('uses quoted httpEtag values and accepts them back in ifMatch', async () => {
    const store = freshStore();
    const put = await store.put('k', 'v1');
    expect(put.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const next = await store.put('k', 'v2', { ifMatch: put.etag });
    expect(next.etag).not.toBe(put.etag);
    await expect(store.put('k', 'v3', { ifMatch: put.etag })).rejects.toMatchObject({
      code: 'precondition_failed',
    });
  });

  it('three publishers racing on R2 get three distinct versions', async () => {
    const store = freshStore();
    const exports = await Promise.all([1, 2, 3].map(makeExport));
    const results = await Promise.all(exports.map((e) => publishVersion(store, 'r2-model', e)));
    expect(results.map((r) => r.version).sort()).toEqual(['v1', 'v2', 'v3']);
    expect(await listVersionIds(store, 'r2-model')).toEqual(['v1', 'v2', 'v3']);
    expect(results.filter((r) => r.madeStable)).toHaveLength(1);
  });

  it('racing routing writers on R2 lose no update', async () => {
    const store = freshStore();
    for (const seed of [1, 2, 3, 4]) await publishVersion(store, 'r2-model', await makeExport(seed));
    await Promise.all([
      rollout(store, 'r2-model', 'v2', 10),
      rollout(store, 'r2-model', 'v3', 20),
      setShadow(store, 'r2-model', 'v4', 0.5),
    ]);
    const doc = (await readRouting(store, 'r2-model'))!.doc;
    expect(Object.fromEntries(doc.candidates.map((c) => [c.version, c.weight]))).toEqual({ v2: 10, v3: 20 });
    expect(doc.shadow).toEqual({ version: 'v4', sample: 0.5 });
    expect(doc.stable).toBe('v1');
  });
});
