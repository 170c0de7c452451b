/**
 * `npm run bench`: every performance figure of the project in ONE run on one machine — warm
 * inference per engine and model variant, cold start in workerd broken down, wasm heap with one
 * and two versions resident, training throughput, accuracy per variant — written to
 * bench/results.json and printed as a markdown table. Benchmarks report; they assert nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../local-edge/bundle.ts';
import { ENGINE_IDS, ENGINES } from '../shared/inference/engines.ts';
import {
  clockCheck,
  COLD_CONFIGS,
  coldBreakdown,
  type ColdHttp,
  coldHttp,
  type EngineIsolateResult,
  engineRow,
  httpRows,
  inIsolate,
  inIsolateEngine,
  type IsolateResult,
  setupEdge,
  warmHttp,
} from './edge.ts';
import { cpuPerRequest, FREE_PLAN_CPU_MS } from './cpu.ts';
import { photoEdgeTable } from './photo-edge.ts';
import { prototypeCreateLatency } from './fewshot.ts';
import { type BenchModel, digitsModel, referenceModel } from './models.ts';
import {
  accuracies,
  engineWarm,
  nativeWarm,
  nodeWebHeapMb,
  RUNS,
  VARIANTS,
  type Variant,
  WARMUP,
  webWarm,
} from './node-runtimes.ts';
import { type BenchSummary, renderMarkdown } from './report.ts';
import { type StartupResult, workerStartup } from './startup.ts';
import { round } from './stats.ts';
import { trainAtScale, trainScaleMarkdown } from './train-scale.ts';
import { autoSelectBench } from './select/auto-select.ts';
import { int8AccuracyBench } from './int8-accuracy.ts';
import { int8Bench, int8Markdown } from './int8.ts';

const COLD_SAMPLES = 5;
const STARTUP_SAMPLES = 3;
const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

function machine() {
  const pkg = (name: string) =>
    (
      JSON.parse(fs.readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory_gb: round(os.totalmem() / 2 ** 30),
    load_average_1m: round(os.loadavg()[0]!, 2),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    versions: {
      'onnxruntime-node': pkg('onnxruntime-node'),
      'onnxruntime-web': pkg('onnxruntime-web'),
      miniflare: pkg('miniflare'),
      wrangler: pkg('wrangler'),
    },
    date: new Date().toISOString(),
  };
}

function training(m: BenchModel) {
  const t = m.train;
  const prefixImagesPerS = t.features.computed / t.features.seconds;
  const epochs = t.transfer.history.length;
  const headEpochS = t.timings.fit! / epochs;
  // Without the cache every epoch would run the frozen prefix over the training set again.
  const backboneEpochS = headEpochS + t.counts.train / prefixImagesPerS;
  return {
    prefix_images_per_s: round(prefixImagesPerS),
    prefix_images: t.features.computed,
    train_images: t.counts.train,
    head_epochs: epochs,
    head_epochs_per_s_cached: round(1 / headEpochS, 2),
    head_epochs_per_s_rerunning_backbone: round(1 / backboneEpochS, 2),
    cache_speedup: round(backboneEpochS / headEpochS),
    held_out_accuracy: t.accuracy,
  };
}

async function main(): Promise<void> {
  const info = machine();
  log(`machine: ${info.cpu}, ${info.cores} cores, load ${info.load_average_1m}`);
  const reference = await referenceModel(log);
  const digits = await digitsModel(log);
  const models = [reference, digits];

  const perModel: Record<string, Record<string, unknown>> = {};
  for (const m of models) {
    log(
      `${m.name}: onnxruntime-node (1 thread) and onnxruntime-web in Node, ${WARMUP} warm-up + ${RUNS} runs each`,
    );
    const native = await nativeWarm(m);
    const web: Record<string, unknown> = {};
    for (const v of Object.keys(VARIANTS) as Variant[]) web[v] = await webWarm(m, v);
    log(`${m.name}: edgetune engine in Node, ${WARMUP} warm-up + ${RUNS} runs`);
    const engine = await engineWarm(m);
    log(`${m.name}: accuracy on ${m.test.images.length} held-out images per engine/variant`);
    perModel[m.name] = {
      sizes: { fp32_bytes: m.fp32.byteLength, optimized_bytes: m.optimized.size },
      optimized_nodes: m.optimized.nodes,
      /** Engines the export validated (manifest.engines): the edge serves the engine when listed. */
      engines: m.manifest.engines,
      warm: {
        'onnxruntime-node 1 thread fp32': native,
        'onnxruntime-web node': web,
        'edgetune engine node': engine,
      },
      accuracy: await accuracies(m),
      training: training(m),
    };
  }
  const nodeHeapMb = nodeWebHeapMb();

  log('workerd: bundling the production and bench Workers, publishing to local R2');
  const setup = await setupEdge(models, log);
  const clock = await clockCheck(setup);
  log(`workerd clock: ${clock.in_isolate_ms} ms in isolate vs ${clock.client_ms} ms client-side`);
  for (const m of models) {
    const isolate: Record<string, unknown> = {};
    for (const v of Object.keys(VARIANTS) as Variant[]) {
      log(`${m.name} ${v}: warm runs inside the isolate, heap with one and two versions`);
      isolate[v] = await inIsolate(setup, m, v);
    }
    log(`${m.name} engine: warm runs inside the isolate, per-op timings, heap with one and two versions`);
    isolate.engine = await inIsolateEngine(setup, m);
    (perModel[m.name]!.warm as Record<string, unknown>)['workerd in isolate'] = isolate;
  }
  log('production Worker: warm requests over HTTP');
  const http = await warmHttp(setup, models);
  for (const [k, t] of Object.entries(http)) {
    const [name, v] = k.split(' ') as [string, string];
    const warm = perModel[name]!.warm as Record<string, Record<string, unknown>>;
    warm['workerd over HTTP'] = { ...(warm['workerd over HTTP'] ?? {}), [v]: t };
  }
  const cold: Record<string, unknown> = {};
  for (const c of COLD_CONFIGS) {
    log(`cold start breakdown: ${c.label} (${COLD_SAMPLES} fresh workerd each)`);
    cold[c.label] = await coldBreakdown(setup, reference, c, COLD_SAMPLES);
  }
  const coldHttpResult: Record<string, ColdHttp> = {};
  for (const row of httpRows(reference)) {
    log(
      `cold first response of the production Worker, ${row.key} on ${row.engine} (${COLD_SAMPLES} fresh workerd)`,
    );
    coldHttpResult[row.key] = await coldHttp(setup, reference, row, COLD_SAMPLES);
  }
  if (reference.manifest.engines.includes(ENGINE_IDS.wasm)) {
    // The same engine request on the full build: what carrying onnxruntime-web costs a cold start.
    const row = engineRow(reference, 'full');
    log(
      `cold first response of the production Worker, engine on the full build (${COLD_SAMPLES} fresh workerd)`,
    );
    coldHttpResult[row.key] = await coldHttp(setup, reference, row, COLD_SAMPLES);
  }
  const startup: Record<string, StartupResult> = {};
  for (const build of ['engine', 'full'] as const) {
    log(`Worker global-scope start-up, ${build} build (wrangler check startup, ${STARTUP_SAMPLES} samples)`);
    startup[build] = await workerStartup(build, STARTUP_SAMPLES);
  }
  const cpu = await cpuPerRequest(setup, models, log);
  const photos = await photoEdgeTable(setup, reference, log);
  log('few-shot: prototype version from 15 examples at the edge (workerd, MobileNetV2-224)');
  const prototypeCreate = await prototypeCreateLatency(log, {});

  const refWarm = perModel[reference.name]!.warm as {
    'onnxruntime-node 1 thread fp32': { median_ms: number };
  };
  const native = refWarm['onnxruntime-node 1 thread fp32'].median_ms;
  const refIsolate = (perModel[reference.name]!.warm as Record<string, unknown>)[
    'workerd in isolate'
  ] as Record<Variant, IsolateResult> & { engine: EngineIsolateResult };
  // What the edge does for the reference model: the engine when the export validated it (its
  // manifest lists it), else onnxruntime-web on the offline-optimised graph.
  const engineServes = reference.manifest.engines.includes(ENGINE_IDS.wasm);
  const ortHeadline = {
    edge_vs_native_ratio: round(refIsolate.optimized.warm.median_ms / native, 2),
    cold_first_response_ms: coldHttpResult.optimized!.median_ms,
    two_versions_wasm_heap_mb: refIsolate.optimized.heap_two_mb,
  };
  const engineHeadline = {
    edge_vs_native_ratio: round(refIsolate.engine.warm.median_ms / native, 2),
    cold_first_response_ms: coldHttpResult.engine?.median_ms ?? Number.NaN,
    two_versions_wasm_heap_mb: refIsolate.engine.heap_two_mb,
  };
  log('int8: the reference model quantized by the training step, on the engine in workerd');
  const int8 = await int8Bench(setup, reference, native, COLD_SAMPLES, log);
  const scale = await trainAtScale(log);
  log('--select auto search time (MobileNetV2, 10 labels × 10 classes, photo-sized and 20-px images)');
  const autoSelect = await autoSelectBench();
  const autoSelectSmall = await autoSelectBench(undefined, undefined, 'small');
  const int8Accuracy = await int8AccuracyBench(models, log);
  const results: BenchSummary & Record<string, unknown> = {
    ...(engineServes ? engineHeadline : ortHeadline),
    edge_engine: engineServes ? ENGINES.wasm : ENGINES.ortWeb,
    headline_by_engine: {
      [ENGINES.wasm]: engineHeadline,
      [`${ENGINES.ortWeb} (optimized graph)`]: ortHeadline,
    },
    goals: { cold_first_response_ms: 300, two_versions_wasm_heap_mb: 100 },
    reference_model: reference.name,
    machine: info,
    method: {
      warmup_runs: WARMUP,
      timed_runs: RUNS,
      cold_samples: COLD_SAMPLES,
      variants: VARIANTS,
      workerd_clock: clock,
      bundle_bytes: setup.prod.engine.bytes,
    },
    worker_builds: Object.fromEntries(
      (['engine', 'full'] as const).map((b) => [
        b,
        {
          bytes: setup.prod[b].bytes,
          gzip_bytes: setup.prod[b].gzipBytes,
          wrangler_reported: setup.prod[b].reported,
          global_scope_startup: startup[b]!,
        },
      ]),
    ),
    worker_cpu_per_classify_request: { free_plan_cpu_ms: FREE_PLAN_CPU_MS, rows: cpu },
    photo_preprocess_vs_native_ratio: photos.photo_preprocess_vs_native_ratio,
    phone_photo_server_ms: photos.phone_photo_server_ms,
    photos_in_workerd: photos,
    prototype_version_create_ms: prototypeCreate.median_ms,
    prototype_version_create: { ...prototypeCreate, goal_ms: 1000 },
    models: perModel,
    cold_start: { breakdown_in_isolate: cold, production_worker_first_response_http: coldHttpResult },
    train_images_per_s_2mp: scale.train_images_per_s_2mp,
    train_peak_rss_mb_400: scale.train_peak_rss_mb_400,
    training_at_scale: scale,
    node_onnxruntime_web_heap_mb_after_all_sessions: nodeHeapMb,
    auto_select_seconds: autoSelect.auto_select_seconds,
    auto_select: autoSelect,
    auto_select_small_images_seconds: autoSelectSmall.auto_select_seconds,
    auto_select_small_images: autoSelectSmall,
    ...int8Accuracy,
    int8_edge_vs_native_fp32_ratio: int8.int8_edge_vs_native_fp32_ratio,
    int8_cold_first_response_ms: int8.int8_cold_first_response_ms,
    int8_two_versions_wasm_heap_mb: int8.int8_two_versions_wasm_heap_mb,
    int8_edge: int8,
    seconds: round((performance.now() - started) / 1000),
  };
  fs.writeFileSync(path.join(projectRoot, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(renderMarkdown(results));
  console.log(`\n${trainScaleMarkdown(scale)}`);
  console.log(`\n${int8Markdown(int8, refIsolate.engine.ops_ms)}`);
  log('wrote bench/results.json');
}

await main();
