/**
 * `npm run bench:int8-cold`: where an int8 version's cold first response goes, and the fp32
 * export's beside it, for the bench's reference model (nsfwjs MobileNetV2 + trained head,
 * quantized by the training job's own step). Per sample, fresh workerd processes:
 *   - the production Worker (engine-only build): start-up until it listens, then the first
 *     classify request (client-side, with the Worker's server-timing), int8 and PRECISION=fp32;
 *   - the bench Worker's /cold (bench/worker/cold.ts): the same start-up phase by phase inside
 *     the isolate (R2 read of the ONNX file and, for int8, its engine artifact; sha256; ONNX
 *     decode; the engine's own phases; codecs; preprocess;
 *     first/second/third run), once in a cold isolate and once after the engine and codec
 *     warm-ups the production Worker runs at global scope (their own costs are the `warmup` and
 *     `codec_warmup` phases); each then
 *     repeated in the same isolate (`warm_isolate_*`: what is left when no code is cold).
 * workerd evaluates the global scope before it listens, so the first response excludes the
 * warm-up; in production it is part of the isolate's start (Workers allow 1 s of it).
 * Prints one JSON object (medians and samples); reports, asserts nothing.
 *
 * Each HTTP sample's instance has its R2 emulator started first (startColdInstance in
 * bench/workerd.ts says why; COLD_R2_PRIMED=0 leaves it cold), and records workerd's CPU time for
 * the first request beside its wall time.
 *
 * INT8_COLD_PHASES=0 skips the in-isolate phases (only the HTTP first responses, so more samples
 * fit the same time).
 * Training + quantizing the reference model takes minutes; INT8_COLD_REUSE=1 reuses the models
 * the previous run left in .edgetune/bench/int8-cold/ (for iterating on the loading path).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../local-edge/bundle.ts';
import { localBucketStore } from '../local-edge/miniflare.ts';
import { ENGINES } from '../shared/inference/engines.ts';
import { type ModelManifest, ModelManifestSchema } from '../shared/manifest/manifest.ts';
import { publishVersion } from '../shared/registry/publish.ts';
import { loadDataset } from '../training/datasets/index.ts';
import { ENGINE_ARTIFACT_FORMAT, engineArtifactFile } from '../shared/engine/index.ts';
import { int8EngineArtifact } from '../training/quantize/engine-artifact.ts';
import { INT8_FILE, quantizeInt8 } from '../training/quantize/variant.ts';
import { cpuMs, workerdPid } from './cpu-time.ts';
import { classify, type HttpRow } from './edge.ts';
import { BENCH_DIR, referenceModel } from './models.ts';
import { median, round } from './stats.ts';
import { bundle, call, startColdInstance, startInstance } from './workerd.ts';

type Variant = NonNullable<ModelManifest['variants']>[number];

const SAMPLES = Number(process.env.COLD_SAMPLES ?? 5);
const DIR = path.join(BENCH_DIR, 'int8-cold');
const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

interface Models {
  fp32: Uint8Array;
  int8: Uint8Array;
  /** The int8 variant's engine artifact (model.int8.engine), listed in the manifest. */
  engine: Uint8Array;
  manifest: ModelManifest;
  requestPng: Uint8Array;
}

/** The models with the int8 variant's engine artifact (compiled now when an older run left none). */
async function withEngineArtifact(m: Omit<Models, 'engine'> & { engine?: Uint8Array }): Promise<Models> {
  const variant = m.manifest.variants?.[0];
  if (m.engine && variant?.engine?.format === ENGINE_ARTIFACT_FORMAT) return { ...m, engine: m.engine };
  const a = await int8EngineArtifact(m.int8, INT8_FILE, log);
  if (!a || !variant) throw new Error('the engine cannot compile the int8 variant');
  fs.writeFileSync(file(a.entry.file), a.bytes);
  const manifest = { ...m.manifest, variants: [{ ...variant, engine: a.entry }] };
  fs.writeFileSync(file('manifest.json'), JSON.stringify(manifest));
  return { ...m, engine: a.bytes, manifest };
}

const file = (f: string) => path.join(DIR, 'models', f);
const ENGINE_FILE = engineArtifactFile(INT8_FILE);

/**
 * INT8_COLD_BASELINE=<git revision>: that revision's production Worker is measured too, in the
 * same samples (interleaved), so a change is compared on one machine under one load.
 */
const BASELINE = process.env.INT8_COLD_BASELINE;
/** INT8_COLD_PHASES=0: only the HTTP first responses (more samples in the same time). */
const PHASES = process.env.INT8_COLD_PHASES !== '0';

