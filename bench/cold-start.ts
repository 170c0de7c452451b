/**
 * `npm run bench:cold`: the cold-start part of `npm run bench` on its own, for the reference model
 * (nsfwjs MobileNetV2 + trained head, served on the engine by the default engine-only Worker):
 * the production Worker's first response in fresh workerd processes (client-side, with the
 * Worker's own server-timing split into load / preprocess / inference) and the in-isolate
 * breakdown of the engine's session creation. The same functions as the full bench (bench/edge.ts),
 * so the figures are comparable; prints one JSON object on stdout. Reports; asserts nothing.
 */
import os from 'node:os';
import { COLD_CONFIGS, coldBreakdown, coldHttp, engineRow, setupEdge } from './edge.ts';
import { referenceModel } from './models.ts';

const SAMPLES = Number(process.env.COLD_SAMPLES ?? 5);
const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

const reference = await referenceModel(log);
const setup = await setupEdge([reference], log);
const engineConfig = COLD_CONFIGS.find((c) => c.engine);
if (!engineConfig) throw new Error('bench/edge.ts lists no engine cold-start configuration');
log(`cold start breakdown inside the isolate: ${engineConfig.label} (${SAMPLES} fresh workerd)`);
const breakdown = await coldBreakdown(setup, reference, engineConfig, SAMPLES);
const row = engineRow(reference, 'engine');
log(`cold first response of the production Worker, engine-only build (${SAMPLES} fresh workerd)`);
const http = await coldHttp(setup, reference, row, SAMPLES);
console.log(
  JSON.stringify(
    {
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      load_average_1m: Number(os.loadavg()[0]!.toFixed(2)),
      samples: SAMPLES,
      cold_first_response_ms: http.median_ms,
      cold_first_response_samples_ms: http.samples_ms,
      server_timing_ms: http.server_timing_ms,
      engine_breakdown_in_isolate: breakdown,
      seconds: Math.round((performance.now() - started) / 1000),
    },
    null,
    2,
  ),
);
