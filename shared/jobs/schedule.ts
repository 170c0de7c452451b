import { errorMessage } from '../errors.ts';
import type { ObjectStore } from '../store/types.ts';
import { checkRetrainDue, type DueCheck, triggerOf } from './due.ts';
import { createJob } from './ledger.ts';
import { listPolicies } from './policy.ts';

export interface ScheduledModel {
  model: string;
  check: DueCheck | null;
  /** The job created (created: true) or already open (created: false), when due. */
  job: { id: string; created: boolean } | null;
  error?: string;
}

/**
 * One scheduler tick (the Worker's cron and `edgetune jobs schedule`): for every model with a
 * retrain policy, create a pending job when a retrain is due. Idempotent: a model with an open
 * job keeps that one. One failing model is reported and does not stop the others.
 */
export async function scheduleRetraining(
  store: ObjectStore,
  options: { now?: Date } = {},
): Promise<ScheduledModel[]> {
  const now = options.now ?? new Date();
  const out: ScheduledModel[] = [];
  for (const { name, policy, problem } of await listPolicies(store)) {
    if (!policy) {
      out.push({ model: name, check: null, job: null, error: problem });
      continue;
    }
    try {
      const check = await checkRetrainDue(store, name, policy, now);
      if (!check.due) {
        out.push({ model: name, check, job: null });
        continue;
      }
      const { job, created } = await createJob(
        store,
        { model: name, reason: check.reason, trigger: triggerOf(check) },
        { now: () => now },
      );
      out.push({ model: name, check, job: { id: job.id, created } });
    } catch (e) {
      out.push({ model: name, check: null, job: null, error: errorMessage(e) });
    }
  }
  return out;
}
