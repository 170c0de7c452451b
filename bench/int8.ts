/**
 * int8 at the edge for the reference model, in the same `npm run bench` run as its fp32 figures:
 * the export quantized by the training job's own step (training/quantize: calibration on the
 * training images, QDQ, accuracy gate on the held-out images), then
 *   - warm runs of the int8 graph on the engine inside a workerd isolate, per-op timings, and the
 *     wasm heap with one and two int8 versions resident (bench/edge.ts inIsolateEngine);
 *   - the production Worker's cold first response for a version whose manifest lists the
 *     published int8 variant (checked: `x-engine` edgetune-wasm, `x-model-precision` int8).
 * The ratio divides by onnxruntime-node fp32 (1 intra-op thread) measured earlier in the run.
 */
import path from 'node:path';
import type { ModelManifest } from '../shared/manifest/manifest.ts';
import { ENGINES } from '../shared/inference/engines.ts';
import { decodeModel, encodeModel } from '../shared/onnx/proto.ts';
import { publishVersion } from '../shared/registry/publish.ts';
import { loadDataset } from '../training/datasets/index.ts';
import { calibrate } from '../training/quantize/calibrate.ts';
import { quantizableOps, toQdq } from '../training/quantize/qdq.ts';
import { INT8_FILE, quantizeInt8 } from '../training/quantize/variant.ts';
import { localBucketStore } from '../local-edge/miniflare.ts';
import { coldHttp, type EdgeSetup, type EngineIsolateResult, type HttpRow, inIsolateEngine } from './edge.ts';
import { BENCH_DIR, type BenchModel } from './models.ts';
import { round } from './stats.ts';
import { startInstance } from './workerd.ts';

export interface Int8BenchResult {
  int8_edge_vs_native_fp32_ratio: number;
  int8_cold_first_response_ms: number;
  int8_two_versions_wasm_heap_mb: number;
  /** The variant as the training job describes it (gate, scheme), whether or not it was published. */
  variant: ModelManifest['variants'];
  bytes: { fp32: number; int8: number };
  native_fp32_ms: number;
  in_isolate: EngineIsolateResult;
  /** Null when the variant failed its gate (the edge then serves fp32, so there is no int8 cold start). */
  cold: Awaited<ReturnType<typeof coldHttp>> | null;
}

/** The reference model's training images (bench/models.ts writes them there). */
const TRAIN_DIR = path.join(BENCH_DIR, 'photos', 'train');

export async function int8Bench(
  setup: EdgeSetup,
  m: BenchModel,
  nativeMs: number,
  coldSamples: number,
  log: (m: string) => void,
): Promise<Int8BenchResult> {
  const train = await loadDataset(`folder:${TRAIN_DIR}`, { seed: 1 });
  const outcome = await quantizeInt8(m.fp32, {
    calibration: train.samples.map((s) => s.image),
    heldOut: { images: m.test.images, labels: Int32Array.from(m.test.labels) },
    preprocess: m.manifest.preprocess,
    log,
  });
  let bytes = outcome.bytes;
  if (!bytes) {
    // Failed its gate: the edge will not serve it, but the kernels' speed is still worth a number.
    log(`${m.name}: int8 variant failed its gate (${outcome.variant.reason}); timing a min/max QDQ graph`);
    const model = decodeModel(m.fp32);
    const acts = [...new Set(quantizableOps(model).map((o) => o.activation))];
    const cal = await calibrate(
      m.fp32,
      acts,
      train.samples.map((s) => s.image),
      m.manifest.preprocess,
      7,
    );
    bytes = encodeModel(toQdq(model, { ranges: cal.ranges.minmax, activationBits: 7, keepFp32: new Set() }));
  }
  const rawKey = `bench/${m.name}/${INT8_FILE}`;
  const name = `${m.name}-int8`;
  const inst = await startInstance(setup.bench, setup.r2Dir);
  try {
    const store = await localBucketStore(inst.mf);
    await store.put(rawKey, bytes);
    if (outcome.bytes) {
      const { optimized: _exported, ...base } = m.manifest;
      const manifest: ModelManifest = { ...base, name, variants: [outcome.variant] };
      const files: Record<string, Uint8Array> = {
        'model.onnx': Uint8Array.from(m.fp32),
        [INT8_FILE]: outcome.bytes,
      };
      // its engine artifact too, as `quantize` writes it: what the edge's cold start reads
      if (outcome.engine && outcome.variant.engine) files[outcome.variant.engine.file] = outcome.engine;
      const r = await publishVersion(store, name, { manifest, files });
      log(`published ${name}@${r.version} (with its int8 variant) to local R2`);
    }
  } finally {
    await inst.dispose();
  }
  log(`${m.name} int8: warm runs on the engine inside the isolate, per-op timings, heap with two versions`);
  const inIsolate = await inIsolateEngine(setup, m, rawKey);
  let cold: Int8BenchResult['cold'] = null;
  if (outcome.bytes) {
    const row: HttpRow = {
      key: 'int8',
      name,
      build: 'engine',
      bindings: {},
      engine: ENGINES.wasm,
      precision: 'int8',
    };
    log(
      `cold first response of the production Worker, int8 variant on the engine (${coldSamples} fresh workerd)`,
    );
    cold = await coldHttp(setup, m, row, coldSamples);
  }
  return {
    int8_edge_vs_native_fp32_ratio: round(inIsolate.warm.median_ms / nativeMs, 2),
    int8_cold_first_response_ms: cold?.median_ms ?? Number.NaN,
    int8_two_versions_wasm_heap_mb: inIsolate.heap_two_mb,
    variant: [outcome.variant],
    bytes: { fp32: m.fp32.byteLength, int8: bytes.byteLength },
    native_fp32_ms: nativeMs,
    in_isolate: inIsolate,
    cold,
  };
}

/** The int8 figures and the engine's per-op table, as markdown. */
export function int8Markdown(r: Int8BenchResult, fp32Ops?: Record<string, number>): string {
  const lines = [
    '### int8 on the engine (reference model, workerd) vs onnxruntime-node fp32 (1 thread)',
    '',
    '| key | value |',
    '|---|---|',
    `| int8_edge_vs_native_fp32_ratio | ${r.int8_edge_vs_native_fp32_ratio} (${r.in_isolate.warm.median_ms} ms vs ${r.native_fp32_ms} ms) |`,
    `| int8_cold_first_response_ms | ${r.int8_cold_first_response_ms} |`,
    `| int8_two_versions_wasm_heap_mb | ${r.int8_two_versions_wasm_heap_mb} |`,
    `| model bytes fp32 / int8 | ${r.bytes.fp32} / ${r.bytes.int8} |`,
    `| kernel variant | ${r.in_isolate.variant} |`,
    `| gate | ${r.variant?.[0]?.published ? 'passed' : `failed: ${r.variant?.[0]?.reason ?? ''}`} |`,
    '',
    `| op (int8 graph) | ms per run${fp32Ops ? ' | fp32 graph op | ms per run' : ''} |`,
    `|---|---|${fp32Ops ? '---|---|' : ''}`,
  ];
  const int8Ops = Object.entries(r.in_isolate.ops_ms);
  const fp = Object.entries(fp32Ops ?? {});
  for (let i = 0; i < Math.max(int8Ops.length, fp.length); i++) {
    const a = int8Ops[i] ?? ['', ''];
    const b = fp[i];
    lines.push(`| ${a[0]} | ${a[1]} |${fp32Ops ? ` ${b?.[0] ?? ''} | ${b?.[1] ?? ''} |` : ''}`);
  }
  return lines.join('\n');
}
