/** The markdown summary of bench/results.json (what the README shows). */
import { ENGINES } from '../shared/inference/engines.ts';
import type { CpuRow } from './cpu.ts';
import type { ColdBreakdown } from './edge.ts';
import { type PhotoEdgeResult, renderPhotoTable } from './photo-edge.ts';

interface T {
  median_ms: number;
}

interface ModelResults {
  sizes: { fp32_bytes: number; optimized_bytes: number };
  warm: {
    'onnxruntime-node 1 thread fp32': T;
    'onnxruntime-web node': Record<string, T & { create_ms: number; first_run_ms: number }>;
    'edgetune engine node'?: T & { variant: string };
    'workerd in isolate': Record<
      string,
      { warm: T; heap_one_mb: number; heap_two_mb: number; variant?: string; ops_ms?: Record<string, number> }
    >;
    'workerd over HTTP': Record<string, T>;
  };
  accuracy: Record<string, { accuracy: number; max_abs_diff_vs_fp32: number; agreement_with_fp32: number }>;
  training: {
    prefix_images_per_s: number;
    head_epochs_per_s_cached: number;
    head_epochs_per_s_rerunning_backbone: number;
    train_images: number;
  };
}

export interface BenchSummary {
  /** The engine the headline figures describe: what the edge serves the reference model with. */
  edge_engine: string;
  edge_vs_native_ratio: number;
  cold_first_response_ms: number;
  two_versions_wasm_heap_mb: number;
  goals: { cold_first_response_ms: number; two_versions_wasm_heap_mb: number };
  reference_model: string;
  machine: {
    cpu: string;
    cores: number;
    memory_gb: number;
    load_average_1m: number;
    node: string;
    os: string;
    versions: Record<string, string>;
  };
  method: {
    warmup_runs: number;
    timed_runs: number;
    cold_samples: number;
    workerd_clock: { advances: boolean };
    bundle_bytes: number;
    variants?: unknown;
  };
  models: Record<string, unknown>;
  cold_start: {
    breakdown_in_isolate: Record<string, unknown>;
    production_worker_first_response_http: Record<string, unknown>;
  };
  seconds: number;
  worker_builds?: Record<
    string,
    {
      bytes: number;
      gzip_bytes: number;
      wrangler_reported: { bytes: number; gzipBytes: number };
      global_scope_startup: { median_ms: number; samples_ms: number[]; profile_span_ms: number };
    }
  >;
  worker_cpu_per_classify_request?: { free_plan_cpu_ms: number; rows: CpuRow[] };
  photos_in_workerd?: PhotoEdgeResult;
}

/** Workers' script limits after compression (Cloudflare's limits page), in wrangler's KiB. */
const PLAN_GZIP_LIMITS: [string, number][] = [
  ['Free', 3 * 2 ** 20],
  ['Paid', 10 * 2 ** 20],
];

const f = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

