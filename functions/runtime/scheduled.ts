/**
 * The Worker's cron (`[triggers] crons` in wrangler.toml): one retraining scheduler tick over the
 * R2 binding — for each model with a retrain policy, create one pending job when due. Mount with
 * `export default { fetch, scheduled } satisfies ExportedHandler<Env>`.
 */
import { type ScheduledModel, scheduleRetraining } from '../../shared/jobs/schedule.ts';
import type { Env } from './env.ts';
import { R2Store } from '../../shared/store/r2.ts';

export async function runScheduled(env: Env, now: Date = new Date()): Promise<ScheduledModel[]> {
  const results = await scheduleRetraining(new R2Store(env.MODELS), { now });
  for (const r of results) {
    // Workers logs (wrangler tail) are the only place a cron's outcome shows up.
    if (r.error) console.error(`retrain schedule ${r.model}: ${r.error}`);
    else if (r.job)
      console.log(
        `retrain schedule ${r.model}: job ${r.job.id} ${r.job.created ? 'created' : 'already open'} (${r.check?.reason})`,
      );
  }
  return results;
}

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env, ctx) => {
  ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
};
