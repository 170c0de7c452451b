/**
 * Measurements in workerd (Miniflare, local R2): inside the isolate with the bench-only Worker
 * (bench/worker/), and over HTTP against the production Worker (functions/). Every cold sample is
 * a new workerd process, so the isolate, the wasm instance and V8's code are all cold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { R2Store } from '../functions/r2-store.ts';
import type { ModelManifest } from '../shared/manifest/manifest.ts';
import { GraphBuilder } from '../shared/onnx/builder.ts';
import { publishVersion } from '../shared/registry/publish.ts';
import { projectRoot } from '../training/serve/bundle.ts';
import { BENCH_DIR, type BenchModel } from './models.ts';
import { RUNS, VARIANTS, type Variant, variantBytes, WARMUP } from './node-runtimes.ts';
import { median, round, type Timing, timeRuns, timing } from './stats.ts';
import { type Bundle, bundle, call, type Instance, startInstance } from './workerd.ts';

const MB = 2 ** 20;

interface LoadReply {
  instantiateMs: number;
  readMs: number;
  createMs: number;
  firstRunMs: number;
  warmupMs?: number;
  bytes: number;
  heapBytes: number;
}

export interface EdgeSetup {
  prod: Bundle;
  bench: Bundle;
  r2Dir: string;
}

/** Model name served by the production Worker for a variant (fp32 export, or export + optimized graph). */
export const servedName = (m: BenchModel, v: Variant) => (v === 'fp32' ? m.name : `${m.name}-opt`);
const rawKey = (m: BenchModel, v: Variant) => `bench/${m.name}/${VARIANTS[v].file}`;
const TINY_KEY = 'bench/identity.onnx';

/** Bundles both Workers and fills a fresh local R2 with the models (raw keys and published versions). */
export async function setupEdge(models: BenchModel[], log: (m: string) => void): Promise<EdgeSetup> {
  const root = path.join(BENCH_DIR, 'workerd');
  const r2Dir = path.join(root, 'r2');
  fs.rmSync(r2Dir, { recursive: true, force: true });
  const [prod, bench] = await Promise.all([
    bundle(path.join(projectRoot, 'wrangler.toml'), path.join(root, 'prod-build')),
    bundle(path.join(projectRoot, 'bench', 'worker', 'wrangler.toml'), path.join(root, 'bench-build')),
  ]);
  const inst = await startInstance(bench, r2Dir);
  try {
    const bucket = await inst.mf.getR2Bucket('MODELS');
    // Miniflare's Node-side R2 proxy wants plain, fresh Uint8Arrays.
    const g = new GraphBuilder({ name: 'identity', opset: 13 });
    g.input('x', [1]);
    g.node('Identity', ['x'], ['y']);
    g.output('y', [1]);
    await bucket.put(TINY_KEY, Uint8Array.from(g.toBytes()));
    const store = new R2Store(bucket as unknown as R2Bucket);
    for (const m of models) {
      for (const v of Object.keys(VARIANTS) as Variant[]) {
        await bucket.put(rawKey(m, v), Uint8Array.from(variantBytes(m, v)));
        const name = servedName(m, v);
        const manifest: ModelManifest = { ...m.manifest, name };
        const files: Record<string, Uint8Array> = { 'model.onnx': Uint8Array.from(m.fp32) };
        if (v === 'optimized') {
          manifest.optimized = { file: m.optimized.file, sha256: m.optimized.sha256, size: m.optimized.size };
          files[m.optimized.file] = Uint8Array.from(m.optimized.bytes);
        }
        const r = await publishVersion(store, name, { manifest, files });
        log(`published ${name}@${r.version} to local R2`);
      }
    }
  } finally {
    await inst.dispose();
  }
  return { prod, bench, r2Dir };
}

