/**
 * `node --import tsx bench/engine-create.ts`: the CPU time of opening the int8 reference model's
 * engine session from its artifact (graph + packed weights, the cold path the edge takes) right
 * after the engine warm-up, once per fresh Node process — the engine's share of a cold start,
 * without R2, HTTP or the machine's other processes in the figure (CPU time, not wall time;
 * --single-threaded, so V8's compiler and GC threads count once, on the measured thread).
 *
 * Reads the models `npm run bench:int8-cold` left in .edgetune/bench/int8-cold/models.
 * ENGINE_CREATE_BASELINE=<another checkout's root> alternates that checkout's engine with this
 * one's, sample by sample (same load). ENGINE_CREATE_SAMPLES=N (default 10). Prints medians.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.ts';

const self = fileURLToPath(import.meta.url);
const projectRoot = path.resolve(path.dirname(self), '..');
const MODELS = path.join(projectRoot, '.edgetune', 'bench', 'int8-cold', 'models');

/** One sample, in this process: the engine of checkout `root`, warm-up, then the session. */
async function sample(root: string): Promise<void> {
  // (typed as this checkout's modules: a baseline checkout has the same entry points)
  const { loadKernelModules } = (await import(
    path.join(root, 'kernels', 'node-kernels.ts')
  )) as typeof import('../kernels/node-kernels.ts');
  const engine = (await import(
    path.join(root, 'shared', 'engine', 'index.ts')
  )) as typeof import('../shared/engine/index.ts');
  const { warmUpEngine } = (await import(
    path.join(root, 'shared', 'engine', 'warmup.ts')
  )) as typeof import('../shared/engine/warmup.ts');
  const { decodeModel } = (await import(
    path.join(root, 'shared', 'onnx', 'proto.ts')
  )) as typeof import('../shared/onnx/proto.ts');
  const onnx = fs.readFileSync(path.join(MODELS, 'model.int8.onnx'));
  const artifact = new Uint8Array(fs.readFileSync(path.join(MODELS, 'model.int8.engine')));
  const kernels = loadKernelModules({ relaxed: false });
  warmUpEngine(kernels);
  const decoded = engine.decodeEngineArtifact(artifact, createHash('sha256').update(onnx).digest('hex'));
  if (!decoded.ok) throw new Error(`no usable artifact: ${decoded.reason}`);
  if (!decoded.artifact.graph) throw new Error('the artifact carries no graph');
  const model = decodeModel(decoded.artifact.graph);
  const phases = new Map<string, number>();
  const c0 = process.cpuUsage();
  const session = await engine.createEngineSession(model, kernels, {
    phases,
    weights: decoded.artifact.snapshot,
    weightless: true,
  });
  const c = process.cpuUsage(c0);
  session.release();
  process.stdout.write(JSON.stringify({ cpu: (c.user + c.system) / 1000, plan: phases.get('plan') }));
}

if (process.argv[2] === '--sample') {
  await sample(process.argv[3]!);
} else {
  const samples = Number(process.env.ENGINE_CREATE_SAMPLES ?? 10);
  const baseline = process.env.ENGINE_CREATE_BASELINE;
  const trees: Record<string, string> = { this: projectRoot, ...(baseline ? { baseline } : {}) };
  const rows: Record<string, { cpu: number; plan: number }[]> = { this: [], baseline: [] };
  const load: number[] = [];
  for (let i = 0; i < samples; i++) {
    const order = i % 2 ? Object.keys(trees).reverse() : Object.keys(trees);
    for (const name of order) {
      const out = execFileSync(
        process.execPath,
        ['--single-threaded', '--no-warnings', '--import', 'tsx', self, '--sample', trees[name]!],
        { cwd: projectRoot, encoding: 'utf8' },
      );
      rows[name]!.push(JSON.parse(out));
    }
    load.push(os.loadavg()[0]!);
  }
  const summary = (r: { cpu: number; plan: number }[]) => ({
    create_cpu_ms: round(median(r.map((x) => x.cpu))),
    plan_wall_ms: round(median(r.map((x) => x.plan))),
    create_cpu_samples_ms: r.map((x) => round(x.cpu)),
  });
  console.log(
    JSON.stringify(
      {
        samples,
        load_average_1m: load.map((l) => round(l)),
        this: summary(rows.this!),
        ...(baseline ? { baseline: summary(rows.baseline!), baseline_root: baseline } : {}),
      },
      null,
      2,
    ),
  );
}
