/**
 * The worker side of a TaskPool: answers each request with `handle`, one after another (a worker
 * given several requests at once works through them in order, so each answer's time is its own).
 */
import { parentPort, type Transferable, workerData } from 'node:worker_threads';
import { EdgetuneError, errorMessage, type ErrorCode } from '../../shared/errors.ts';
import type { TaskReply, TaskRequest, TaskWorkerData } from './task-protocol.ts';

export interface Answer<Res> {
  res: Res;
  /** Buffers of `res` to move rather than copy. */
  transfer?: Transferable[];
}

export function serveTasks<Init, Req, Res>(
  handle: (req: Req, init: Init) => Promise<Answer<Res>>,
  /** The error code of a failure that is not an EdgetuneError. */
  fallbackCode: ErrorCode = 'internal',
): void {
  if (!parentPort) throw new Error('serveTasks runs only in a worker thread');
  const port = parentPort;
  const init = (workerData as TaskWorkerData).init as Init;
  let queue = Promise.resolve();
  port.on('message', (msg: TaskRequest) => {
    queue = queue.then(async () => {
      try {
        const { res, transfer } = await handle(msg.req as Req, init);
        const reply: TaskReply<Res> = { seq: msg.seq, res };
        port.postMessage(reply, transfer ?? []);
      } catch (e) {
        const code = e instanceof EdgetuneError ? e.code : fallbackCode;
        const reply: TaskReply<Res> = { seq: msg.seq, error: { code, message: errorMessage(e) } };
        port.postMessage(reply);
      }
    });
  });
}
