import type { Command } from 'commander';
import { DEVICE_REQUESTS, type DeviceRequest, resolveDevice } from '../../device.ts';
import { loadRetrain } from '../../jobs/retrain-module.ts';
import { defaultWorkerId, runWorkerLoop, runWorkerOnce, type WorkerRunResult } from '../../jobs/runner.ts';
import { log, printResult } from '../output.ts';
import { numberFlag, type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';
import { EdgetuneError } from '../../../shared/errors.ts';

interface WorkerCommandOptions extends StoreCommandOptions {
  once?: boolean;
  device: string;
  leaseSeconds: string;
  interval: string;
  retrain?: string;
  workerId?: string;
  autoPromote: boolean;
}

function describe(r: WorkerRunResult): string {
  const canaries = (r.canaries ?? []).map((c) => `canary ${c.model} ${c.canary.version}: ${c.reason}`);
  return [...canaries, describeJob(r)].join('\n');
}

function describeJob(r: WorkerRunResult): string {
  if (r.status === 'idle') return 'no pending job';
  const head = `job ${r.job?.id} (${r.job?.model}): ${r.status}`;
  if (r.status === 'done')
    return `${head}; candidate ${r.job?.outcome?.candidateVersion}: ${r.decision?.reason}`;
  return `${head}: ${r.error ?? ''}`;
}

function summary(r: WorkerRunResult): Record<string, unknown> {
  return {
    status: r.status,
    job: r.job ? { id: r.job.id, model: r.job.model, state: r.job.state, attempts: r.job.attempts } : null,
    candidate: r.job?.outcome?.candidateVersion ?? null,
    candidateMetrics: r.job?.outcome?.candidateMetrics ?? null,
    screening: r.job?.screening ?? null,
    stableMetrics: r.job?.outcome?.stableMetrics ?? null,
    decision: r.decision,
    error: r.error ?? null,
    canaries: r.canaries ?? [],
  };
}

/** `edgetune worker`: claim and run retraining jobs from the store's job ledger. */
export function register(program: Command): void {
  withStoreOptions(
    program
      .command('worker')
      .description('run retraining jobs: claim a pending job, retrain, gate, canary')
      .option('--once', 'run at most one job, then exit (for a CronJob)')
      .option('--device <device>', 'auto | cpu | cuda (auto: CUDA when onnxruntime-node has it)', 'auto')
      .option('--lease-seconds <n>', 'seconds a claim lasts without a heartbeat', '300')
      .option('--interval <seconds>', 'wait between polls when idle (without --once)', '60')
      .option('--retrain <module>', 'ES module exporting the retrain step (default: the training pipeline)')
      .option('--worker-id <id>', 'name in job claims and logs (default host:pid)')
      .option('--no-auto-promote', 'skip the canary review (policy autoPromote) before each job'),
  ).action(async (options: WorkerCommandOptions) => {
    if (!(DEVICE_REQUESTS as readonly string[]).includes(options.device)) {
      throw new EdgetuneError(
        'bad_request',
        `--device must be auto, cpu or cuda, got ${JSON.stringify(options.device)}`,
      );
    }
    const leaseSeconds = numberFlag('--lease-seconds', options.leaseSeconds, 1, 86_400);
    const intervalSeconds = numberFlag('--interval', options.interval, 0, 86_400);
    const device = resolveDevice(options.device as DeviceRequest, { log });
    const retrain = await loadRetrain(options.retrain);
    const base = {
      store: storeFrom(options),
      retrain,
      device,
      leaseSeconds,
      worker: options.workerId ?? defaultWorkerId(),
      log,
      reviewCanaries: options.autoPromote,
    };
    if (options.once) {
      const result = await runWorkerOnce(base);
      printResult(options, { device: device.device, ...summary(result) }, () => describe(result));
      if (result.status === 'failed' || result.status === 'lost') process.exitCode = 1;
      return;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await runWorkerLoop({
      ...base,
      intervalSeconds,
      signal: stop.signal,
      onResult: (r) => {
        const acted = (r.canaries ?? []).some((c) => c.action === 'promoted' || c.action === 'rolled-back');
        if (r.status === 'idle' && !acted && !options.json) return;
        // One JSON object per line in --json mode (a stream, not one document).
        if (options.json) process.stdout.write(`${JSON.stringify(summary(r))}\n`);
        else process.stdout.write(`${describe(r)}\n`);
      },
    });
  });
}