const BASELINE_SRC = path.join(DIR, 'baseline-src');

/**
 * The int8 variant's engine artifact as the baseline revision writes it (its own format), so
 * its Worker is measured with the artifact it would be published with; undefined when that
 * revision writes none.
 */
function baselineArtifact(): { bytes: Uint8Array; entry: NonNullable<Variant['engine']> } | undefined {
  const script = path.join(BASELINE_SRC, 'bench-baseline-artifact.ts');
  if (!fs.existsSync(path.join(BASELINE_SRC, 'training', 'quantize', 'engine-artifact.ts'))) return undefined;
  fs.writeFileSync(
    script,
    [
      "import fs from 'node:fs';",
      "import { int8EngineArtifact } from './training/quantize/engine-artifact.ts';",
      'const onnx = new Uint8Array(fs.readFileSync(process.argv[2]));',
      `const a = await int8EngineArtifact(onnx, '${INT8_FILE}', (l) => console.error(l));`,
      'if (a) fs.writeFileSync(process.argv[3], a.bytes);',
      'process.stdout.write(JSON.stringify(a?.entry ?? null));',
    ].join('\n'),
  );
  const out = path.join(DIR, 'baseline.engine');
  const entry = JSON.parse(
    execFileSync(process.execPath, ['--no-warnings', '--import', 'tsx', script, file(INT8_FILE), out], {
      cwd: BASELINE_SRC,
      encoding: 'utf8',
    }),
  ) as NonNullable<Variant['engine']> | null;
  return entry ? { bytes: new Uint8Array(fs.readFileSync(out)), entry } : undefined;
}

