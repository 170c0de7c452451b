/**
 * Worker CPU time per classify request, per model and input size: the production Worker's own
 * `server-timing` (preprocess = decode + resize + tensor, inference = the engine's run), warm,
 * in one workerd per build. Workers bill CPU per request (Free: 10 ms, Paid: 30 s default), so this
 * says which plan a model's traffic needs. Local workerd's clock advances during CPU work
 * (bench checks it: method.workerd_clock); in production it does not, so this is a local figure
 * on this machine's CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ENGINE_IDS } from '../shared/inference/engines.ts';
import { readImageHeader } from '../shared/preprocess/header.ts';
import { projectRoot } from '../local-edge/bundle.ts';
import { classify, type EdgeSetup, engineRow, type HttpRow, httpRows } from './edge.ts';
import type { BenchModel } from './models.ts';
import { median, percentile, round } from './stats.ts';
import { startInstance } from './workerd.ts';

const WARMUP = 3;
const RUNS = 15;
/** Workers Free plan: CPU time per request. */
export const FREE_PLAN_CPU_MS = 10;

export interface CpuRow {
  model: string;
  input: string;
  width: number;
  height: number;
  bytes: number;
  build: string;
  engine: string;
  preprocess_ms: number;
  inference_ms: number;
  /** Median of preprocess + inference per request (workerd's clock ticks in whole ms). */
  cpu_ms: number;
  /** Mean of the same: averaging over requests recovers sub-ms resolution. */
  cpu_mean_ms: number;
  cpu_p90_ms: number;
  fits_free_plan: boolean;
}

interface Input {
  label: string;
  bytes: Uint8Array;
  contentType: string;
}

/** The model's own request image plus the repo's photos (data/photos, licences there), as files. */
function inputs(m: BenchModel): Input[] {
  const dir = path.join(projectRoot, 'data', 'photos');
  const photos = ['chelsea.png', 'coffee.png', 'hubble_deep_field.jpg'].map((f) => ({
    label: f,
    bytes: new Uint8Array(fs.readFileSync(path.join(dir, f))),
    contentType: f.endsWith('.jpg') ? 'image/jpeg' : 'image/png',
  }));
  return [{ label: `${m.name} test image`, bytes: m.requestPng, contentType: 'image/png' }, ...photos];
}

/** How the default build serves the model: the engine when the export validated it, else ORT (full). */
export function servingRow(m: BenchModel): HttpRow {
  if (m.manifest.engines.includes(ENGINE_IDS.wasm)) return engineRow(m, 'engine');
  const ort = httpRows(m).find((r) => r.key === 'optimized')!;
  return { ...ort, bindings: {} };
}

export async function cpuPerRequest(
  setup: EdgeSetup,
  models: BenchModel[],
  log: (m: string) => void,
): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  for (const m of models) {
    const row = servingRow(m);
    log(
      `${m.name}: Worker CPU per classify request (${row.build} build, ${row.engine}), ${RUNS} warm requests per input`,
    );
    const inst = await startInstance(setup.prod[row.build], setup.r2Dir, row.bindings);
    try {
      for (const input of inputs(m)) {
        const header = readImageHeader(input.bytes);
        for (let i = 0; i < WARMUP; i++) await classify(inst.url, row, input.bytes, input.contentType);
        const pre: number[] = [];
        const inf: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t = await classify(inst.url, row, input.bytes, input.contentType);
          pre.push(t.preprocess ?? Number.NaN);
          inf.push(t.inference ?? Number.NaN);
          cpu.push((t.preprocess ?? Number.NaN) + (t.inference ?? Number.NaN));
        }
        const cpuMs = round(median(cpu));
        const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
        rows.push({
          model: m.name,
          input: input.label,
          width: header.width,
          height: header.height,
          bytes: input.bytes.byteLength,
          build: row.build,
          engine: row.engine,
          preprocess_ms: round(median(pre)),
          inference_ms: round(median(inf)),
          cpu_ms: cpuMs,
          cpu_mean_ms: round(mean, 2),
          cpu_p90_ms: round(percentile(cpu, 90)),
          fits_free_plan: mean <= FREE_PLAN_CPU_MS,
        });
      }
    } finally {
      await inst.dispose();
    }
  }
  return rows;
}
