/**
 * int8 vs fp32 on the engine in ONE workerd isolate, interleaved, with onnxruntime-node fp32
 * (1 thread) interleaved in the same rounds: on a shared, loaded machine the phases of
 * bench/int8-only.ts run minutes apart under different load, so only same-round ratios compare.
 * The reference model and its int8 variant are made as `npm run bench` makes them (training/quantize
 * on the training images). Prints medians over the rounds, ratios, and per-op tables, in wall
 * time and in CPU time (bench/cpu-time.ts; per op: the profile's shares of the CPU time).
 *
 *   node --import tsx bench/int8-interleaved.ts [--rounds 15]
 */
import os from 'node:os';
import { localBucketStore } from '../local-edge/miniflare.ts';
import { createOrtNodeRunner } from '../training/inference/ort-node-runner.ts';
import { loadDataset } from '../training/datasets/index.ts';
import { quantizeInt8 } from '../training/quantize/variant.ts';
import { setupEdge } from './edge.ts';
import { BENCH_DIR, referenceModel } from './models.ts';
import { inputData } from './node-runtimes.ts';
import { median, round } from './stats.ts';
import { call, startInstance } from './workerd.ts';
import { cpuMs, ownCpuMs, workerdPid } from './cpu-time.ts';

const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('rounds', 15);
const q = (o: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();

const load0 = os.loadavg()[0]!;
const m = await referenceModel(log);
const setup = await setupEdge([m], log);
const train = await loadDataset(`folder:${BENCH_DIR}/photos/train`, { seed: 1 });
const outcome = await quantizeInt8(m.fp32, {
  calibration: train.samples.map((s) => s.image),
  heldOut: { images: m.test.images, labels: Int32Array.from(m.test.labels) },
  preprocess: m.manifest.preprocess,
  log,
});
if (!outcome.bytes) throw new Error(`int8 variant failed its gate: ${outcome.variant.reason}`);
const dims = m.dims.join(',');
const inst = await startInstance(setup.bench, setup.r2Dir);
const native = await createOrtNodeRunner(m.fp32, { device: 'cpu', threads: 1 });
try {
  const store = await localBucketStore(inst.mf);
  await store.put('bench/interleaved/fp32.onnx', m.fp32);
  await store.put('bench/interleaved/int8.onnx', outcome.bytes);
  for (const [id, key] of [
    ['f', 'bench/interleaved/fp32.onnx'],
    ['q', 'bench/interleaved/int8.onnx'],
  ] as const) {
    await call(inst.url, `/load?${q({ key, id, dims, engine: 1 })}`);
    await call(inst.url, `/run?${q({ id, n: 5, dims })}`);
  }
  const x = inputData(m.dims);
  const runNative = () => native.run(native.inputNames[0]!, x, m.dims);
  for (let i = 0; i < 5; i++) await runNative();
  const t = { f: [] as number[], q: [] as number[], n: [] as number[] };
  // CPU time per run: workerd's whole process around a /run of 9 runs, this process around each
  // native run (wall time on a loaded machine counts the other processes' turns)
  const cpu = { f: [] as number[], q: [] as number[], n: [] as number[] };
  const pid = workerdPid();
  for (let r = 0; r < rounds; r++) {
    for (const id of ['f', 'q'] as const) {
      // each sample the mean of 3 runs: workerd's clock ticks in whole milliseconds
      const c0 = cpuMs(pid);
      const res = await call<{ times: number[] }>(inst.url, `/run?${q({ id, n: 3, dims, group: 3 })}`);
      cpu[id].push((cpuMs(pid) - c0) / 9);
      t[id].push(...res.times);
    }
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const c0 = ownCpuMs();
      await runNative();
      cpu.n.push(ownCpuMs() - c0);
      t.n.push(performance.now() - t0);
    }
  }
  const ops: Record<string, Record<string, number>> = {};
  // 60 profiled runs: workerd's clock ticks in whole milliseconds, so an op's share is only right
  // on average over many runs
  for (const id of ['f', 'q'] as const) {
    const p = await call<{ opsMs: Record<string, number> }>(
      inst.url,
      `/run?${q({ id, n: 60, dims, profile: 1 })}`,
    );
    ops[id] = p.opsMs;
  }
  const [f, i8, n] = [median(t.f), median(t.q), median(t.n)];
  const [cf, ci8, cn] = [median(cpu.f), median(cpu.q), median(cpu.n)];
  console.log(
    `${os.cpus()[0]?.model.trim()}, ${os.cpus().length} cores, load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}; ${rounds} rounds × 3 samples of 3 runs each, interleaved`,
  );
  console.log('| runtime | median wall ms | × native | median CPU ms | × native (CPU) |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| engine fp32 (workerd) | ${round(f, 2)} | ${round(f / n, 2)} | ${round(cf, 2)} | ${round(cf / cn, 2)} |`,
  );
  console.log(
    `| engine int8 (workerd) | ${round(i8, 2)} | ${round(i8 / n, 2)} | ${round(ci8, 2)} | ${round(ci8 / cn, 2)} |`,
  );
  console.log(`| onnxruntime-node fp32 1 thread | ${round(n, 2)} | 1 | ${round(cn, 2)} | 1 |`);
  console.log(`\nint8 / fp32 engine: ${round(i8 / f, 2)} wall, ${round(ci8 / cf, 2)} CPU\n`);
  const names = [...new Set([...Object.keys(ops.q!), ...Object.keys(ops.f!)])];
  // per op: the in-isolate profile's (wall) shares, scaled to the median CPU time per run
  const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const scale = { f: cf / total(ops.f!), q: ci8 / total(ops.q!) };
  for (const id of ['f', 'q'] as const) for (const op of Object.keys(ops[id]!)) ops[id]![op]! *= scale[id];
  console.log('| op | int8 graph CPU ms | fp32 graph CPU ms |');
  console.log('|---|---|---|');
  for (const op of names.sort((a, b) => (ops.q![b] ?? ops.f![b] ?? 0) - (ops.q![a] ?? ops.f![a] ?? 0))) {
    console.log(
      `| ${op} | ${ops.q![op] !== undefined ? round(ops.q![op]!, 2) : ''} | ${ops.f![op] !== undefined ? round(ops.f![op]!, 2) : ''} |`,
    );
  }
} finally {
  await native.release();
  await inst.dispose();
}
