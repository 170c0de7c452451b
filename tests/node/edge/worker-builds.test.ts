/**
 * The two Worker builds, bundled with wrangler's own dry run (what `wrangler deploy` uploads):
 * the default engine-only build fits in 1 MB gzip (Workers Free allows 3 MB) and carries no
 * onnxruntime-web; the full build stays under the Paid plan's 10 MB. Both bundles then run in
 * workerd against one local R2: a version only onnxruntime-web can run gets 422
 * `needs_full_build` from the engine-only build and is served by the full one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishVersion } from '../../../shared/registry/publish.ts';
import {
  bundleWorker,
  projectRoot,
  type WorkerBuild,
  type WorkerBundle,
} from '../../../local-edge/bundle.ts';
import { readWranglerVars } from '../../../local-edge/edge-server.ts';
import { createMiniflare, localBucketStore } from '../../../local-edge/miniflare.ts';
import { EDGE_SEEDS, edgeExport, edgeImages, edgeOrtOnlyExport } from '../../../bench/edge-models.ts';

const MB = 1_000_000;
const LIMITS: Record<WorkerBuild, number> = { engine: 1 * MB, full: 10 * MB };

let dir: string;
const bundles = {} as Record<WorkerBuild, WorkerBundle>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-builds-'));
  // One after the other: each wrangler run is CPU-heavy on a shared machine.
  for (const build of ['engine', 'full'] as const) {
    const out = path.join(dir, build);
    fs.mkdirSync(out);
    bundles[build] = await bundleWorker(out, { build });
  }
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const wasmNames = (b: WorkerBundle) =>
  b.modules
    .filter((m) => m.type === 'CompiledWasm')
    .map((m) => path.basename(m.path).replace(/^[0-9a-f]+-/, ''));

describe('Worker bundle sizes (wrangler deploy --dry-run)', () => {
  for (const build of ['engine', 'full'] as const) {
    it(`${build} build: gzip within ${LIMITS[build] / MB} MB, as wrangler reports it`, () => {
      const b = bundles[build];
      console.log(
        `${build} build: ${(b.reported.bytes / 1024).toFixed(2)} KiB / gzip ${(b.reported.gzipBytes / 1024).toFixed(2)} KiB (wrangler); ` +
          `gzip ${b.gzipBytes} bytes (recomputed)`,
      );
      expect(b.reported.gzipBytes).toBeLessThanOrEqual(LIMITS[build]);
      // Our own figure is wrangler's method (one gzip stream over all modules); the module order
      // is not recoverable from the output folder, which moves gzip's output by a few percent at
      // most (seen: 0.3% with two wasm modules, 1.05% with the WebP decoder's as a third).
      expect(Math.abs(b.gzipBytes - b.reported.gzipBytes)).toBeLessThanOrEqual(0.03 * b.reported.gzipBytes);
      expect(b.gzipBytes).toBeLessThanOrEqual(LIMITS[build]);
    });
  }

  it('only the full build carries onnxruntime-web', () => {
    expect(wasmNames(bundles.engine).sort()).toEqual([
      'jpeg.wasm',
      'kernels-relaxed.wasm',
      'kernels-simd.wasm',
      'resize-triangle.wasm',
      'webp_dec.wasm',
    ]);
    expect(wasmNames(bundles.full).sort()).toEqual([
      'jpeg.wasm',
      'kernels-relaxed.wasm',
      'kernels-simd.wasm',
      'ort-wasm-simd-threaded.wasm',
      'resize-triangle.wasm',
      'webp_dec.wasm',
    ]);
    const main = fs.readFileSync(bundles.engine.modules[0]!.path, 'utf8');
    // onnxruntime-web's JS registers its backend under this name; the engine-only script has none.
    expect(main).not.toContain('registerBackend');
    expect(fs.readFileSync(bundles.full.modules[0]!.path, 'utf8')).toContain('registerBackend');
  });

  it("[env.full] has the top level's vars (wrangler does not inherit them)", async () => {
    const [engine, full] = await Promise.all([readWranglerVars('engine'), readWranglerVars('full')]);
    expect(Object.keys(engine).length).toBeGreaterThan(0);
    expect(full).toEqual(engine);
    const { unstable_readConfig } = await import('wrangler');
    const config = (env?: string) =>
      unstable_readConfig({ config: path.join(projectRoot, 'wrangler.toml'), env }, { hideWarnings: true });
    const [top, fullEnv] = [config(), config('full')];
    expect(fullEnv.name).toBe(top.name);
    expect(fullEnv.r2_buckets).toEqual(top.r2_buckets);
    expect(fullEnv.triggers).toEqual(top.triggers);
    expect(fullEnv.compatibility_date).toBe(top.compatibility_date);
  });
});

describe('both bundles in workerd, one R2 bucket', () => {
  const running: Partial<Record<WorkerBuild, { mf: Miniflare; url: URL }>> = {};
  const image = edgeImages()[0]!;

  beforeAll(async () => {
    const r2Persist = path.join(dir, 'r2');
    for (const build of ['engine', 'full'] as const) {
      const mf = createMiniflare(bundles[build], { name: `edgetune-${build}`, r2Persist });
      running[build] = { mf, url: await mf.ready };
    }
    const store = await localBucketStore(running.engine!.mf);
    for (const [name, exp] of [
      ['engine-cnn', edgeExport(EDGE_SEEDS[0]!)],
      ['ort-only-cnn', edgeOrtOnlyExport()],
    ] as const) {
      await publishVersion(store, name, { manifest: { ...exp.manifest, name }, files: exp.files });
    }
  });

  afterAll(async () => {
    for (const r of Object.values(running)) await r?.mf.dispose();
  });

  const classify = (build: WorkerBuild, model: string) =>
    fetch(new URL(`/v1/models/${model}/classify`, running[build]!.url), {
      method: 'POST',
      headers: { 'content-type': image.contentType },
      body: image.bytes as Uint8Array<ArrayBuffer>,
    });

  it('the engine-only build serves a version the engine runs', async () => {
    const res = await classify('engine', 'engine-cnn');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-engine')).toBe('edgetune-wasm');
  });

  it('the engine-only build answers an onnxruntime-only version 422 needs_full_build', async () => {
    const res = await classify('engine', 'ort-only-cnn');
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('needs_full_build');
    expect(body.error.message).toContain('wrangler deploy --env full');
  });

  it('the full build serves the same version on onnxruntime-web', async () => {
    const res = await classify('full', 'ort-only-cnn');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-engine')).toBe('onnxruntime-web');
    const body = (await res.json()) as { predictions: { label: string; score: number }[] };
    expect(body.predictions.length).toBeGreaterThan(0);
  });

  it('readiness: both builds are ready (the full one once onnxruntime-web is initialised)', async () => {
    for (const build of ['engine', 'full'] as const) {
      const res = await fetch(new URL('/v2/health/ready', running[build]!.url));
      expect(res.status).toBe(200);
    }
  });
});