export function renderMarkdown(r: BenchSummary): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gb} GiB, load ${m.load_average_1m}; ${m.os}; Node ${m.node}; ` +
      Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') +
      `. Medians of ${r.method.timed_runs} runs after ${r.method.warmup_runs} warm-up runs; cold figures: median of ` +
      `${r.method.cold_samples} fresh workerd processes. Whole bench: ${f(r.seconds, 0)} s.`,
  );
  lines.push('');
  const okCold = r.cold_first_response_ms <= r.goals.cold_first_response_ms;
  const okHeap = r.two_versions_wasm_heap_mb <= r.goals.two_versions_wasm_heap_mb;
  lines.push(`| headline (reference model, as the edge serves it: ${r.edge_engine}) | value | goal |`);
  lines.push('|---|---|---|');
  lines.push(
    `| edge_vs_native_ratio (warm workerd ÷ onnxruntime-node 1 thread) | ${f(r.edge_vs_native_ratio, 2)}× | – |`,
  );
  lines.push(
    `| cold_first_response_ms (production Worker, HTTP, fresh workerd) | ${f(r.cold_first_response_ms, 0)} ms | ≤ ${r.goals.cold_first_response_ms} ms ${okCold ? '✓' : '✗ missed'} |`,
  );
  lines.push(
    `| two_versions_wasm_heap_mb | ${f(r.two_versions_wasm_heap_mb)} MB | ≤ ${r.goals.two_versions_wasm_heap_mb} MB ${okHeap ? '✓' : '✗ missed'} |`,
  );
  lines.push('');
  lines.push(
    '| model | engine / variant | size MB | ORT-node 1T ms | same wasm in Node ms | workerd isolate ms | workerd HTTP ms | ratio | heap 1 / 2 versions MB | accuracy (fp32 ORT-node) | max Δp vs fp32 |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [name, raw] of Object.entries(r.models)) {
    const x = raw as ModelResults;
    const native = x.warm['onnxruntime-node 1 thread fp32'].median_ms;
    for (const v of ['fp32', 'optimized', 'engine']) {
      const iso = x.warm['workerd in isolate'][v];
      const isEngine = v === 'engine';
      const acc = x.accuracy[isEngine ? 'edgetune engine' : `onnxruntime-web ${v}`];
      const nodeWasm = isEngine ? x.warm['edgetune engine node'] : x.warm['onnxruntime-web node'][v];
      const label = isEngine ? `edgetune engine (${iso?.variant ?? '?'} in workerd)` : `ORT-web ${v}`;
      lines.push(
        `| ${name} | ${label} | ${mb(v === 'optimized' ? x.sizes.optimized_bytes : x.sizes.fp32_bytes)} | ${f(native, 2)} | ` +
          `${f(nodeWasm?.median_ms, 2)} | ${f(iso?.warm.median_ms, 2)} | ` +
          `${f(x.warm['workerd over HTTP'][v]?.median_ms, 2)} | ${f(iso ? iso.warm.median_ms / native : Number.NaN, 1)}× | ` +
          `${f(iso?.heap_one_mb)} / ${f(iso?.heap_two_mb)} | ${f(acc?.accuracy, 3)} (${f(x.accuracy['onnxruntime-node fp32']?.accuracy, 3)}) | ` +
          `${acc?.max_abs_diff_vs_fp32.toExponential(1) ?? '–'} |`,
      );
    }
  }
  lines.push('');
  lines.push(`Cold start of \`${r.reference_model}\` in workerd (inside the isolate, medians, ms):`);
  lines.push('');
  lines.push(
    '| load settings | ORT init (of which instantiate) | store read | session create | first run | total | client | next run | heap MB |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const raw of Object.values(r.cold_start.breakdown_in_isolate)) {
    const c = raw as ColdBreakdown;
    lines.push(
      `| ${c.label} | ${f(c.ort_init_ms, 0)} (${f(c.wasm_instantiate_ms, 0)}) | ${f(c.store_read_ms, 0)} | ${f(c.session_create_ms, 0)} | ${f(c.first_run_ms, 0)} | ` +
        `${f(c.total_in_isolate_ms, 0)} | ${f(c.client_ms, 0)} | ${f(c.second_run_ms, 0)} | ${f(c.heap_mb)} |`,
    );
  }
  const http = r.cold_start.production_worker_first_response_http as Record<
    string,
    {
      median_ms: number;
      samples_ms: number[];
      engine?: string;
      build?: string;
      server_timing_ms?: { load: number; preprocess: number; inference: number };
    }
  >;
  lines.push('');
  lines.push(
    `Production Worker, first response in a fresh workerd (HTTP, client-side): ` +
      Object.entries(http)
        .map(
          ([v, c]) =>
            `${c.engine === ENGINES.wasm ? 'edgetune engine' : `ORT-web ${v}`}${c.build ? ` on the ${c.build} build` : ''} ${f(c.median_ms, 0)} ms (${c.samples_ms.map((s) => s.toFixed(0)).join(', ')}` +
            (c.server_timing_ms
              ? `; Worker-side load ${f(c.server_timing_ms.load, 0)} + preprocess ${f(c.server_timing_ms.preprocess, 0)} + inference ${f(c.server_timing_ms.inference, 0)})`
              : ')'),
        )
        .join('; ') +
      '.',
  );
  lines.push(...renderBuilds(r));
  const refEngine = (r.models[r.reference_model] as ModelResults | undefined)?.warm['workerd in isolate']
    .engine;
  if (refEngine?.ops_ms) {
    const total = Object.values(refEngine.ops_ms).reduce((a, b) => a + b, 0);
    lines.push('');
    lines.push(`Engine per-op time in workerd, \`${r.reference_model}\` (mean of 10 profiled runs):`);
    lines.push('');
    lines.push('| op | ms | share |');
    lines.push('|---|---|---|');
    for (const [op, ms] of Object.entries(refEngine.ops_ms)) {
      lines.push(`| ${op} | ${f(ms, 2)} | ${f((100 * ms) / total)}% |`);
    }
  }
  lines.push('');
  lines.push(
    '| model | prefix features (ORT-node) img/s | head epochs/s, cached features | head epochs/s, re-running backbone |',
  );
  lines.push('|---|---|---|---|');
  for (const [name, raw] of Object.entries(r.models)) {
    const t = (raw as ModelResults).training;
    lines.push(
      `| ${name} (${t.train_images} train images) | ${f(t.prefix_images_per_s)} | ${f(t.head_epochs_per_s_cached, 2)} | ${f(t.head_epochs_per_s_rerunning_backbone, 2)} |`,
    );
  }
  return lines.join('\n');
}

