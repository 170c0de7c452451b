/**
 * Measurements in workerd (Miniflare, local R2): inside the isolate with the bench-only Worker
 * (bench/worker/), and over HTTP against the production Worker (functions/) in both builds: the
 * engine-only default and `full` (+ onnxruntime-web). Every cold sample is a new workerd process,
 * so the isolate, the wasm instance and V8's code are all cold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { localBucketStore } from '../local-edge/miniflare.ts';
import type { ModelManifest } from '../shared/manifest/manifest.ts';
import { GraphBuilder } from '../shared/onnx/builder.ts';
import { publishVersion } from '../shared/registry/publish.ts';
import { ENGINE_IDS, ENGINES, type EngineName } from '../shared/inference/engines.ts';
import { projectRoot, type WorkerBuild } from '../local-edge/bundle.ts';
import { BENCH_DIR, type BenchModel } from './models.ts';
import { RUNS, VARIANTS, type Variant, variantBytes, WARMUP } from './node-runtimes.ts';
import { median, round, type Timing, timeRuns, timing } from './stats.ts';
import { type Bundle, bundle, call, type Instance, startColdInstance, startInstance } from './workerd.ts';

const MB = 2 ** 20;

interface LoadReply {
  variant?: string;
  instantiateMs: number;
  readMs: number;
  createMs: number;
  firstRunMs: number;
  warmupMs?: number;
  bytes: number;
  heapBytes: number;
}

export interface EdgeSetup {
  /** The production Worker per build: `engine` (default, no onnxruntime-web) and `full`. */
  prod: Record<WorkerBuild, Bundle>;
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
  const config = path.join(projectRoot, 'wrangler.toml');
  const [engine, full, bench] = await Promise.all([
    bundle(config, path.join(root, 'prod-build'), 'engine'),
    bundle(config, path.join(root, 'prod-full-build'), 'full'),
    bundle(path.join(projectRoot, 'bench', 'worker', 'wrangler.toml'), path.join(root, 'bench-build')),
  ]);
  const prod = { engine, full };
  const inst = await startInstance(bench, r2Dir);
  try {
    const store = await localBucketStore(inst.mf);
    const g = new GraphBuilder({ name: 'identity', opset: 13 });
    g.input('x', [1]);
    g.node('Identity', ['x'], ['y']);
    g.output('y', [1]);
    await store.put(TINY_KEY, g.toBytes());
    for (const m of models) {
      for (const v of Object.keys(VARIANTS) as Variant[]) {
        await store.put(rawKey(m, v), variantBytes(m, v));
        const name = servedName(m, v);
        // The export's manifest may already name its optimised graph: each variant sets its own.
        const { optimized: _exported, ...base } = m.manifest;
        const manifest: ModelManifest = { ...base, name };
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

/** Milliseconds one timed sample should last: workerd's clock ticks in whole ms, so ≤ 1% error. */
const SAMPLE_MS = 100;

/** Runs per timed sample so each sample lasts ≥ ~SAMPLE_MS, from the warm-up's total time. */
async function groupFor(base: URL, id: string, dims: string): Promise<number> {
  const t = performance.now();
  await call(base, `/run?${q({ id, n: WARMUP, dims })}`);
  const perRun = (performance.now() - t) / WARMUP;
  return Math.max(1, Math.min(200, Math.ceil(SAMPLE_MS / Math.max(perRun, 0.05))));
}

export interface IsolateResult {
  /** Per-run ms; each of the RUNS samples is the mean of `runs_per_sample` runs. */
  warm: Timing;
  runs_per_sample?: number;
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
    const group = await groupFor(inst.url, 'a', m.dims.join(','));
    const r = await call<{ times: number[]; heapBytes: number }>(
      inst.url,
      `/run?${q({ id: 'a', n: RUNS, dims: m.dims.join(','), group })}`,
    );
    await load('b');
    const r2 = await call<{ heapBytes: number }>(
      inst.url,
      `/run?${q({ id: 'b', n: 3, dims: m.dims.join(',') })}`,
    );
    return {
      warm: timing(r.times),
      runs_per_sample: group,
      heap_one_mb: round(r.heapBytes / MB),
      heap_two_mb: round(r2.heapBytes / MB),
    };
  } finally {
    await inst.dispose();
  }
}

export interface EngineIsolateResult extends IsolateResult {
  /** Kernel variant the engine picked in workerd ('relaxed' expected, 'simd' fallback). */
  variant: string;
  /** Mean ms per run by op type (10 profiled runs, performance.now around every step). */
  ops_ms: Record<string, number>;
}

/**
 * The same as inIsolate for the edgetune engine, on the plain export (what the edge gives it), or
 * on another graph of the model stored at `key` (its int8 variant).
 */
export async function inIsolateEngine(
  setup: EdgeSetup,
  m: BenchModel,
  key = rawKey(m, 'fp32'),
): Promise<EngineIsolateResult> {
  const inst = await startInstance(setup.bench, setup.r2Dir);
  const dims = m.dims.join(',');
  try {
    const load = (id: string) => call<LoadReply>(inst.url, `/load?${q({ key, id, dims, engine: 1 })}`);
    const a = await load('a');
    const group = await groupFor(inst.url, 'a', dims);
    const r = await call<{ times: number[]; heapBytes: number }>(
      inst.url,
      `/run?${q({ id: 'a', n: RUNS, dims, group })}`,
    );
    const p = await call<{ opsMs: Record<string, number> }>(
      inst.url,
      `/run?${q({ id: 'a', n: 10, dims, group, profile: 1 })}`,
    );
    await load('b');
    const r2 = await call<{ heapBytes: number }>(inst.url, `/run?${q({ id: 'b', n: 3, dims })}`);
    const ops = Object.entries(p.opsMs).sort((x, y) => y[1] - x[1]);
    return {
      variant: a.variant ?? 'unknown',
      warm: timing(r.times),
      runs_per_sample: group,
      heap_one_mb: round(r.heapBytes / MB),
      heap_two_mb: round(r2.heapBytes / MB),
      ops_ms: Object.fromEntries(ops.map(([op, ms]) => [op, round(ms, 2)])),
    };
  } finally {
    await inst.dispose();
  }
}

export interface ColdConfig {
  label: string;
  variant: Variant;
  options: Record<string, unknown>;
  /** The edgetune engine (on the plain export) instead of onnxruntime-web. */
  engine?: boolean;
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
  { label: 'edgetune engine (plain export)', variant: 'fp32', options: {}, engine: true },
];

export interface ColdBreakdown {
  label: string;
  samples: number;
  /** Kernel variant, for the engine rows. */
  variant?: string;
  /** onnxruntime-web start in a cold isolate: wasm instantiate + backend init (a 1-node session); 0 for the engine. */
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
  let variant: string | undefined;
  for (let s = 0; s < samples; s++) {
    const inst: Instance = await startInstance(setup.bench, setup.r2Dir);
    try {
      const t = performance.now();
      // onnxruntime-web's own start-up, timed apart with a 1-node graph; the engine has none.
      const tiny = c.engine
        ? undefined
        : await call<LoadReply>(inst.url, `/load?${q({ key: TINY_KEY, id: 'tiny', dims: '1' })}`);
      const r = await call<LoadReply>(
        inst.url,
        `/load?${q({ key: rawKey(m, c.variant), id: 'm', dims: m.dims.join(','), warmup: 1, options: JSON.stringify(c.options), engine: c.engine ? 1 : 0 })}`,
      );
      variant = r.variant;
      const client = performance.now() - t - (r.warmupMs ?? 0);
      const init = tiny ? tiny.readMs + tiny.createMs + tiny.firstRunMs : 0;
      rows.push([
        init,
        r.readMs,
        r.createMs,
        r.firstRunMs,
        r.warmupMs ?? 0,
        client,
        r.heapBytes / MB,
        tiny?.instantiateMs ?? 0,
      ]);
    } finally {
      await inst.dispose();
    }
  }
  const col = (i: number) => median(rows.map((r) => r[i]!));
  return {
    label: c.label,
    samples,
    ...(c.engine ? { variant } : {}),
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

/** One way the production Worker serves a model over HTTP: which build, published name and vars. */
export interface HttpRow {
  key: string;
  name: string;
  build: WorkerBuild;
  bindings: Record<string, string>;
  /** The engine the Worker must report in `x-engine` (checked, so a figure is never mislabelled). */
  engine: EngineName;
  /** When set, the `x-model-precision` the Worker must report (checked the same way). */
  precision?: 'fp32' | 'int8';
}

/**
 * ORT rows run on the full build and force onnxruntime-web with ENGINE=onnxruntime (the exports
 * list the engine, so `auto` would serve them on it); the engine row is what the default
 * engine-only build does with the published version, when the export validated the engine.
 */
export function httpRows(m: BenchModel): HttpRow[] {
  const ort = { ENGINE: 'onnxruntime' };
  const rows: HttpRow[] = (Object.keys(VARIANTS) as Variant[]).map((v) => ({
    key: v,
    name: servedName(m, v),
    build: 'full',
    bindings: ort,
    engine: ENGINES.ortWeb,
  }));
  if (m.manifest.engines.includes(ENGINE_IDS.wasm)) {
    rows.push(engineRow(m, 'engine'));
  }
  return rows;
}

/** The engine serving the published version on one build (the full build's extra wasm is idle). */
export function engineRow(m: BenchModel, build: WorkerBuild): HttpRow {
  return {
    key: build === 'engine' ? 'engine' : 'engine_full_build',
    name: servedName(m, 'optimized'),
    build,
    bindings: {},
    engine: ENGINES.wasm,
  };
}

/** `server-timing` durations by name (the Worker reports load, preprocess and inference). */
export function serverTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export async function classify(
  base: URL,
  row: HttpRow,
  image: Uint8Array,
  contentType = 'image/png',
): Promise<Record<string, number>> {
  const res = await fetch(new URL(`/v1/models/${row.name}/classify`, base), {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: image as Uint8Array<ArrayBuffer>,
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`classify ${row.name}: ${res.status} ${body.slice(0, 400)}`);
  const engine = res.headers.get('x-engine');
  if (engine !== row.engine)
    throw new Error(`classify ${row.name}: served by ${engine}, expected ${row.engine}`);
  const precision = res.headers.get('x-model-precision');
  if (row.precision && precision !== row.precision)
    throw new Error(`classify ${row.name}: served in ${precision}, expected ${row.precision}`);
  return serverTiming(res.headers.get('server-timing'));
}

export interface ColdHttp {
  median_ms: number;
  samples_ms: number[];
  engine: string;
  /** Which production Worker build answered. */
  build: WorkerBuild;
  /** Medians of the Worker's own server-timing: routing + session load, preprocess, first inference. */
  server_timing_ms: { load: number; preprocess: number; inference: number };
}

/** The production Worker's first response in a fresh workerd (client-side, HTTP), per sample. */
export async function coldHttp(
  setup: EdgeSetup,
  m: BenchModel,
  row: HttpRow,
  samples: number,
): Promise<ColdHttp> {
  const out: number[] = [];
  const parts: Record<string, number>[] = [];
  for (let s = 0; s < samples; s++) {
    const inst = await startColdInstance(setup.prod[row.build], setup.r2Dir, row.bindings);
    try {
      const t = performance.now();
      parts.push(await classify(inst.url, row, m.requestPng));
      out.push(round(performance.now() - t));
    } finally {
      await inst.dispose();
    }
  }
  const part = (k: string) => round(median(parts.map((p) => p[k] ?? Number.NaN)));
  return {
    median_ms: round(median(out)),
    samples_ms: out,
    engine: row.engine,
    build: row.build,
    server_timing_ms: { load: part('load'), preprocess: part('preprocess'), inference: part('inference') },
  };
}

/** Warm requests to the production Worker over HTTP (decode + preprocess + inference + JSON). */
export async function warmHttp(setup: EdgeSetup, models: BenchModel[]): Promise<Record<string, Timing>> {
  const out: Record<string, Timing> = {};
  // One workerd per build and set of vars; every model's rows for it run there.
  const byVars = new Map<
    string,
    { build: WorkerBuild; bindings: Record<string, string>; jobs: [BenchModel, HttpRow][] }
  >();
  for (const m of models) {
    for (const row of httpRows(m)) {
      const id = `${row.build} ${JSON.stringify(row.bindings)}`;
      const group = byVars.get(id) ?? { build: row.build, bindings: row.bindings, jobs: [] };
      group.jobs.push([m, row]);
      byVars.set(id, group);
    }
  }
  for (const { build, bindings, jobs } of byVars.values()) {
    const inst = await startInstance(setup.prod[build], setup.r2Dir, bindings);
    try {
      for (const [m, row] of jobs) {
        out[`${m.name} ${row.key}`] = timing(
          await timeRuns(() => classify(inst.url, row, m.requestPng), WARMUP, RUNS),
        );
      }
    } finally {
      await inst.dispose();
    }
  }
  return out;
}
