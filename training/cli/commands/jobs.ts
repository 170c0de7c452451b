import type { Command } from 'commander';
import { EdgetuneError } from '../../../shared/errors.ts';
import { type CanaryReview, reviewCanaries } from '../../../shared/jobs/canary-review.ts';
import { listJobs, locateJob } from '../../../shared/jobs/ledger.ts';
import { scheduleRetraining } from '../../../shared/jobs/schedule.ts';
import type { Job } from '../../../shared/jobs/schema.ts';
import { assertName } from '../../../shared/names.ts';
import type { JobState } from '../../../shared/store/keys.ts';
import { log, printResult } from '../output.ts';
import { type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

const STATES: readonly JobState[] = ['pending', 'running', 'done', 'failed'];

interface ListOptions extends StoreCommandOptions {
  state?: string;
  model?: string;
}

/** One row per job: what `jobs list --json` prints (the full document is `jobs show`). */
function summary(job: Job, state: JobState): Record<string, unknown> {
  return {
    id: job.id,
    model: job.model,
    state,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    attempts: job.attempts,
    worker: job.claim?.worker ?? null,
    leaseUntil: state === 'running' ? (job.claim?.leaseUntil ?? null) : null,
    reason: job.reason,
    candidate: job.outcome?.candidateVersion ?? null,
    routed: job.decision?.routed ?? null,
    decision: job.decision?.reason ?? null,
    error: job.error,
  };
}

function row(s: Record<string, unknown>): string {
  const what = s.error ?? s.decision ?? s.reason;
  return `${s.id}  ${String(s.model).padEnd(16)} ${String(s.state).padEnd(8)} ${s.candidate ? `${s.candidate} ` : ''}${what ?? ''}`;
}

function describeJob(job: Job, state: JobState): string {
  const lines = [
    `job ${job.id} (${job.model}): ${state}, ${job.attempts} attempt(s)`,
    `  created:  ${job.createdAt} — ${job.reason}`,
  ];
  if (job.claim) lines.push(`  claim:    ${job.claim.worker}, lease until ${job.claim.leaseUntil}`);
  if (job.finishedAt) lines.push(`  finished: ${job.finishedAt}`);
  if (job.outcome) {
    const o = job.outcome;
    lines.push(`  candidate ${o.candidateVersion}: ${JSON.stringify(o.candidateMetrics)}`);
    lines.push(`  stable ${o.stableVersion ?? '?'}: ${JSON.stringify(o.stableMetrics)}`);
    for (const [v, m] of Object.entries(o.canaryMetrics)) lines.push(`  canary ${v}: ${JSON.stringify(m)}`);
  }
  if (job.screening)
    lines.push(`  feedback check: ${job.screening.passed ? 'passed' : 'FAILED'} — ${job.screening.reason}`);
  if (job.decision) {
    for (const c of job.decision.comparisons)
      lines.push(`  compared: ${c.passed ? 'beats' : 'does not beat'} ${c.reason}`);
    lines.push(`  decision: ${job.decision.reason}`);
  }
  if (job.error) lines.push(`  error:    ${job.error}`);
  lines.push('  log:');
  for (const l of job.log) lines.push(`    ${l.at}  ${l.message}`);
  return lines.join('\n');
}

function describeReview(r: CanaryReview): string {
  return `${r.model} ${r.canary.version}: ${r.action} — ${r.reason}`;
}

/** `edgetune jobs list|show|schedule|review`: the retraining job ledger in the store. */
export function register(program: Command): void {
  const jobs = program.command('jobs').description('retraining jobs in the store (jobs/{state}/{id}.json)');

  withStoreOptions(
    jobs
      .command('list')
      .description('list jobs, newest first')
      .option('--state <state>', `only one state: ${STATES.join(', ')}`)
      .option('--model <name>', 'only jobs of this model'),
  ).action(async (options: ListOptions) => {
    if (options.state !== undefined && !(STATES as readonly string[]).includes(options.state)) {
      throw new EdgetuneError(
        'bad_request',
        `--state must be one of ${STATES.join(', ')}, got ${options.state}`,
      );
    }
    if (options.model !== undefined) assertName('model', options.model);
    const store = storeFrom(options);
    const states = options.state ? [options.state as JobState] : STATES;
    // A job interrupted between two states has a copy in both: keep the furthest state.
    const byId = new Map<string, Record<string, unknown>>();
    for (const state of states) {
      for (const job of await listJobs(store, state)) {
        if (options.model && job.model !== options.model) continue;
        byId.set(job.id, summary(job, state));
      }
    }
    const list = [...byId.values()].sort((a, b) => (String(a.id) < String(b.id) ? 1 : -1));
    printResult(options, { jobs: list }, () =>
      list.length === 0 ? 'no jobs' : list.map((s) => row(s)).join('\n'),
    );
  });

  withStoreOptions(
    jobs.command('show <id>').description('one job: claim, outcome, gate decision, log'),
  ).action(async (id: string, options: StoreCommandOptions) => {
    const located = await locateJob(storeFrom(options), assertName('job', id));
    if (!located) throw new EdgetuneError('not_found', `no job ${id} in ${options.store}`);
    printResult(options, { state: located.state, job: located.job }, () =>
      describeJob(located.job, located.state),
    );
  });

  withStoreOptions(
    jobs
      .command('schedule')
      .description(
        "one scheduler tick (what the Worker's cron does): create a job for each model that is due",
      ),
  ).action(async (options: StoreCommandOptions) => {
    const results = await scheduleRetraining(storeFrom(options));
    printResult(options, { models: results }, () =>
      results.length === 0
        ? 'no model has a retrain policy'
        : results
            .map(
              (r) =>
                `${r.model}: ${r.error ? `error: ${r.error}` : r.job ? `job ${r.job.id} ${r.job.created ? 'created' : 'already open'}` : 'not due'}${r.check ? ` (${r.check.reason})` : ''}`,
            )
            .join('\n'),
    );
  });

  withStoreOptions(
    jobs
      .command('review')
      .description(
        'auto-promotion pass: promote or roll back canaries on live feedback accuracy (policy autoPromote)',
      )
      .option('--model <name>', 'only this model'),
  ).action(async (options: ListOptions) => {
    const reviews = await reviewCanaries(storeFrom(options), {
      model: options.model === undefined ? undefined : assertName('model', options.model),
      log,
    });
    printResult(options, { canaries: reviews }, () =>
      reviews.length === 0 ? 'no canary to review' : reviews.map(describeReview).join('\n'),
    );
  });
}