/** Both Worker builds (size, plan, start-up) and the Worker CPU per classify request. */
function renderBuilds(r: BenchSummary): string[] {
  const lines: string[] = [];
  const http = r.cold_start.production_worker_first_response_http as Record<string, { median_ms: number }>;
  const cold: Record<string, number | undefined> = {
    engine: http.engine?.median_ms,
    full: http.engine_full_build?.median_ms,
  };
  if (r.worker_builds) {
    lines.push('');
    lines.push(
      '| Worker build | upload KiB | gzip KiB (wrangler) | plans it fits (gzip limit) | global-scope start-up CPU ms (samples) | cold first response, engine request |',
    );
    lines.push('|---|---|---|---|---|---|');
    for (const [build, b] of Object.entries(r.worker_builds)) {
      const fits = PLAN_GZIP_LIMITS.filter(([, limit]) => b.wrangler_reported.gzipBytes <= limit)
        .map(([plan, limit]) => `${plan} (${limit / 2 ** 20} MB)`)
        .join(', ');
      const s = b.global_scope_startup;
      lines.push(
        `| ${build === 'engine' ? 'engine-only (default)' : 'full (`--env full`)'} | ${f(b.wrangler_reported.bytes / 1024, 0)} | ` +
          `${f(b.wrangler_reported.gzipBytes / 1024, 0)} | ${fits || 'none'} | ${f(s.median_ms, 0)} (${s.samples_ms.map((x) => x.toFixed(0)).join(', ')}) | ` +
          `${f(cold[build], 0)} ms |`,
      );
    }
  }
  const cpu = r.worker_cpu_per_classify_request;
  if (cpu) {
    lines.push('');
    lines.push(
      `Worker CPU per classify request (server-timing preprocess + inference, warm; Free plan allows ${cpu.free_plan_cpu_ms} ms):`,
    );
    lines.push('');
    lines.push(
      '| model | input | pixels | engine (build) | preprocess ms | inference ms | CPU ms median (mean) | p90 | Free plan |',
    );
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const c of cpu.rows) {
      lines.push(
        `| ${c.model} | ${c.input} (${c.bytes < 10_240 ? `${c.bytes} B` : `${f(c.bytes / 1024, 0)} KiB`}) | ${c.width}×${c.height} | ${c.engine} (${c.build}) | ` +
          `${f(c.preprocess_ms)} | ${f(c.inference_ms)} | ${f(c.cpu_ms)} (${f(c.cpu_mean_ms, 2)}) | ${f(c.cpu_p90_ms)} | ` +
          `${c.fits_free_plan ? 'fits' : 'Paid'} |`,
      );
    }
  }
  if (r.photos_in_workerd) {
    lines.push('');
    lines.push(...renderPhotoTable(r.photos_in_workerd));
  }
  return lines;
}
