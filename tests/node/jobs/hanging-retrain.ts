/**
 * A retrain step for the kill test, loaded by a real `edgetune worker --retrain <this file>`
 * child process: it logs, tells the test it is mid-job (a marker file), then never returns, so
 * the test can SIGKILL the worker while it holds the job.
 */
import { writeFile } from 'node:fs/promises';
import type { RetrainFunction } from '../../../training/jobs/types.ts';

export const retrain: RetrainFunction = async (job, ctx) => {
  ctx.log(`hanging retrain started for ${job.id}`);
  const marker = process.env.EDGETUNE_TEST_MARKER;
  if (marker) await writeFile(marker, `${process.pid}\n`);
  return new Promise(() => {
    // Keep the event loop alive (heartbeats keep running) until the test kills us.
    setInterval(() => {}, 1000);
  });
};