async function baselineBundle(rev: string) {
  const src = BASELINE_SRC;
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  const tar = execFileSync('git', ['archive', '--format=tar', rev], { cwd: projectRoot, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', src], { input: tar });
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(src, 'node_modules'));
  log(`baseline: production Worker of ${rev}`);
  return bundle(path.join(src, 'wrangler.toml'), path.join(DIR, 'baseline-build'), 'engine');
}

/** The reference model and its published int8 variant (trained now, or the last run's). */
async function models(): Promise<Models> {
  if (process.env.INT8_COLD_REUSE === '1' && fs.existsSync(file('manifest.json'))) {
    log(`reusing the models in ${path.relative(projectRoot, file(''))}`);
    const manifest = ModelManifestSchema.parse(JSON.parse(fs.readFileSync(file('manifest.json'), 'utf8')));
    const engineFile = manifest.variants?.[0]?.engine?.file;
    return withEngineArtifact({
      fp32: new Uint8Array(fs.readFileSync(file('model.onnx'))),
      int8: new Uint8Array(fs.readFileSync(file(INT8_FILE))),
      ...(engineFile && fs.existsSync(file(engineFile))
        ? { engine: new Uint8Array(fs.readFileSync(file(engineFile))) }
        : {}),
      manifest,
      requestPng: new Uint8Array(fs.readFileSync(file('request.png'))),
    });
  }
  const m = await referenceModel(log);
  const train = await loadDataset(`folder:${path.join(BENCH_DIR, 'photos', 'train')}`, { seed: 1 });
  const outcome = await quantizeInt8(m.fp32, {
    calibration: train.samples.map((s) => s.image),
    heldOut: { images: m.test.images, labels: Int32Array.from(m.test.labels) },
    preprocess: m.manifest.preprocess,
    log,
  });
  if (!outcome.bytes) throw new Error(`the int8 variant failed its gate: ${outcome.variant.reason}`);
  const { optimized: _exported, ...base } = m.manifest;
  const manifest: ModelManifest = { ...base, variants: [outcome.variant] };
  fs.mkdirSync(file(''), { recursive: true });
  fs.writeFileSync(file('model.onnx'), m.fp32);
  fs.writeFileSync(file(INT8_FILE), outcome.bytes);
  fs.writeFileSync(file('manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(file('request.png'), m.requestPng);
  if (outcome.engine) fs.writeFileSync(file(ENGINE_FILE), outcome.engine);
  return withEngineArtifact({
    fp32: m.fp32,
    int8: outcome.bytes,
    ...(outcome.engine ? { engine: outcome.engine } : {}),
    manifest,
    requestPng: m.requestPng,
  });
}

const m = await models();
const r2Dir = path.join(DIR, 'r2');
fs.rmSync(r2Dir, { recursive: true, force: true });
const config = path.join(projectRoot, 'wrangler.toml');
const [prod, bench, baseline] = await Promise.all([
  bundle(config, path.join(DIR, 'prod-build'), 'engine'),
  bundle(path.join(projectRoot, 'bench', 'worker', 'wrangler.toml'), path.join(DIR, 'bench-build')),
  BASELINE ? baselineBundle(BASELINE) : undefined,
]);
const NAME = 'photos-int8';
const BASELINE_NAME = 'photos-int8-baseline';
const KEYS = {
  int8: 'cold/model.int8.onnx',
  engine: `cold/${ENGINE_FILE}`,
  fp32: 'cold/model.onnx',
  image: 'cold/request.png',
  spec: 'cold/spec.json',
};
{
  const inst = await startInstance(bench, r2Dir);
  try {
    const store = await localBucketStore(inst.mf);
    await store.put(KEYS.int8, m.int8);
    await store.put(KEYS.engine, m.engine);
    await store.put(KEYS.fp32, m.fp32);
    await store.put(KEYS.image, m.requestPng);
    await store.put(KEYS.spec, JSON.stringify(m.manifest.preprocess));
    const r = await publishVersion(store, NAME, {
      manifest: { ...m.manifest, name: NAME },
      files: { 'model.onnx': m.fp32, [INT8_FILE]: m.int8, [ENGINE_FILE]: m.engine },
    });
    if (BASELINE) {
      // The baseline's Worker serves its own copy, with the artifact its revision writes.
      const a = baselineArtifact();
      const variant = { ...m.manifest.variants![0]!, engine: a?.entry };
      if (!a) delete variant.engine;
      await publishVersion(store, BASELINE_NAME, {
        manifest: { ...m.manifest, name: BASELINE_NAME, variants: [variant] },
        files: { 'model.onnx': m.fp32, [INT8_FILE]: m.int8, ...(a ? { [a.entry.file]: a.bytes } : {}) },
      });
      log(
        `published ${BASELINE_NAME} for the baseline (engine artifact: ${a ? `format ${a.entry.format}` : 'none'})`,
      );
    }
    log(
      `published ${NAME}@${r.version} with its int8 variant (${m.int8.byteLength} vs ${m.fp32.byteLength} bytes) ` +
        `and its engine artifact (${m.engine.byteLength} bytes)`,
    );
  } finally {
    await inst.dispose();
  }
}

type Precision = 'int8' | 'fp32';
type Samples = Record<string, number>[];
interface Rows {
  http: Samples;
  baseline: Samples;
  phases: Samples;
  phasesWarm: Samples;
}
const rows: Record<Precision, Rows> = {
  int8: { http: [], baseline: [], phases: [], phasesWarm: [] },
  fp32: { http: [], baseline: [], phases: [], phasesWarm: [] },
};

async function httpSample(precision: Precision, worker = prod, name = NAME): Promise<Record<string, number>> {
  const t0 = performance.now();
  const inst = await startColdInstance(worker, r2Dir, precision === 'fp32' ? { PRECISION: 'fp32' } : {});
  const startup = performance.now() - t0;
  try {
    const row: HttpRow = {
      key: precision,
      name,
      build: 'engine',
      bindings: {},
      engine: ENGINES.wasm,
      precision,
    };
    const pid = workerdPid();
    const c0 = cpuMs(pid);
    const t = performance.now();
    const timing = await classify(inst.url, row, m.requestPng);
    const first = performance.now() - t;
    const firstCpu = cpuMs(pid) - c0;
    const t2 = performance.now();
    await classify(inst.url, row, m.requestPng);
    return {
      workerd_ready: startup,
      first_response: first,
      // workerd's CPU time (all its threads) for the first request: what the other processes on
      // a shared machine do not inflate, so changes are still visible under load.
      first_response_workerd_cpu: firstCpu,
      second_response: performance.now() - t2,
      ...prefix('server_', timing),
    };
  } finally {
    await inst.dispose();
  }
}

async function phaseSample(precision: Precision, warmup: boolean): Promise<Record<string, number>> {
  const inst = await startInstance(bench, r2Dir);
  try {
    const q = new URLSearchParams({
      key: KEYS[precision],
      image: KEYS.image,
      spec: KEYS.spec,
      warmup: warmup ? '1' : '0',
      ...(precision === 'int8' ? { engine: KEYS.engine, sha: m.manifest.variants![0]!.sha256 } : {}),
    });
    const t = performance.now();
    type Reply = { phases: Record<string, number>; engine: Record<string, number> };
    const r = await call<Reply>(inst.url, `/cold?${q}`);
    const client = performance.now() - t;
    // The same again in this isolate (a new session; code compiled and optimised by now): what
    // is left of the start-up once nothing is cold but the model's own data.
    const again = await call<Reply>(inst.url, `/cold?${q}`);
    return {
      client,
      ...r.phases,
      ...prefix('engine_', r.engine),
      ...prefix('warm_isolate_', { ...again.phases, ...prefix('engine_', again.engine) }),
    };
  } finally {
    await inst.dispose();
  }
}

/** Medians per column: the production Worker over HTTP, then the bench Worker's phases. */
function summary(r: Rows) {
  return {
    http: medians(r.http),
    ...(r.baseline.length ? { baseline_http: medians(r.baseline) } : {}),
    phases_cold_isolate: medians(r.phases),
    phases_after_warmup: medians(r.phasesWarm),
  };
}

function prefix(p: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v]));
}