const q = (o: Record<string, string | number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');

/** Whether performance.now() advances during CPU work in local workerd (it does not in production). */
export async function clockCheck(
  setup: EdgeSetup,
): Promise<{ in_isolate_ms: number; client_ms: number; advances: boolean }> {
  const inst = await startInstance(setup.bench, setup.r2Dir);
  try {
    await call(inst.url, '/clock?iterations=1000', 'GET');
    const t = performance.now();
    const r = await call<{ perfMs: number }>(inst.url, '/clock?iterations=20000000', 'GET');
    const client = performance.now() - t;
    return { in_isolate_ms: r.perfMs, client_ms: round(client), advances: r.perfMs > 0.5 * client };
  } finally {
    await inst.dispose();
  }
}

export interface IsolateResult {
  warm: Timing;
  heap_one_mb: number;
  heap_two_mb: number;
}

/**
 * One fresh isolate: load version A, warm it, time RUNS runs in the isolate; then load the same
 * graph as a second resident version B and run it: the wasm heap with one and two versions.
 */
export async function inIsolate(setup: EdgeSetup, m: BenchModel, v: Variant): Promise<IsolateResult> {
  const inst = await startInstance(setup.bench, setup.r2Dir);
  try {
    const load = (id: string) =>
      call<LoadReply>(
        inst.url,
        `/load?${q({ key: rawKey(m, v), id, dims: m.dims.join(','), options: JSON.stringify({ graphOptimizationLevel: VARIANTS[v].graphOptimizationLevel }) })}`,
      );
    await load('a');
    await call(inst.url, `/run?${q({ id: 'a', n: WARMUP, dims: m.dims.join(',') })}`);
    const r = await call<{ times: number[]; heapBytes: number }>(
      inst.url,
      `/run?${q({ id: 'a', n: RUNS, dims: m.dims.join(',') })}`,
    );
    await load('b');
    const r2 = await call<{ heapBytes: number }>(
      inst.url,
      `/run?${q({ id: 'b', n: 3, dims: m.dims.join(',') })}`,
    );
    return {
      warm: timing(r.times),
      heap_one_mb: round(r.heapBytes / MB),
      heap_two_mb: round(r2.heapBytes / MB),
    };
  } finally {
    await inst.dispose();
  }
}

export interface ColdConfig {
  label: string;
  variant: Variant;
  options: Record<string, unknown>;
}

export const COLD_CONFIGS: ColdConfig[] = [
  { label: 'fp32, optimisation all (stock)', variant: 'fp32', options: { graphOptimizationLevel: 'all' } },
  {
    label: "offline 'extended' graph, optimisation disabled",
    variant: 'optimized',
    options: { graphOptimizationLevel: 'disabled' },
  },
  {
    label: "offline 'extended', disabled, no CPU arena, no mem pattern",
    variant: 'optimized',
    options: { graphOptimizationLevel: 'disabled', enableCpuMemArena: false, enableMemPattern: false },
  },
];

export interface ColdBreakdown {
  label: string;
  samples: number;
  /** onnxruntime-web start in a cold isolate: wasm instantiate + backend init (a 1-node session). */
  ort_init_ms: number;
  /** Of which WebAssembly.instantiate of the precompiled module. */
  wasm_instantiate_ms: number;
  store_read_ms: number;
  session_create_ms: number;
  first_run_ms: number;
  /** A second run right after (what a warm-up run would take off the next request). */
  second_run_ms: number;
  total_in_isolate_ms: number;
  client_ms: number;
  heap_mb: number;
}

/** Cold start broken down, one fresh workerd per sample. */
export async function coldBreakdown(
  setup: EdgeSetup,
  m: BenchModel,
  c: ColdConfig,
  samples: number,
): Promise<ColdBreakdown> {
  const rows: number[][] = [];
  for (let s = 0; s < samples; s++) {
    const inst: Instance = await startInstance(setup.bench, setup.r2Dir);
    try {
      const t = performance.now();
      const tiny = await call<LoadReply>(inst.url, `/load?${q({ key: TINY_KEY, id: 'tiny', dims: '1' })}`);
      const r = await call<LoadReply>(
        inst.url,
        `/load?${q({ key: rawKey(m, c.variant), id: 'm', dims: m.dims.join(','), warmup: 1, options: JSON.stringify(c.options) })}`,
      );
      const client = performance.now() - t - (r.warmupMs ?? 0);
      const init = tiny.readMs + tiny.createMs + tiny.firstRunMs;
      rows.push([
        init,
        r.readMs,
        r.createMs,
        r.firstRunMs,
        r.warmupMs ?? 0,
        client,
        r.heapBytes / MB,
        tiny.instantiateMs,
      ]);
    } finally {
      await inst.dispose();
    }
  }
  const col = (i: number) => median(rows.map((r) => r[i]!));
  return {
    label: c.label,
    samples,
    ort_init_ms: round(col(0)),
    wasm_instantiate_ms: round(col(7)),
    store_read_ms: round(col(1)),
    session_create_ms: round(col(2)),
    first_run_ms: round(col(3)),
    second_run_ms: round(col(4)),
    total_in_isolate_ms: round(col(0) + col(1) + col(2) + col(3)),
    client_ms: round(col(5)),
    heap_mb: round(col(6)),
  };
}

async function classify(base: URL, name: string, png: Uint8Array): Promise<void> {
  const res = await fetch(new URL(`/v1/models/${name}/classify`, base), {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: png as Uint8Array<ArrayBuffer>,
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`classify ${name}: ${res.status} ${body.slice(0, 400)}`);
}

/** The production Worker's first response in a fresh workerd (client-side, HTTP), per sample. */
export async function coldHttp(
  setup: EdgeSetup,
  m: BenchModel,
  v: Variant,
  samples: number,
): Promise<{ median_ms: number; samples_ms: number[] }> {
  const out: number[] = [];
  for (let s = 0; s < samples; s++) {
    const inst = await startInstance(setup.prod, setup.r2Dir);
    try {
      const t = performance.now();
      await classify(inst.url, servedName(m, v), m.requestPng);
      out.push(round(performance.now() - t));
    } finally {
      await inst.dispose();
    }
  }
  return { median_ms: round(median(out)), samples_ms: out };
}

/** Warm requests to the production Worker over HTTP (decode + preprocess + inference + JSON). */
export async function warmHttp(setup: EdgeSetup, models: BenchModel[]): Promise<Record<string, Timing>> {
  const inst = await startInstance(setup.prod, setup.r2Dir);
  const out: Record<string, Timing> = {};
  try {
    for (const m of models) {
      for (const v of Object.keys(VARIANTS) as Variant[]) {
        const name = servedName(m, v);
        out[`${m.name} ${v}`] = timing(
          await timeRuns(() => classify(inst.url, name, m.requestPng), WARMUP, RUNS),
        );
      }
    }
  } finally {
    await inst.dispose();
  }
  return out;
}
