/** Body of a split-pool worker thread: the tfjs backend the search uses, then one split per request. */
import { initTf, type BackendRequest } from '../tf/backend.ts';
import { serveTasks } from '../workers/serve-tasks.ts';
import { runSplitJob, type SplitJob, type SplitResult } from './split-jobs.ts';

export interface SplitWorkerInit {
  backend: BackendRequest;
}

let ready: Promise<unknown> | undefined;
serveTasks<SplitWorkerInit, SplitJob, SplitResult>(async (job, init) => {
  ready ??= initTf({ backend: init.backend });
  await ready;
  const res = await runSplitJob(job);
  return { res, transfer: 'probs' in res ? [res.probs.buffer as ArrayBuffer] : [] };
});