function medians(samples: Record<string, number>[]): Record<string, number> {
  const keys = Object.keys(samples[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, round(median(samples.map((s) => s[k] ?? Number.NaN)), 1)]));
}

const loads: number[] = [];
for (let s = 0; s < SAMPLES; s++) {
  loads.push(os.loadavg()[0]!);
  for (const p of ['int8', 'fp32'] as const) {
    // The baseline goes first every other sample, so neither side always meets the other's
    // after-effects (page cache, a neighbour's burst).
    if (baseline && s % 2 === 1) rows[p].baseline.push(await httpSample(p, baseline, BASELINE_NAME));
    rows[p].http.push(await httpSample(p));
    if (baseline && s % 2 === 0) rows[p].baseline.push(await httpSample(p, baseline, BASELINE_NAME));
    if (PHASES) {
      rows[p].phases.push(await phaseSample(p, false));
      rows[p].phasesWarm.push(await phaseSample(p, true));
    }
  }
  log(
    `sample ${s + 1}/${SAMPLES}: int8 ${round(rows.int8.http.at(-1)!.first_response!)} ms, fp32 ${round(rows.fp32.http.at(-1)!.first_response!)} ms`,
  );
}
console.log(
  JSON.stringify(
    {
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      load_average_1m: loads.map((l) => round(l, 2)),
      samples: SAMPLES,
      bytes: { int8: m.int8.byteLength, fp32: m.fp32.byteLength },
      int8_cold_first_response_ms: round(median(rows.int8.http.map((r) => r.first_response!))),
      int8_cold_first_response_workerd_cpu_ms: round(
        median(rows.int8.http.map((r) => r.first_response_workerd_cpu!)),
      ),
      fp32_cold_first_response_ms: round(median(rows.fp32.http.map((r) => r.first_response!))),
      ...(BASELINE
        ? {
            baseline: BASELINE,
            baseline_int8_cold_first_response_ms: round(
              median(rows.int8.baseline.map((r) => r.first_response!)),
            ),
            baseline_fp32_cold_first_response_ms: round(
              median(rows.fp32.baseline.map((r) => r.first_response!)),
            ),
            // per sample new / baseline (same sample, adjacent processes), then the median
            int8_vs_baseline_ratio: round(
              median(
                rows.int8.http.map((r, i) => r.first_response! / rows.int8.baseline[i]!.first_response!),
              ),
              3,
            ),
            int8_cpu_vs_baseline_ratio: round(
              median(
                rows.int8.http.map(
                  (r, i) =>
                    r.first_response_workerd_cpu! / rows.int8.baseline[i]!.first_response_workerd_cpu!,
                ),
              ),
              3,
            ),
            fp32_vs_baseline_ratio: round(
              median(
                rows.fp32.http.map((r, i) => r.first_response! / rows.fp32.baseline[i]!.first_response!),
              ),
              3,
            ),
          }
        : {}),
      int8: summary(rows.int8),
      fp32: summary(rows.fp32),
      first_response_samples_ms: {
        int8: rows.int8.http.map((r) => round(r.first_response!)),
        fp32: rows.fp32.http.map((r) => round(r.first_response!)),
        ...(BASELINE
          ? {
              baseline_int8: rows.int8.baseline.map((r) => round(r.first_response!)),
              baseline_fp32: rows.fp32.baseline.map((r) => round(r.first_response!)),
            }
          : {}),
      },
      seconds: Math.round((performance.now() - started) / 1000),
    },
    null,
    2,
  ),
);
